/**
 * The SM2 addon on its own: raw sign/verify of e against the published vector, and the native
 * safety rules — wrong types, lengths, handles and points throw JS errors (or give false) instead
 * of crashing the process, and dropped key handles are freed by their finalizers.
 */
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";
import {
  opensslVersion,
  parsePrivateKey,
  parsePublicKey,
  publicKeyOf,
  signDigest,
  verifyDigest,
} from "@govchain/gm-native";
import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../../src/common/bytes.js";
import { first, SM2_CASES } from "./vectors.js";

const ORDER = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const c = first(SM2_CASES);

function scalarBytes(value: bigint): Uint8Array {
  return fromHex(value.toString(16).padStart(64, "0"));
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof Error && "code" in err ? String(err.code) : `untyped: ${String(err)}`;
  }
  return undefined;
}

describe("gm-native: SM2 on a digest", () => {
  it("runs on the OpenSSL inside Node", () => {
    expect(opensslVersion).toBe(process.versions.openssl);
  });

  it("verifies the published signature of the published e, and nothing else", () => {
    const key = parsePublicKey(c.publicKey);
    expect(verifyDigest(key, c.e, c.signature)).toBe(true);
    const otherE = c.e.slice();
    otherE[0] = (otherE[0] ?? 0) ^ 1;
    expect(verifyDigest(key, otherE, c.signature)).toBe(false);
    expect(verifyDigest(key, c.e, new Uint8Array(64))).toBe(false);
    expect(verifyDigest(key, c.e, concatBytes(scalarBytes(ORDER), c.signature.subarray(32)))).toBe(
      false,
    );
  });

  it("derives the public key and signs e so that it verifies", () => {
    const privateKey = parsePrivateKey(c.privateKey);
    const publicKey = publicKeyOf(privateKey);
    expect(toHex(publicKey)).toBe(toHex(c.publicKey));
    const signature = signDigest(privateKey, c.e);
    expect(signature).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(signature)).toBe(false);
    expect(signature).toHaveLength(64);
    expect(verifyDigest(parsePublicKey(publicKey), c.e, signature)).toBe(true);
  });

  it("accepts private keys in [1, n-2] only", () => {
    expect(publicKeyOf(parsePrivateKey(scalarBytes(1n)))).toHaveLength(65);
    expect(publicKeyOf(parsePrivateKey(scalarBytes(ORDER - 2n)))).toHaveLength(65);
    for (const d of [0n, ORDER - 1n, ORDER, 2n ** 256n - 1n]) {
      expect(errorCode(() => parsePrivateKey(scalarBytes(d)))).toBe("ERR_GM_NATIVE_INVALID_KEY");
    }
  });

  it("rejects public keys that are not uncompressed points of the SM2 curve", () => {
    const offCurve = c.publicKey.slice();
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    const compressed = concatBytes(Uint8Array.of(2), c.publicKey.subarray(1, 33));
    expect(errorCode(() => parsePublicKey(offCurve))).toBe("ERR_GM_NATIVE_INVALID_KEY");
    expect(
      errorCode(() => parsePublicKey(concatBytes(Uint8Array.of(5), c.publicKey.subarray(1)))),
    ).toBe("ERR_GM_NATIVE_INVALID_KEY");
    expect(errorCode(() => parsePublicKey(compressed))).toBe("ERR_GM_NATIVE_INVALID_ARG");
    expect(errorCode(() => parsePublicKey(new Uint8Array(65)))).toBe("ERR_GM_NATIVE_INVALID_KEY");
  });
});

describe("gm-native: bad arguments throw JS errors, never crash", () => {
  it("checks types and lengths of every argument", () => {
    const publicKey = parsePublicKey(c.publicKey);
    const privateKey = parsePrivateKey(c.privateKey);
    // The typed API forbids these calls; JS callers can still make them.
    const untyped = createRequire(import.meta.url)("@govchain/gm-native") as Record<
      string,
      (...args: unknown[]) => unknown
    >;
    const call =
      (name: string, ...args: unknown[]) =>
      () =>
        untyped[name]?.(...args);
    const cases: [() => unknown, string][] = [
      [call("verifyDigest"), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("verifyDigest", {}, c.e, c.signature), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("verifyDigest", privateKey, c.e, c.signature), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("verifyDigest", publicKey, c.e.subarray(1), c.signature), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("verifyDigest", publicKey, c.e, c.signature.subarray(1)), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("verifyDigest", publicKey, "00".repeat(32), c.signature), "ERR_GM_NATIVE_INVALID_ARG"],
      [
        call("verifyDigest", publicKey, new Uint16Array(16), c.signature),
        "ERR_GM_NATIVE_INVALID_ARG",
      ],
      [call("signDigest", publicKey, c.e), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("signDigest", privateKey, new Uint8Array(31)), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("publicKeyOf", publicKey), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("parsePublicKey", undefined), "ERR_GM_NATIVE_INVALID_ARG"],
      [call("parsePrivateKey", new Float64Array(4)), "ERR_GM_NATIVE_INVALID_ARG"],
    ];
    for (const [fn, code] of cases) expect(errorCode(fn)).toBe(code);
    // Still working afterwards.
    expect(verifyDigest(publicKey, c.e, c.signature)).toBe(true);
  });

  it("leaves node:crypto working after OpenSSL-level failures", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = publicKey.export({ format: "der", type: "spki" });
    const key = parsePublicKey(c.publicKey);
    for (let i = 0; i < 10; i++) {
      expect(errorCode(() => parsePublicKey(new Uint8Array(65).fill(4)))).toBe(
        "ERR_GM_NATIVE_INVALID_KEY",
      );
      expect(verifyDigest(key, c.e, new Uint8Array(64).fill(0xff))).toBe(false);
    }
    expect(createPublicKey({ key: spki, format: "der", type: "spki" }).asymmetricKeyType).toBe(
      "ec",
    );
    expect(createHash("sm3").update("abc").digest("hex")).toBe(
      "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    );
  });

  it("frees dropped key handles in their finalizers without crashing", () => {
    // A child process with --expose-gc, so collection (and the finalizers) really runs.
    const script = `
      const gm = require("@govchain/gm-native");
      const pub = Buffer.from(process.argv[1], "hex");
      const d = Buffer.from(process.argv[2], "hex");
      const e = Buffer.alloc(32, 1);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 1000; i++) {
          gm.parsePublicKey(pub);
          gm.parsePrivateKey(d);
        }
        globalThis.gc();
        const k = gm.parsePublicKey(pub);
        if (!gm.verifyDigest(k, e, gm.signDigest(gm.parsePrivateKey(d), e))) throw new Error("no");
      }
      process.stdout.write("ok");
    `;
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "-e", script, toHex(c.publicKey), toHex(c.privateKey)],
      {
        cwd: new URL("../../", import.meta.url),
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(out).toBe("ok");
  });
});
