/**
 * secp256k1 as Hyperledger Sawtooth uses it, so Sawtooth clients can sign for govchain: ECDSA
 * over SHA-256(message), 64-byte compact r || s with low S, 33-byte compressed public keys.
 *
 * Signing uses @noble/curves: RFC 6979 deterministic nonces and low-S normalisation, which is
 * what libsecp256k1 does, so Sawtooth's published vectors match byte for byte. Verification uses
 * the OpenSSL inside Node with a cached KeyObject, which is faster than noble
 * (docs/benchmarks/crypto.md). OpenSSL accepts high-S signatures, which libsecp256k1 (and so
 * every Sawtooth validator) rejects, so both of libsecp256k1's rules — r, s in [1, n-1] and
 * s <= n/2 — are checked here first, keeping the accepted set identical. (OpenSSL would also
 * refuse r or s out of range; checking it here costs nothing and skips the curve work.)
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { asBuffer, toHex } from "../common/bytes.js";
import { sha256 } from "./digests.js";
import { isCompressedPoint, isScalarBelow, SCALAR_LENGTH } from "./ec-encoding.js";
import type { Signer } from "./interface.js";
import { createKeyCache } from "./key-cache.js";

/** Bytes of a compact secp256k1 signature (r || s). */
export const SECP256K1_SIGNATURE_LENGTH = 64;

/** The group order n. */
const ORDER = Buffer.from(
  "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
  "hex",
);
/** floor(n / 2): the largest S libsecp256k1 accepts. */
const HALF_ORDER = Buffer.from(
  "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
  "hex",
);

/** True when `key` is a valid secp256k1 private key: 32 bytes, 1 <= d <= n-1. */
export function isValidSecp256k1PrivateKey(key: Uint8Array): boolean {
  return isScalarBelow(key, ORDER);
}

/** A signer for a private key the caller has checked with `isValidSecp256k1PrivateKey`. */
export function createSecp256k1Signer(privateKey: Uint8Array): Signer {
  const secretKey = privateKey.slice();
  const publicKey = secp256k1.getPublicKey(secretKey, true);
  return {
    algorithm: "secp256k1",
    publicKey,
    publicKeyHex: toHex(publicKey),
    sign(message) {
      // The digest is taken with OpenSSL's SHA-256 (faster than noble's), then signed as is.
      return secp256k1.sign(sha256(message), secretKey, {
        prehash: false,
        lowS: true,
        extraEntropy: false,
      });
    },
  };
}

/**
 * True when the compact signature has r, s in [1, n-1] and s <= n/2, the encodings
 * libsecp256k1 accepts. Anything else is rejected before any curve arithmetic.
 */
export function isCanonicalSecp256k1Signature(signature: Uint8Array): boolean {
  if (signature.length !== SECP256K1_SIGNATURE_LENGTH) return false;
  const b = asBuffer(signature);
  return (
    isScalarBelow(b.subarray(0, SCALAR_LENGTH), ORDER) &&
    isScalarBelow(b.subarray(SCALAR_LENGTH), ORDER) &&
    b.subarray(SCALAR_LENGTH).compare(HALF_ORDER) <= 0
  );
}

/** Verifies Sawtooth-style secp256k1 signatures. */
export type Secp256k1Verifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

/** A verifier that keeps up to `cacheSize` parsed public keys. */
export function createSecp256k1Verifier(cacheSize: number): Secp256k1Verifier {
  const keys = createKeyCache<KeyObject>(cacheSize);
  return (publicKey, message, signature) => {
    if (!isCompressedPoint(publicKey) || !isCanonicalSecp256k1Signature(signature)) return false;
    const key = keys.get(publicKey, parseSecp256k1PublicKey);
    if (key === undefined) return false;
    return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
  };
}

/**
 * SubjectPublicKeyInfo header for a compressed secp256k1 point: id-ecPublicKey, the secp256k1
 * OID, then a 34-byte BIT STRING (no unused bits) holding 02/03 || x.
 */
const SPKI_COMPRESSED_PREFIX = Buffer.from("3036301006072a8648ce3d020106052b8104000a032200", "hex");

/**
 * A KeyObject for a compressed public key, or undefined when it is not a point of the curve.
 * Built from a DER SPKI that carries the compressed point as is: OpenSSL decompresses it while
 * decoding and rejects x >= p and x with no point. Measured against the alternatives
 * (docs/benchmarks/crypto.md): importing a JWK is about half as fast on EC keys (OpenSSL then
 * also checks n*Q = O, needless with cofactor 1), and decompressing first costs extra.
 */
export function parseSecp256k1PublicKey(compressed: Uint8Array): KeyObject | undefined {
  if (!isCompressedPoint(compressed)) return undefined;
  try {
    return createPublicKey({
      key: Buffer.concat([SPKI_COMPRESSED_PREFIX, compressed]),
      format: "der",
      type: "spki",
    });
  } catch {
    return undefined;
  }
}
