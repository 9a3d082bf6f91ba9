/**
 * Raw SM2 (GB/T 32918) signing and verification of a 32-byte digest `e = SM3(Z_A || M)`, done by
 * the OpenSSL inside Node. The caller computes Z_A (with the signer's user id) and `e`; this
 * package never sees the message. Also the native parts of the Merkle state tree: batched
 * SHA-256 / SM3 digests (`digestMany`) and the block rebuild (`merkleRebuild`). Errors thrown carry a `code` starting with `ERR_GM_NATIVE`.
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

/** The digests the batched functions compute: both 32 bytes, both from Node's OpenSSL. */
export type DigestAlgorithm = "sha256" | "sm3";

/**
 * The digests of `inputs`, 32 bytes each, concatenated in order: one native call for all of
 * them instead of one `crypto.hash` (~1 µs of overhead each) per input.
 */
export function digestMany(algorithm: DigestAlgorithm, inputs: readonly Uint8Array[]): Uint8Array;

/** What `merkleRebuild` produced. */
export interface MerkleRebuildResult {
  /** Hash of the new root node, or null when the tree is now empty. */
  readonly root: Uint8Array | null;
  /** Store key of each new node, `0x02 ‖ hash` (33 bytes), in node order. */
  readonly keys: Uint8Array;
  /** Per new node, in order: index in `slabs`, byte offset there, length. */
  readonly layout: Int32Array;
  /** The buffers the new nodes live in; the first is the `slab` passed in. */
  readonly slabs: ArrayBuffer[];
  /** The buffer the next call should continue in, and how much of it is used. */
  readonly slab: ArrayBuffer;
  readonly slabUsed: number;
}

/**
 * Applies a block's sorted changes to the Merkle radix state tree of ADR 0003 (node encoding
 * version 1) and hashes the new nodes: the whole of `update()` between sorting the changes
 * and staging the result, in one call.
 *
 * - `root`: the old root's hash; `emptyRoot`: the hash of the empty node (`00`), which is
 *   never looked up.
 * - `addresses`: the changed 35-byte addresses, concatenated, strictly ascending; `values[i]`
 *   the new value of address `i`, or null to delete it.
 * - `tables`: where nodes are found, as `[words, shift]` pairs in lookup order, each the
 *   storage of a `NodeTable` (packages/node/src/state/node-table.ts, which documents the
 *   layout) hashed with `seed`; its entries name buffers by their index in `buffers`.
 * - New nodes are written from `slabUsed` on in `slab`, then in new 64 KiB slabs (a node over
 *   8 KiB gets a buffer of its own).
 *
 * Returns null, having changed nothing the caller can see, when a node on the changed paths is
 * in no table: load the paths and call again. Throws (`ERR_GM_NATIVE_INVALID_ARG`) on malformed
 * arguments or a node that is not canonical for `radix`.
 */
export function merkleRebuild(
  algorithm: DigestAlgorithm,
  radix: 16 | 256,
  root: Uint8Array,
  emptyRoot: Uint8Array,
  addresses: Uint8Array,
  values: readonly (Uint8Array | null)[],
  tables: readonly (Int32Array | number)[],
  buffers: readonly (ArrayBuffer | undefined)[],
  seed: number,
  slab: ArrayBuffer,
  slabUsed: number,
): MerkleRebuildResult | null;

/**
 * Adds the entries of one state-tree `NodeTable` (its words) to another (`to`, with `2^(32 -
 * toShift)` slots, hashed with `seed`) that it does not hold yet: for each one added,
 * `perSlab[slab id]` is incremented, `stats[0]` by one and `stats[1]` by its length. The caller
 * keeps `to` at most half full. Used to move a released block's nodes into the node cache.
 */
export function nodeTableCopy(
  from: Int32Array,
  to: Int32Array,
  toShift: number,
  seed: number,
  perSlab: Int32Array,
  stats: Int32Array,
): void;

/** Version of the OpenSSL the addon runs on (the one linked into Node), e.g. `3.0.19`. */
export const opensslVersion: string;
