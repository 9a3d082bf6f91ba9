/**
 * GLNs (Global Location Numbers): 13 digits, company prefix + location reference + check
 * digit. They identify the physical places goods are received at and leave from (S4.2).
 */
import { gs1CheckDigit, hasValidCheckDigit } from "./check-digit.js";
import { Gs1Error, Gs1ErrorCode } from "./errors.js";

/** A GLN-13 whose check digit was verified. */
export type Gln = string & { readonly __brand: "Gln" };

const GLN_RE = /^\d{13}$/;

/** Checks a GLN: `INVALID_GLN` unless 13 digits, `INVALID_CHECK_DIGIT` for a bad check digit. */
export function parseGln(text: string): Gln {
  if (!GLN_RE.test(text)) {
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_GLN,
      `GLN ${JSON.stringify(text.slice(0, 40))} must be 13 digits`,
      { gln: text.slice(0, 40) },
    );
  }
  if (!hasValidCheckDigit(text)) {
    const expected = gs1CheckDigit(text.slice(0, -1));
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_CHECK_DIGIT,
      `GLN ${text} has check digit ${text.at(-1)}, expected ${expected}`,
      { gln: text, expected },
    );
  }
  return text as Gln;
}

/** True when `text` is a GLN-13 with a valid check digit. */
export function isGln(text: string): boolean {
  return GLN_RE.test(text) && hasValidCheckDigit(text);
}

/** The 12 digits of a GLN that carry the company prefix and location reference. */
export function glnCompanyDigits(gln: Gln): string {
  return gln.slice(0, 12);
}
