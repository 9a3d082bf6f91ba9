/**
 * Format rules for the strings inside Sawtooth headers. Ids, keys and addresses are compared as
 * strings across the system (duplicate detection, `batcher_public_key` = batch signer,
 * permission lists, state addresses), so only lower-case hex is accepted: `AB` and `ab` would
 * otherwise be two different ids for the same bytes.
 */
import { isLowerHexOfLength } from "../common/bytes.js";

/** Bytes of a signature, and so of a transaction, batch or block id. */
export const SIGNATURE_BYTES = 64;

/** Length in hex characters of a full state address (Sawtooth: 35 bytes). */
export const ADDRESS_HEX_LENGTH = 70;

/** Length in hex characters of a state root hash (the suite's 32-byte hash). */
export const STATE_ROOT_HEX_LENGTH = 64;

/** True when `id` is a transaction, batch or block id: 128 lower-case hex characters. */
export function isSignatureId(id: string): boolean {
  return isLowerHexOfLength(id, SIGNATURE_BYTES);
}

/** True when `text` is non-empty lower-case hex of at most `maxLength` characters (odd lengths allowed). */
export function isLowerHexUpTo(text: string, maxLength: number): boolean {
  const n = text.length;
  if (n === 0 || n > maxLength) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * True when `prefix` can be a transaction input or output: a lower-case hex address prefix of
 * 1–70 characters. Odd lengths are allowed because Sawtooth matches prefixes as strings.
 */
export function isAddressPrefix(prefix: string): boolean {
  return isLowerHexUpTo(prefix, ADDRESS_HEX_LENGTH);
}

/** Longest public key accepted in a header: 65 bytes, an uncompressed elliptic-curve point. */
export const MAX_PUBLIC_KEY_BYTES = 65;

/**
 * True when `hex` has the form of a public key in a header: non-empty, even-length lower-case
 * hex of at most `MAX_PUBLIC_KEY_BYTES`. Whether the key is usable is the suite's decision.
 */
export function isLowerHexKey(hex: string): boolean {
  return hex.length % 2 === 0 && isLowerHexUpTo(hex, 2 * MAX_PUBLIC_KEY_BYTES);
}
