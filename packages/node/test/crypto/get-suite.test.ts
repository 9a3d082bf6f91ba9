/**
 * Suite lookup: one shared instance per id, ids checked at the boundary, and each algorithm
 * mapped to the one suite that accepts it.
 */
import { describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import {
  CryptoErrorCode,
  createGmSuite,
  createStandardSuite,
  getSuite,
  isSuiteId,
  SUITE_IDS,
  suiteIdOf,
} from "../../src/crypto/index.js";
import type { SuiteId } from "../../src/crypto/interface.js";

describe("getSuite", () => {
  it("returns one shared instance per suite id", () => {
    expect(getSuite("standard")).toBe(getSuite("standard"));
    expect(getSuite("gm")).toBe(getSuite("gm"));
    expect(getSuite("standard")).not.toBe(getSuite("gm"));
    expect(getSuite("standard").id).toBe("standard");
    expect(getSuite("gm").id).toBe("gm");
  });

  it("throws UNKNOWN_SUITE for an id that is not a suite", () => {
    let caught: unknown;
    try {
      getSuite("sha1" as SuiteId);
    } catch (err) {
      caught = err;
    }
    expect(isGovchainError(caught, CryptoErrorCode.UNKNOWN_SUITE)).toBe(true);
  });

  it("factories build independent suites", () => {
    const a = createStandardSuite({ keyCacheSize: 4 });
    expect(a).not.toBe(getSuite("standard"));
    expect(a.id).toBe("standard");
    expect(createGmSuite().id).toBe("gm");
    expect(() => createStandardSuite({ keyCacheSize: 0 })).toThrow(RangeError);
  });
});

describe("isSuiteId and suiteIdOf", () => {
  it("accepts exactly the suite ids", () => {
    expect(SUITE_IDS).toEqual(["standard", "gm"]);
    for (const id of SUITE_IDS) expect(isSuiteId(id)).toBe(true);
    for (const value of ["", "Standard", "GM", "sm2", undefined, null, 1, {}]) {
      expect(isSuiteId(value)).toBe(false);
    }
  });

  it("maps each algorithm to the suite that accepts it", () => {
    for (const algorithm of ["ed25519", "secp256k1", "sm2"] as const) {
      const id = suiteIdOf(algorithm);
      expect(getSuite(id).algorithms).toContain(algorithm);
    }
    expect(suiteIdOf("sm2")).toBe("gm");
  });
});
