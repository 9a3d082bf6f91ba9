/**
 * The `standard` suite against public vectors (RFC 8032 Ed25519, Hyperledger Sawtooth's
 * secp256k1 signing vectors, SHA-2) and against independent implementations (@noble/curves,
 * OpenSSL through node:crypto), plus the edge cases where libraries disagree and a chain must not.
 */
import { createHash, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import * as fc from "fast-check";
import { crypto_sign_verify_detached } from "sodium-native";
import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex, utf8 } from "../../src/common/bytes.js";
import { isGovchainError } from "../../src/common/errors.js";
import { CryptoErrorCode, getSuite } from "../../src/crypto/index.js";
import { ED25519_CASES, first, SAWTOOTH_NAMESPACES, SECP256K1_CASES } from "./vectors.js";

const suite = getSuite("standard");

const ORDER = secp256k1.Point.CURVE().n;
const FIELD = secp256k1.Point.CURVE().p;

function scalarBytes(value: bigint): Uint8Array {
  return fromHex(value.toString(16).padStart(64, "0"));
}

function bigintOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${toHex(bytes) || "0"}`);
}

function withScalars(r: bigint, s: bigint): Uint8Array {
  return concatBytes(scalarBytes(r), scalarBytes(s));
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

describe("standard suite: hashes", () => {
  it("hash is SHA-256 (FIPS 180-2 example 'abc')", () => {
    expect(suite.hashName).toBe("sha256");
    expect(toHex(suite.hash(utf8("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("payloadDigest is lower-case hex SHA-512 (RFC 8032's SHA(abc) message is SHA-512('abc'))", () => {
    const shaAbc = ED25519_CASES.find((c) => c.name === "TEST SHA(abc)");
    expect(shaAbc).toBeDefined();
    expect(suite.payloadDigest(utf8("abc"))).toBe(toHex(shaAbc?.message ?? new Uint8Array()));
  });

  it("payloadDigest reproduces Sawtooth's namespace prefixes", () => {
    expect(Object.keys(SAWTOOTH_NAMESPACES).length).toBeGreaterThan(0);
    for (const [family, namespace] of Object.entries(SAWTOOTH_NAMESPACES)) {
      expect(suite.payloadDigest(utf8(family)).slice(0, 6)).toBe(namespace);
    }
  });
});

describe("Ed25519 (RFC 8032 section 7.1)", () => {
  it.each(ED25519_CASES)("$name: derives the public key and the exact signature", (c) => {
    const signer = suite.createSigner({ algorithm: "ed25519", bytes: c.seed });
    expect(signer.algorithm).toBe("ed25519");
    expect(toHex(signer.publicKey)).toBe(toHex(c.publicKey));
    expect(signer.publicKeyHex).toBe(toHex(c.publicKey));
    expect(toHex(signer.sign(c.message))).toBe(toHex(c.signature));
    expect(suite.verify(c.publicKey, c.message, c.signature)).toBe(true);
  });

  it("rejects a vector's signature over another message, bit-flipped, or under another key", () => {
    const [a, b] = [ED25519_CASES[1], ED25519_CASES[2]];
    if (a === undefined || b === undefined) throw new Error("need two vectors");
    expect(suite.verify(a.publicKey, a.message, a.signature)).toBe(true);
    expect(suite.verify(a.publicKey, b.message, a.signature)).toBe(false);
    expect(suite.verify(b.publicKey, a.message, a.signature)).toBe(false);
    const flipped = a.signature.slice();
    flipped[10] = (flipped[10] ?? 0) ^ 0x01;
    expect(suite.verify(a.publicKey, a.message, flipped)).toBe(false);
  });

  it("signs and verifies exactly as @noble/curves does", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (seed, message) => {
          const signer = suite.createSigner({ algorithm: "ed25519", bytes: seed });
          const signature = signer.sign(message);
          expect(toHex(signer.publicKey)).toBe(toHex(ed25519.getPublicKey(seed)));
          expect(toHex(signature)).toBe(toHex(ed25519.sign(message, seed)));
          expect(ed25519.verify(signature, message, signer.publicKey)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("rejects a small-order public key that lenient (ZIP-215) verifiers accept", () => {
    // A = R = identity, S = 0 satisfies [S]B = R + [k]A for every message.
    const identity = fromHex(`01${"00".repeat(31)}`);
    const signature = concatBytes(identity, new Uint8Array(32));
    const message = utf8("any message at all");
    expect(ed25519.verify(signature, message, identity, { zip215: true })).toBe(true);
    expect(suite.verify(identity, message, signature)).toBe(false);
  });

  it("rejects a signature with trailing bytes, which raw libsodium would accept", () => {
    const c = first(ED25519_CASES);
    const longer = concatBytes(c.signature, Uint8Array.of(0));
    expect(crypto_sign_verify_detached(longer, c.message, c.publicKey)).toBe(true);
    expect(suite.verify(c.publicKey, c.message, longer)).toBe(false);
    expect(suite.verify(c.publicKey, c.message, c.signature.subarray(0, 63))).toBe(false);
  });
});

describe("secp256k1 (Hyperledger Sawtooth signing vectors)", () => {
  it.each(SECP256K1_CASES.map((c, i) => ({ ...c, name: `case ${i + 1}` })))(
    "$name: derives the public key and the exact signature",
    (c) => {
      const signer = suite.createSigner({ algorithm: "secp256k1", bytes: c.privateKey });
      expect(signer.algorithm).toBe("secp256k1");
      expect(signer.publicKeyHex).toBe(toHex(c.publicKey));
      expect(toHex(signer.sign(c.message))).toBe(toHex(c.signature));
      expect(suite.verify(c.publicKey, c.message, c.signature)).toBe(true);
    },
  );

  it("signs exactly as @noble/curves and verifies in both directions", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: ORDER - 1n }),
        fc.uint8Array({ maxLength: 300 }),
        (d, message) => {
          const privateKey = scalarBytes(d);
          const signer = suite.createSigner({ algorithm: "secp256k1", bytes: privateKey });
          const signature = signer.sign(message);
          const nobleSignature = secp256k1.sign(sha256(message), privateKey, { prehash: false });
          expect(toHex(signer.publicKey)).toBe(toHex(secp256k1.getPublicKey(privateKey, true)));
          expect(toHex(signature)).toBe(toHex(nobleSignature));
          expect(
            secp256k1.verify(signature, sha256(message), signer.publicKey, { prehash: false }),
          ).toBe(true);
          expect(suite.verify(signer.publicKey, message, nobleSignature)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("verifies OpenSSL's ECDSA signatures once normalised to low S", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
    const spki = publicKey.export({ format: "der", type: "spki" });
    const compressed = secp256k1.Point.fromBytes(
      new Uint8Array(spki.subarray(spki.length - 65)),
    ).toBytes(true);
    let checked = 0;
    for (let i = 0; i < 20; i++) {
      const message = utf8(`message ${i}`);
      const signature = new Uint8Array(
        nodeSign("sha256", message, { key: privateKey, dsaEncoding: "ieee-p1363" }),
      );
      const r = bigintOf(signature.subarray(0, 32));
      const s = bigintOf(signature.subarray(32));
      const low = withScalars(r, s > ORDER / 2n ? ORDER - s : s);
      expect(suite.verify(compressed, message, low)).toBe(true);
      if (s > ORDER / 2n) {
        // OpenSSL's own high-S output: valid ECDSA, but libsecp256k1 (and so Sawtooth) rejects it.
        expect(suite.verify(compressed, message, signature)).toBe(false);
        checked++;
      }
    }
    // About half of OpenSSL's signatures have a high S; twenty draws without one is 2^-20.
    expect(checked).toBeGreaterThan(0);
  });

  it("rejects high-S signatures although the ECDSA equation holds", () => {
    for (const c of SECP256K1_CASES) {
      const r = bigintOf(c.signature.subarray(0, 32));
      const s = bigintOf(c.signature.subarray(32));
      const highS = withScalars(r, ORDER - s);
      expect(
        secp256k1.verify(highS, sha256(c.message), c.publicKey, { prehash: false, lowS: false }),
      ).toBe(true);
      expect(suite.verify(c.publicKey, c.message, highS)).toBe(false);
    }
  });

  it("rejects r or s equal to 0 or at least n", () => {
    const c = first(SECP256K1_CASES);
    const r = bigintOf(c.signature.subarray(0, 32));
    const s = bigintOf(c.signature.subarray(32));
    for (const [badR, badS] of [
      [0n, s],
      [r, 0n],
      [ORDER, s],
      [ORDER + 1n, s],
      [r, ORDER],
      [2n ** 256n - 1n, s],
    ] as const) {
      expect(suite.verify(c.publicKey, c.message, withScalars(badR, badS))).toBe(false);
    }
  });

  it("rejects public keys that are not compressed points of the curve", () => {
    const c = first(SECP256K1_CASES);
    let notOnCurve: Uint8Array | undefined;
    for (let x = 5n; notOnCurve === undefined; x++) {
      const candidate = concatBytes(Uint8Array.of(2), scalarBytes(x));
      if (!secp256k1.utils.isValidPublicKey(candidate, true)) notOnCurve = candidate;
    }
    // x = p + 1 reduces to a valid x = 1 in sloppy decoders; an encoding must have x < p.
    const xAboveP = concatBytes(Uint8Array.of(2), scalarBytes(FIELD + 1n));
    expect(
      secp256k1.utils.isValidPublicKey(concatBytes(Uint8Array.of(2), scalarBytes(1n)), true),
    ).toBe(true);
    const wrongPrefix = concatBytes(Uint8Array.of(4), c.publicKey.subarray(1));
    const uncompressed = secp256k1.Point.fromBytes(c.publicKey).toBytes(false);
    for (const key of [
      notOnCurve,
      xAboveP,
      wrongPrefix,
      uncompressed,
      c.publicKey.subarray(0, 32),
    ]) {
      expect(suite.verify(key, c.message, c.signature)).toBe(false);
    }
  });
});

describe("algorithmOf and key checks", () => {
  it("tells the algorithm from the public key's encoding", () => {
    expect(suite.algorithmOf(new Uint8Array(32))).toBe("ed25519");
    expect(suite.algorithmOf(fromHex(`02${"11".repeat(32)}`))).toBe("secp256k1");
    expect(suite.algorithmOf(fromHex(`03${"11".repeat(32)}`))).toBe("secp256k1");
    for (const key of [
      new Uint8Array(0),
      new Uint8Array(31),
      fromHex(`04${"11".repeat(32)}`),
      new Uint8Array(34),
      fromHex(`04${"11".repeat(64)}`),
    ]) {
      expect(suite.algorithmOf(key)).toBeUndefined();
    }
  });

  it("generates Ed25519 keys by default and secp256k1 keys on request", () => {
    expect(suite.algorithms).toEqual(["ed25519", "secp256k1"]);
    const key = suite.generateKey();
    expect(key.algorithm).toBe("ed25519");
    expect(key.bytes).toHaveLength(32);
    const other = suite.generateKey("secp256k1");
    expect(other.algorithm).toBe("secp256k1");
    expect(toHex(other.bytes)).not.toBe(toHex(key.bytes));
    expect(suite.createSigner(other).publicKey).toHaveLength(33);
  });

  it("refuses SM2 keys with UNSUPPORTED_ALGORITHM and bad scalars with INVALID_PRIVATE_KEY", () => {
    const attempts: [() => unknown, string][] = [
      [() => suite.generateKey("sm2"), CryptoErrorCode.UNSUPPORTED_ALGORITHM],
      [
        () => suite.createSigner({ algorithm: "sm2", bytes: new Uint8Array(32).fill(1) }),
        CryptoErrorCode.UNSUPPORTED_ALGORITHM,
      ],
      [
        () => suite.createSigner({ algorithm: "ed25519", bytes: new Uint8Array(31) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () => suite.createSigner({ algorithm: "secp256k1", bytes: new Uint8Array(32) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () => suite.createSigner({ algorithm: "secp256k1", bytes: scalarBytes(ORDER) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () => suite.createSigner({ algorithm: "secp256k1", bytes: new Uint8Array(33).fill(1) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () =>
          suite.createSigner({
            algorithm: "ed25519",
            bytes: Array.from({ length: 32 }, () => 1) as unknown as Uint8Array,
          }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
    ];
    for (const [attempt, code] of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (err) {
        caught = err;
      }
      expect(isGovchainError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
    }
    // n - 1 is the largest valid scalar.
    expect(
      suite.createSigner({ algorithm: "secp256k1", bytes: scalarBytes(ORDER - 1n) }).publicKey,
    ).toHaveLength(33);
  });
});
