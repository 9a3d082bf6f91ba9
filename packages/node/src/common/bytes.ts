/**
 * Byte helpers. Domain types hold `Uint8Array`; `Buffer` appears only at I/O edges. Hex is
 * lower-case on output and validated on input, because ids and addresses are compared as strings.
 */
import { GovchainError } from "./errors.js";

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Bytes of a hex string; throws `INVALID_HEX` on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex))
    throw new GovchainError("INVALID_HEX", "not an even-length hex string", { length: hex.length });
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** True when `value` is an even-length hex string (any case). */
export function isHex(value: string): boolean {
  return HEX_RE.test(value);
}

/** True when `value` is lower-case hex of exactly `bytes` bytes. */
export function isLowerHexOfLength(value: string, bytes: number): boolean {
  if (value.length !== bytes * 2) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "utf8"));
}

/** String of UTF-8 bytes. */
export function fromUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Byte-wise equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Lexicographic byte order, as LevelDB sorts keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).compare(b);
}

/** A `Buffer` view of the same memory (no copy), for I/O APIs that want Buffers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Base64 of bytes (Sawtooth's REST API carries state values and payloads as base64). */
export function toBase64(bytes: Uint8Array): string {
  return asBuffer(bytes).toString("base64");
}

/** Bytes of a base64 string; throws `INVALID_BASE64` when the text is not base64. */
export function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new GovchainError("INVALID_BASE64", "not a base64 string", { length: text.length });
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}
