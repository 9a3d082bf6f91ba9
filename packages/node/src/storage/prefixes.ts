/**
 * Keys of the node's store: the prefix table and the builders of prefixed keys and ranges.
 */
import { StoreErrorCode, storeError } from "./errors.js";

/**
 * The fixed table of key prefixes. Every key in a node's store starts with one of these bytes.
 * A prefix is never reused for another meaning, even after its data is retired: old data
 * directories must never be misread. Add new entries at the end.
 */
export const KeyPrefix = {
  /** Singleton records: chain head, genesis id, schema version. Suffix: UTF-8 name. */
  META: 0x01,
  /** Merkle state nodes. Suffix: 32-byte node hash. */
  STATE_NODE: 0x02,
  /** Encoded blocks. Suffix: UTF-8 block id. */
  BLOCK: 0x03,
  /** Block id by height. Suffix: 8-byte big-endian height. */
  BLOCK_ID_BY_HEIGHT: 0x04,
  /** Block id containing a batch. Suffix: UTF-8 batch id. */
  BATCH_LOCATION: 0x05,
  /** Block id containing a transaction. Suffix: UTF-8 transaction id. */
  TRANSACTION_LOCATION: 0x06,
  /** Transaction receipts. Suffix: UTF-8 transaction id. */
  RECEIPT: 0x07,
  /** Batches rejected at execution, with per-transaction messages. Suffix: UTF-8 batch id. */
  INVALID_BATCH: 0x08,
  /** Consensus engine's own durable records (votes, views, checkpoints). Suffix: engine-defined. */
  CONSENSUS: 0x09,
  /** Commit certificates of blocks. Suffix: UTF-8 block id. */
  CERTIFICATE: 0x0a,
} as const;

/** Name of an entry of `KeyPrefix`. */
export type KeyPrefixName = keyof typeof KeyPrefix;

/**
 * A store key: one prefix byte followed by `suffix`. Throws `STORE_INVALID_ARGUMENT` when
 * `prefix` is not a byte, which a typed array would otherwise silently wrap (256 → 0x00).
 */
export function prefixedKey(
  prefix: number,
  suffix: Uint8Array | string = new Uint8Array(0),
): Uint8Array {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 0xff) {
    throw storeError(StoreErrorCode.INVALID_ARGUMENT, "a key prefix must be an integer 0..255", {
      prefix,
    });
  }
  const tail = typeof suffix === "string" ? Buffer.from(suffix, "utf8") : suffix;
  const key = new Uint8Array(1 + tail.length);
  key[0] = prefix;
  key.set(tail, 1);
  return key;
}

/**
 * The bounds `{gte, lt}` that iterate exactly the keys under `prefix` (+ optional suffix start).
 * Throws `STORE_INVALID_ARGUMENT` when prefix and suffix are all 0xff: no finite `lt` exists.
 */
export function prefixRange(
  prefix: number,
  suffix: Uint8Array = new Uint8Array(0),
): { gte: Uint8Array; lt: Uint8Array } {
  const gte = prefixedKey(prefix, suffix);
  const lt = upperBound(gte);
  return { gte, lt };
}

/** The smallest key greater than every key that starts with `bytes`. */
function upperBound(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = out.length - 1; i >= 0; i--) {
    const byte = out[i] ?? 0;
    if (byte < 0xff) {
      out[i] = byte + 1;
      return out.subarray(0, i + 1);
    }
  }
  // All 0xff: every longer run of 0xff bytes starts with `bytes`, so no key bounds them all.
  throw storeError(
    StoreErrorCode.INVALID_ARGUMENT,
    "no key range bounds keys under an all-0xff prefix",
    {
      length: bytes.length,
    },
  );
}

/** 8-byte big-endian encoding of a height, so heights sort numerically. */
export function heightKey(height: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, height);
  return out;
}
