/**
 * Batch/lot numbers, GS1 application identifier (10): 1 to 20 characters of GS1 AI encodable
 * character set 82 (the printable ASCII subset that every GS1 barcode can carry). Restricting
 * lots to it keeps every lot printable in a GS1 barcode or Digital Link QR code.
 */
import { Gs1Error, Gs1ErrorCode } from "./errors.js";

/** Longest lot number (AI 10). */
export const MAX_LOT_LENGTH = 20;

/** GS1 character set 82: `!"%&'()*+,-./0-9:;<=>?A-Z_a-z`. */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;

/** True when `text` is a valid AI (10) value. */
export function isLotNumber(text: string): boolean {
  return CSET82.test(text);
}

/** Checks a lot number; `INVALID_LOT` otherwise. */
export function parseLotNumber(text: string): string {
  if (!isLotNumber(text)) {
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_LOT,
      `lot ${JSON.stringify(text.slice(0, 40))} must be 1 to ${MAX_LOT_LENGTH} characters of GS1 character set 82 (letters, digits, !"%&'()*+,-./:;<=>?_)`,
      { lot: text.slice(0, 40) },
    );
  }
  return text;
}
