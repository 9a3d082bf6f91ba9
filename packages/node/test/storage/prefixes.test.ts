import { describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import { heightKey, KeyPrefix, prefixedKey, prefixRange } from "../../src/storage/prefixes.js";

describe("key prefixes", () => {
  it("never reuses a prefix byte", () => {
    const values = Object.values(KeyPrefix);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(value).toBeGreaterThan(0x00);
  });

  it("builds prefixed keys from bytes or UTF-8 text", () => {
    expect(toHex(prefixedKey(KeyPrefix.BLOCK, "ab"))).toBe("036162");
    expect(toHex(prefixedKey(KeyPrefix.META))).toBe("01");
    expect(toHex(prefixedKey(KeyPrefix.BLOCK_ID_BY_HEIGHT, heightKey(258n)))).toBe(
      "040000000000000102",
    );
  });

  it("rejects a prefix that is not a byte", () => {
    for (const prefix of [256, -1, 1.5]) {
      expect(() => prefixedKey(prefix)).toThrowError(
        expect.objectContaining({ code: "STORE_INVALID_ARGUMENT" }),
      );
    }
  });

  it("ranges exactly the keys under a prefix, carrying past 0xff suffix bytes", () => {
    const { gte, lt } = prefixRange(KeyPrefix.STATE_NODE);
    expect([toHex(gte), toHex(lt)]).toEqual(["02", "03"]);
    const carried = prefixRange(KeyPrefix.CONSENSUS, Uint8Array.of(0x05, 0xff, 0xff));
    expect([toHex(carried.gte), toHex(carried.lt)]).toEqual(["0905ffff", "0906"]);
    expect(() => prefixRange(0xff, Uint8Array.of(0xff))).toThrowError(
      expect.objectContaining({ code: "STORE_INVALID_ARGUMENT" }),
    );
  });

  it("orders heights numerically", () => {
    const heights = [0n, 1n, 255n, 256n, 2n ** 40n, 2n ** 64n - 1n];
    const keys = heights.map((h) => toHex(heightKey(h)));
    expect(keys.slice().sort()).toEqual(keys);
  });
});
