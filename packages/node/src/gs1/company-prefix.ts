/**
 * GS1 company prefixes. A prefix is licensed to one company by a GS1 member organisation and is
 * 4 to 12 digits long (in GTIN-13 form); every GTIN and GLN the company allocates starts with
 * it. Prefixes must not nest: if `952001` and `9520012` both had owners, a GTIN starting with
 * `9520012` would have two. Ownership checks therefore look at every prefix length of an
 * identifier's 12 company digits (`prefixCandidates`).
 */
import { Gs1Error, Gs1ErrorCode } from "./errors.js";

/** Shortest GS1 company prefix. */
export const MIN_COMPANY_PREFIX_LENGTH = 4;
/** Longest GS1 company prefix (a prefix that identifies a single GTIN-13 or GLN). */
export const MAX_COMPANY_PREFIX_LENGTH = 12;

const PREFIX_RE = /^\d{4,12}$/;

/**
 * Checks a company prefix. Prefixes starting with `00000` are GTIN-8 territory (a GTIN-8 is
 * `00000` + its first 7 digits in GTIN-13 form), allocated one number at a time, so they must
 * be the full 12 digits — otherwise one registration would capture every GTIN-8.
 */
export function parseCompanyPrefix(text: string): string {
  if (!PREFIX_RE.test(text)) {
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_COMPANY_PREFIX,
      `company prefix ${JSON.stringify(text.slice(0, 40))} must be 4 to 12 digits`,
      { prefix: text.slice(0, 40) },
    );
  }
  if (text.startsWith("00000") && text.length !== MAX_COMPANY_PREFIX_LENGTH) {
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_COMPANY_PREFIX,
      `company prefix ${text} is in the GTIN-8 range (00000…) and must have 12 digits`,
      { prefix: text },
    );
  }
  return text;
}

/** True when `text` is a valid company prefix. */
export function isCompanyPrefix(text: string): boolean {
  try {
    parseCompanyPrefix(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every prefix that could own an identifier with these 12 company digits, shortest first
 * (lengths 4…12).
 */
export function prefixCandidates(companyDigits: string): string[] {
  const out: string[] = [];
  for (
    let n = MIN_COMPANY_PREFIX_LENGTH;
    n <= Math.min(MAX_COMPANY_PREFIX_LENGTH, companyDigits.length);
    n++
  )
    out.push(companyDigits.slice(0, n));
  return out;
}

/** The proper ancestors of a prefix (shorter prefixes of it, lengths 4…len−1), shortest first. */
export function prefixAncestors(prefix: string): string[] {
  return prefixCandidates(prefix).filter((p) => p.length < prefix.length);
}
