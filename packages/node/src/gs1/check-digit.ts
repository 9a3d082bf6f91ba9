/**
 * The GS1 mod-10 check digit shared by GTIN-8/12/13/14, GLN and SSCC (GS1 General
 * Specifications §7.9.1): digits are weighted 3, 1, 3, … starting with 3 at the digit next to
 * the check digit, and the check digit brings the weighted sum up to a multiple of ten. Leading
 * zeros do not change it, which is why a GTIN-12 keeps its check digit when padded to 14.
 */

const DIGITS = /^\d+$/;

/** The check digit of `body` (a code without its check digit). Throws on non-digits. */
export function gs1CheckDigit(body: string): number {
  if (!DIGITS.test(body)) throw new RangeError("a GS1 code body is made of digits only");
  let sum = 0;
  // Walk from the right: the digit next to the check digit has weight 3.
  for (let i = body.length - 1, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += (body.charCodeAt(i) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `code` is all digits (at least two) and its last digit is its check digit. */
export function hasValidCheckDigit(code: string): boolean {
  if (code.length < 2 || !DIGITS.test(code)) return false;
  return gs1CheckDigit(code.slice(0, -1)) === code.charCodeAt(code.length - 1) - 48;
}

/** `body` followed by its check digit. */
export function withCheckDigit(body: string): string {
  return `${body}${gs1CheckDigit(body)}`;
}
