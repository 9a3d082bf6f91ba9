/**
 * The hash functions of both suites, all from the OpenSSL inside Node (native speed, no extra
 * dependency): SHA-256 and SHA-512 for `standard`, SM3 (GB/T 32905) for `gm`. One-shot
 * `crypto.hash` is used because the inputs are whole messages and it avoids a Hash object.
 */
import { hash } from "node:crypto";

function digest(algorithm: "sha256" | "sha512" | "sm3", data: Uint8Array): Uint8Array {
  const out = hash(algorithm, data, "buffer");
  // A Uint8Array view of the same memory: domain types hold plain Uint8Arrays, not Buffers.
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** SHA-256 of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  return digest("sha256", data);
}

/** SHA-512 of `data` (64 bytes). */
export function sha512(data: Uint8Array): Uint8Array {
  return digest("sha512", data);
}

/** SM3 of `data` (32 bytes). */
export function sm3(data: Uint8Array): Uint8Array {
  return digest("sm3", data);
}

/** Lower-case hex SHA-512 of `data`, as Sawtooth's `payload_sha512` holds it. */
export function sha512Hex(data: Uint8Array): string {
  return hash("sha512", data, "hex");
}

/** Lower-case hex SM3 of `data`. */
export function sm3Hex(data: Uint8Array): string {
  return hash("sm3", data, "hex");
}
