/**
 * The parsed-key LRU: bounded, parses once per key, and never caches a key that fails to parse.
 */
import { describe, expect, it } from "vitest";
import { createKeyCache } from "../../src/crypto/key-cache.js";

describe("createKeyCache", () => {
  it("parses a key once and then serves it from the cache", () => {
    const cache = createKeyCache<{ n: number }>(10);
    let parses = 0;
    const parse = (key: Uint8Array) => {
      parses++;
      return { n: key[0] ?? 0 };
    };
    const first = cache.get(Uint8Array.of(1), parse);
    expect(cache.get(Uint8Array.of(1), parse)).toBe(first);
    expect(parses).toBe(1);
    expect(cache.get(Uint8Array.of(2), parse)?.n).toBe(2);
    expect(parses).toBe(2);
  });

  it("holds at most max keys, evicting the least recently used", () => {
    const cache = createKeyCache<{ n: number }>(2);
    let parses = 0;
    const parse = (key: Uint8Array) => {
      parses++;
      return { n: key[0] ?? 0 };
    };
    cache.get(Uint8Array.of(1), parse);
    cache.get(Uint8Array.of(2), parse);
    cache.get(Uint8Array.of(1), parse);
    cache.get(Uint8Array.of(3), parse);
    expect(cache.size).toBe(2);
    expect(parses).toBe(3);
    cache.get(Uint8Array.of(1), parse);
    expect(parses).toBe(3);
    cache.get(Uint8Array.of(2), parse);
    expect(parses).toBe(4);
  });

  it("does not cache keys that fail to parse", () => {
    const cache = createKeyCache<{ n: number }>(2);
    let parses = 0;
    const parse = () => {
      parses++;
      return undefined;
    };
    expect(cache.get(Uint8Array.of(9), parse)).toBeUndefined();
    expect(cache.get(Uint8Array.of(9), parse)).toBeUndefined();
    expect(parses).toBe(2);
    expect(cache.size).toBe(0);
  });

  it("refuses a size that is not a positive integer", () => {
    for (const max of [0, -1, 1.5, Number.NaN])
      expect(() => createKeyCache(max)).toThrow(RangeError);
  });
});
