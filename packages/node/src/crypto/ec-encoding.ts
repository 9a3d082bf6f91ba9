/**
 * SEC 1 encodings shared by the two Weierstrass-curve algorithms (secp256k1, SM2): compressed
 * points on the wire, big-endian 32-byte scalars. Range checks compare bytes, not bigints,
 * because they run on every verification.
 */
import { ECDH } from "node:crypto";
import { asBuffer } from "../common/bytes.js";

/** Bytes of a scalar (private key, r, s) and of a coordinate. */
export const SCALAR_LENGTH = 32;
/** Bytes of a compressed point: 02/03 by the parity of y, then x. */
export const COMPRESSED_POINT_LENGTH = 33;
/** Bytes of an uncompressed point: 04, x, y. */
export const UNCOMPRESSED_POINT_LENGTH = 65;

const ZERO = Buffer.alloc(SCALAR_LENGTH);

/** True when `bytes` has the shape of a compressed point (it may still not be on the curve). */
export function isCompressedPoint(bytes: Uint8Array): boolean {
  return bytes.length === COMPRESSED_POINT_LENGTH && (bytes[0] === 0x02 || bytes[0] === 0x03);
}

/** True when the 32-byte big-endian scalar is in [1, limit - 1]. */
export function isScalarBelow(scalar: Uint8Array, limit: Buffer): boolean {
  if (!(scalar instanceof Uint8Array) || scalar.length !== SCALAR_LENGTH) return false;
  const b = asBuffer(scalar);
  return !b.equals(ZERO) && b.compare(limit) < 0;
}

/**
 * The uncompressed form of a compressed point on `curve` (an OpenSSL curve name), or undefined
 * when it is not a point of the curve. OpenSSL rejects x >= p and x without a square root.
 */
export function decompressPoint(
  compressed: Uint8Array,
  curve: "secp256k1" | "SM2",
): Uint8Array | undefined {
  if (!isCompressedPoint(compressed)) return undefined;
  try {
    const point = ECDH.convertKey(compressed, curve, undefined, undefined, "uncompressed");
    return typeof point === "string" ? undefined : new Uint8Array(point);
  } catch {
    return undefined;
  }
}

/** The compressed form of an uncompressed point (04 || x || y). */
export function compressPoint(uncompressed: Uint8Array): Uint8Array {
  const out = new Uint8Array(COMPRESSED_POINT_LENGTH);
  out[0] = ((uncompressed[UNCOMPRESSED_POINT_LENGTH - 1] ?? 0) & 1) === 1 ? 0x03 : 0x02;
  out.set(uncompressed.subarray(1, 1 + SCALAR_LENGTH), 1);
  return out;
}
