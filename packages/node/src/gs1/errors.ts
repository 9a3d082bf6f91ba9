/**
 * Errors of GS1 identifier parsing. Each condition has its own code so that the family can
 * reject a transaction and the REST API can answer a query with the precise reason (a bad
 * check digit is not the same mistake as a GTIN of the wrong length).
 */
import { type ErrorContext, GovchainError } from "../common/errors.js";

/** The codes a `Gs1Error` carries. */
export const Gs1ErrorCode = {
  /** Not 8, 12, 13 or 14 digits. */
  INVALID_GTIN: "INVALID_GTIN",
  /** Right length, wrong check digit (GTIN, GLN or the GTIN of a Digital Link). */
  INVALID_CHECK_DIGIT: "INVALID_CHECK_DIGIT",
  /** Not 13 digits. */
  INVALID_GLN: "INVALID_GLN",
  /** Not a GS1 company prefix of 4 to 12 digits. */
  INVALID_COMPANY_PREFIX: "INVALID_COMPANY_PREFIX",
  /** Not a batch/lot number of AI (10): 1-20 characters of GS1 character set 82. */
  INVALID_LOT: "INVALID_LOT",
  /** Not a GS1 Digital Link URI this node resolves. */
  INVALID_DIGITAL_LINK: "INVALID_DIGITAL_LINK",
} as const;

/** A `Gs1ErrorCode` value. */
export type Gs1ErrorCodeName = (typeof Gs1ErrorCode)[keyof typeof Gs1ErrorCode];

/** A malformed GS1 identifier; `code` says which rule it broke. */
export class Gs1Error extends GovchainError {
  declare readonly code: Gs1ErrorCodeName;

  constructor(code: Gs1ErrorCodeName, message: string, context: ErrorContext = {}) {
    super(code, message, context);
  }
}
