/**
 * Address checks at the state module's public entry points. Addresses are compared and sorted
 * as strings, so only lower-case hex is accepted: "AB…" and "ab…" must never name two leaves.
 */
import { GovchainError } from "../common/errors.js";
import { StateErrorCode } from "./errors.js";
import type { Address } from "./interface.js";

/** Length of an address in hex characters (35 bytes, Sawtooth's layout). */
export const ADDRESS_HEX_LENGTH = 70;

/** True when every character of `value` is 0-9 or a-f. */
function isLowerHex(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** True when `value` is a 70-character lower-case hex address. */
export function isAddress(value: unknown): value is Address {
  return typeof value === "string" && value.length === ADDRESS_HEX_LENGTH && isLowerHex(value);
}

/** Throws `INVALID_ADDRESS` unless `value` is a 70-character lower-case hex address. */
export function assertAddress(value: unknown, what = "address"): asserts value is Address {
  if (!isAddress(value)) {
    throw new GovchainError(
      StateErrorCode.INVALID_ADDRESS,
      `${what} must be ${ADDRESS_HEX_LENGTH} lower-case hex characters`,
      describe(value),
    );
  }
}

/**
 * Throws `INVALID_ADDRESS` unless `value` is an address prefix: 0 to 70 lower-case hex
 * characters, odd lengths allowed (Sawtooth namespaces are 6 characters, but callers may
 * narrow further by a single nibble).
 */
export function assertAddressPrefix(value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length > ADDRESS_HEX_LENGTH || !isLowerHex(value)) {
    throw new GovchainError(
      StateErrorCode.INVALID_ADDRESS,
      `an address prefix must be at most ${ADDRESS_HEX_LENGTH} lower-case hex characters`,
      describe(value),
    );
  }
}

// Only the shape goes into the error context: addresses are not secret, but arbitrary caller
// input should not be echoed into logs at full length.
function describe(value: unknown): Record<string, unknown> {
  return typeof value === "string"
    ? { length: value.length, start: value.slice(0, 8) }
    : { type: typeof value };
}
