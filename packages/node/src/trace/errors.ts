/**
 * Errors of trace queries. The REST API answers each code with its own `reason` so that a
 * client can tell "no such lot" from "malformed GTIN" without parsing messages.
 */
import { type ErrorContext, GovchainError } from "../common/errors.js";

/** The codes a `TraceQueryError` carries. */
export const TraceErrorCode = {
  /** No product record for the GTIN at the queried state. */
  UNKNOWN_PRODUCT: "UNKNOWN_PRODUCT",
  /** The product exists, the lot does not. */
  UNKNOWN_LOT: "UNKNOWN_LOT",
  /** A pagination cursor that is malformed or belongs to another query. */
  INVALID_CURSOR: "INVALID_CURSOR",
  /** Limits out of range (`maxNodes`, `maxSteps`, proofs on too large a page). */
  INVALID_TRACE_OPTIONS: "INVALID_TRACE_OPTIONS",
} as const;

/** A `TraceErrorCode` value. */
export type TraceErrorCodeName = (typeof TraceErrorCode)[keyof typeof TraceErrorCode];

/** A trace query that cannot be answered; `code` says why. */
export class TraceQueryError extends GovchainError {
  declare readonly code: TraceErrorCodeName;

  constructor(code: TraceErrorCodeName, message: string, context: ErrorContext = {}) {
    super(code, message, context);
  }
}
