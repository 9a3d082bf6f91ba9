/**
 * Sawtooth state addressing: a 70-hex-character address whose first 6 characters are the
 * family's namespace, by convention the first 6 hex characters of SHA-512(family name).
 */
import { createHash } from "node:crypto";

/** Length of a full state address in hex characters. */
export const ADDRESS_LENGTH = 70;

const HEX = /^[0-9a-f]*$/;

/** SHA-512 hex of a UTF-8 string or bytes. Addressing is SHA-512 in every suite (Sawtooth rule). */
export function sha512Hex(data: string | Uint8Array): string {
  return createHash("sha512").update(data).digest("hex");
}

/** The conventional 6-hex namespace of a family: first 6 hex chars of SHA-512(name). */
export function familyNamespace(familyName: string): string {
  return sha512Hex(familyName).slice(0, 6);
}

/** True for a full address: 70 lower-case hex characters. */
export function isAddress(value: string): boolean {
  return value.length === ADDRESS_LENGTH && HEX.test(value);
}

/** True for an address prefix as allowed in inputs/outputs: lower-case hex, at most 70 chars. */
export function isAddressPrefix(value: string): boolean {
  return value.length <= ADDRESS_LENGTH && HEX.test(value);
}

/** True when `address` starts with one of `prefixes`. */
export function isUnderAnyPrefix(address: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (address.startsWith(prefix)) return true;
  return false;
}
