/**
 * GS1 identifiers for supply-chain traceability (S4.2): GTINs normalised to 14 digits, GLNs,
 * company prefixes and their ownership rule, lot numbers (AI 10) and GS1 Digital Link URIs,
 * all with the mod-10 check digit verified. Pure functions; errors are `Gs1Error`s whose code
 * names the rule broken.
 */
export { gs1CheckDigit, hasValidCheckDigit, withCheckDigit } from "./check-digit.js";
export {
  isCompanyPrefix,
  MAX_COMPANY_PREFIX_LENGTH,
  MIN_COMPANY_PREFIX_LENGTH,
  parseCompanyPrefix,
  prefixAncestors,
  prefixCandidates,
} from "./company-prefix.js";
export {
  buildDigitalLink,
  DEFAULT_DIGITAL_LINK_RESOLVER,
  type DigitalLinkKey,
  encodeDigitalLinkValue,
  isDigitalLinkResolver,
  parseDigitalLink,
} from "./digital-link.js";
export { Gs1Error, Gs1ErrorCode, type Gs1ErrorCodeName } from "./errors.js";
export { type Gln, glnCompanyDigits, isGln, parseGln } from "./gln.js";
export {
  displayGtin,
  GTIN_LENGTHS,
  type Gtin14,
  gtinCompanyDigits,
  isGtin,
  parseGtin,
} from "./gtin.js";
export { isLotNumber, MAX_LOT_LENGTH, parseLotNumber } from "./lot-number.js";
