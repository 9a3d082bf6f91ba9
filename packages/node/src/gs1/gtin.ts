/**
 * GTINs (Global Trade Item Numbers). GTIN-8, GTIN-12 (U.P.C.), GTIN-13 (EAN) and GTIN-14 are
 * one number space: padded on the left with zeros to 14 digits they never collide, and GS1
 * Digital Link, EPCIS and our state addresses all use that 14-digit form, so every GTIN is
 * normalised to it on entry and only the normalised form is stored or hashed.
 */
import { gs1CheckDigit, hasValidCheckDigit } from "./check-digit.js";
import { Gs1Error, Gs1ErrorCode } from "./errors.js";

/** A GTIN in its normalised 14-digit form (check digit verified). */
export type Gtin14 = string & { readonly __brand: "Gtin14" };

/** Lengths a GTIN may have on entry. */
export const GTIN_LENGTHS: readonly number[] = [8, 12, 13, 14];

const DIGITS = /^\d+$/;

/**
 * The 14-digit form of a GTIN-8/12/13/14. Throws `Gs1Error` `INVALID_GTIN` for a wrong length
 * or non-digits and `INVALID_CHECK_DIGIT` (naming the expected digit) for a wrong check digit.
 */
export function parseGtin(text: string): Gtin14 {
  if (!DIGITS.test(text) || !GTIN_LENGTHS.includes(text.length)) {
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_GTIN,
      `GTIN ${JSON.stringify(clipText(text))} must be 8, 12, 13 or 14 digits`,
      { gtin: clipText(text) },
    );
  }
  if (!hasValidCheckDigit(text)) {
    const expected = gs1CheckDigit(text.slice(0, -1));
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_CHECK_DIGIT,
      `GTIN ${text} has check digit ${text.at(-1)}, expected ${expected}`,
      { gtin: text, expected },
    );
  }
  return text.padStart(14, "0") as Gtin14;
}

/** True when `text` is a GTIN-8/12/13/14 with a valid check digit. */
export function isGtin(text: string): boolean {
  return DIGITS.test(text) && GTIN_LENGTHS.includes(text.length) && hasValidCheckDigit(text);
}

/**
 * The 12 digits of a GTIN-14 that carry the company prefix and item reference (after the
 * indicator digit, before the check digit). A GS1 company prefix owns a GTIN when these digits
 * start with it; for a GTIN-12 they start with a 0, which is how GS1 writes U.P.C. company
 * prefixes (`0` + U.P.C. prefix).
 */
export function gtinCompanyDigits(gtin: Gtin14): string {
  return gtin.slice(1, 13);
}

/** The shortest conventional form: GTIN-13 when the GTIN-14 starts with `0`, else GTIN-14. */
export function displayGtin(gtin: Gtin14): string {
  return gtin.startsWith("0") ? gtin.slice(1) : gtin;
}

function clipText(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
