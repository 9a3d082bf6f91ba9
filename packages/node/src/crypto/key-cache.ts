/**
 * A bounded LRU of parsed public keys. Parsing a key (decompressing the point, building an
 * OpenSSL key object) costs more than a hash, and a chain sees the same few signers again and
 * again, so each suite keeps the parsed form. The bound keeps memory flat when a peer sends
 * many distinct keys; keys that fail to parse are not cached, so they cannot evict good ones.
 */
import { LRUCache } from "lru-cache";
import { toHex } from "../common/bytes.js";

/** Parsed public keys by their wire encoding. */
export interface KeyCache<T extends object> {
  /**
   * The parsed form of `publicKey`, parsing (and caching) it on a miss. `parse` returns
   * undefined for a key that is not valid; that answer is not cached.
   */
  get(publicKey: Uint8Array, parse: (publicKey: Uint8Array) => T | undefined): T | undefined;
  /** Number of keys held. */
  readonly size: number;
}

/** A key cache holding at most `max` parsed keys (at least 1). */
export function createKeyCache<T extends object>(max: number): KeyCache<T> {
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`key cache size must be a positive integer, got ${max}`);
  }
  const cache = new LRUCache<string, T>({ max });
  return {
    get(publicKey, parse) {
      const id = toHex(publicKey);
      let parsed = cache.get(id);
      if (parsed === undefined) {
        parsed = parse(publicKey);
        if (parsed !== undefined) cache.set(id, parsed);
      }
      return parsed;
    },
    get size() {
      return cache.size;
    },
  };
}
