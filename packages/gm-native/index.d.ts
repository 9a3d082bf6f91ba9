/**
 * Raw SM2 (GB/T 32918) signing and verification of a 32-byte digest `e = SM3(Z_A || M)`, done by
 * the OpenSSL inside Node. The caller computes Z_A (with the signer's user id) and `e`; this
 * package never sees the message. Errors thrown carry a `code` starting with `ERR_GM_NATIVE`.
 */

declare const publicKeyBrand: unique symbol;
declare const privateKeyBrand: unique symbol;

/** A parsed SM2 public key: an opaque native handle, freed when garbage-collected. */
export interface Sm2PublicKeyHandle {
  readonly [publicKeyBrand]: true;
}

/** A parsed SM2 private key: an opaque native handle, freed when garbage-collected. */
export interface Sm2PrivateKeyHandle {
  readonly [privateKeyBrand]: true;
}

/**
 * Parses an uncompressed SM2 public key (65 bytes, `04 || x || y`). Throws when it is not a
 * point on the SM2 curve.
 */
export function parsePublicKey(uncompressed: Uint8Array): Sm2PublicKeyHandle;

/**
 * True when `signature` (64 bytes, `r || s`) is a valid SM2 signature of the 32-byte digest `e`.
 * Returns false for any invalid signature (r or s outside [1, n-1] included); throws only when
 * an argument has the wrong type or length.
 */
export function verifyDigest(
  key: Sm2PublicKeyHandle,
  e: Uint8Array,
  signature: Uint8Array,
): boolean;

/** Parses a 32-byte SM2 private key `d`; throws unless 1 <= d <= n-2. */
export function parsePrivateKey(scalar: Uint8Array): Sm2PrivateKeyHandle;

/** The uncompressed public key (65 bytes, `04 || x || y`) of a private key. */
export function publicKeyOf(key: Sm2PrivateKeyHandle): Uint8Array;

/** An SM2 signature (64 bytes, `r || s`) of the 32-byte digest `e`, with a random nonce. */
export function signDigest(key: Sm2PrivateKeyHandle, e: Uint8Array): Uint8Array;

/** Version of the OpenSSL the addon runs on (the one linked into Node), e.g. `3.0.19`. */
export const opensslVersion: string;
