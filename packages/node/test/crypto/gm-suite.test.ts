/**
 * The `gm` suite against the published SM3 and SM2 vectors (GB/T 32905, GB/T 32918.5 Annex A),
 * and against an independent pure-JS SM2 (sm-crypto-v2) in both directions. Also shows that
 * this is real SM2 with the default user id: plain ECDSA on the SM2 curve, or SM2 with another
 * user id, does not verify.
 */
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import * as fc from "fast-check";
import { sm2 as smCrypto } from "sm-crypto-v2";
import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex, utf8 } from "../../src/common/bytes.js";
import { isGovchainError } from "../../src/common/errors.js";
import {
  CryptoErrorCode,
  getSuite,
  SM2_DEFAULT_USER_ID,
  sm2Digest,
  sm2Za,
} from "../../src/crypto/index.js";
import { first, SM2_CASES, SM3_CASES } from "./vectors.js";

const suite = getSuite("gm");

/** n of the SM2 curve. */
const ORDER = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;

function scalarBytes(value: bigint): Uint8Array {
  return fromHex(value.toString(16).padStart(64, "0"));
}

function compress(uncompressed: Uint8Array): Uint8Array {
  const y = uncompressed[64] ?? 0;
  return concatBytes(Uint8Array.of((y & 1) === 1 ? 3 : 2), uncompressed.subarray(1, 33));
}

/** sm-crypto-v2 wants the uncompressed key as hex with its 04 prefix (128 chars means raw x||y). */
function smCryptoPublicKey(uncompressed: Uint8Array): string {
  return toHex(uncompressed);
}

describe("gm suite: SM3 (GB/T 32905-2016 Appendix A)", () => {
  it.each(SM3_CASES)("hash and payloadDigest of a $input.length-byte input", (c) => {
    expect(suite.hashName).toBe("sm3");
    expect(toHex(suite.hash(c.input))).toBe(c.digest);
    expect(suite.payloadDigest(c.input)).toBe(c.digest);
  });
});

describe("SM2 (GB/T 32918.5 Annex A vector)", () => {
  const c = first(SM2_CASES);

  it("uses the default user id 1234567812345678", () => {
    expect(toHex(c.userId)).toBe(toHex(SM2_DEFAULT_USER_ID));
  });

  it("computes Z_A and e exactly as published", () => {
    const za = sm2Za(c.publicKey, c.userId);
    expect(toHex(za)).toBe(toHex(c.za));
    expect(toHex(sm2Digest(za, c.message))).toBe(toHex(c.e));
    expect(toHex(sm2Za(c.publicKey))).toBe(toHex(c.za));
  });

  it("verifies the published r, s and rejects them for another message", () => {
    const publicKey = compress(c.publicKey);
    expect(suite.algorithmOf(publicKey)).toBe("sm2");
    expect(suite.verify(publicKey, c.message, c.signature)).toBe(true);
    expect(suite.verify(publicKey, utf8("message digesT"), c.signature)).toBe(false);
  });

  it("derives the published public key from the private key", () => {
    const signer = suite.createSigner({ algorithm: "sm2", bytes: c.privateKey });
    expect(signer.algorithm).toBe("sm2");
    expect(signer.publicKeyHex).toBe(toHex(compress(c.publicKey)));
  });

  it("signs with fresh nonces: signatures differ and all verify", () => {
    const signer = suite.createSigner({ algorithm: "sm2", bytes: c.privateKey });
    const a = signer.sign(c.message);
    const b = signer.sign(c.message);
    expect(a).toHaveLength(64);
    expect(toHex(a)).not.toBe(toHex(b));
    expect(suite.verify(signer.publicKey, c.message, a)).toBe(true);
    expect(suite.verify(signer.publicKey, c.message, b)).toBe(true);
  });

  it("rejects r or s equal to 0 or at least n", () => {
    const publicKey = compress(c.publicKey);
    const r = c.signature.subarray(0, 32);
    const s = c.signature.subarray(32);
    for (const bad of [
      concatBytes(new Uint8Array(32), s),
      concatBytes(r, new Uint8Array(32)),
      concatBytes(scalarBytes(ORDER), s),
      concatBytes(r, scalarBytes(ORDER)),
      new Uint8Array(64).fill(0xff),
    ]) {
      expect(suite.verify(publicKey, c.message, bad)).toBe(false);
    }
  });
});

describe("SM2 against sm-crypto-v2 (an independent implementation)", () => {
  it("sm-crypto-v2 verifies our signatures, and we verify its signatures", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: ORDER - 2n }),
        fc.uint8Array({ maxLength: 200 }),
        (d, message) => {
          const privateKey = scalarBytes(d);
          const signer = suite.createSigner({ algorithm: "sm2", bytes: privateKey });
          const theirPublicKey = smCrypto.getPublicKeyFromPrivateKey(toHex(privateKey));
          expect(signer.publicKeyHex).toBe(toHex(compress(fromHex(theirPublicKey))));

          const ours = signer.sign(message);
          expect(
            smCrypto.doVerifySignature(message, toHex(ours), theirPublicKey, { hash: true }),
          ).toBe(true);

          const theirs = smCrypto.doSignature(message, toHex(privateKey), {
            hash: true,
            publicKey: theirPublicKey,
          });
          expect(suite.verify(signer.publicKey, message, fromHex(theirs))).toBe(true);
        },
      ),
      { numRuns: 15 },
    );
  });

  it("rejects SM2 signatures made with another user id, and sm-crypto-v2 agrees", () => {
    const c = first(SM2_CASES);
    const publicKey = smCryptoPublicKey(c.publicKey);
    for (const userId of ["", "ALICE123@YAHOO.COM"]) {
      const theirs = smCrypto.doSignature(c.message, toHex(c.privateKey), {
        hash: true,
        publicKey,
        userId,
      });
      expect(smCrypto.doVerifySignature(c.message, theirs, publicKey, { hash: true, userId })).toBe(
        true,
      );
      expect(suite.verify(compress(c.publicKey), c.message, fromHex(theirs))).toBe(false);
    }
    const ours = suite.createSigner({ algorithm: "sm2", bytes: c.privateKey }).sign(c.message);
    expect(
      smCrypto.doVerifySignature(c.message, toHex(ours), publicKey, { hash: true, userId: "" }),
    ).toBe(false);
  });

  it("rejects plain ECDSA on the SM2 curve (what a default node:crypto SM2 key produces)", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "SM2" });
    const spki = publicKey.export({ format: "der", type: "spki" });
    const compressed = compress(new Uint8Array(spki.subarray(spki.length - 65)));
    const message = utf8("plain ECDSA is not SM2");
    const ecdsa = nodeSign("sm3", message, { key: privateKey, dsaEncoding: "ieee-p1363" });
    expect(nodeVerify("sm3", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, ecdsa)).toBe(
      true,
    );
    expect(suite.verify(compressed, message, new Uint8Array(ecdsa))).toBe(false);
  });
});

describe("gm suite: keys", () => {
  it("accepts only compressed SM2 points as public keys", () => {
    const c = first(SM2_CASES);
    const message = c.message;
    expect(suite.algorithmOf(new Uint8Array(32))).toBeUndefined();
    expect(suite.algorithmOf(c.publicKey)).toBeUndefined();
    expect(suite.verify(c.publicKey, message, c.signature)).toBe(false);
    const flippedParity = compress(c.publicKey);
    flippedParity[0] = flippedParity[0] === 2 ? 3 : 2;
    expect(suite.verify(flippedParity, message, c.signature)).toBe(false);
    // x = 0xff..ff is above p: not an encoding of any point.
    expect(suite.verify(fromHex(`02${"ff".repeat(32)}`), message, c.signature)).toBe(false);
  });

  it("rejects compressed keys whose x has no point on the curve (as sm-crypto-v2 decides)", () => {
    const c = first(SM2_CASES);
    const offCurve: Uint8Array[] = [];
    for (let x = 1n; offCurve.length < 3; x++) {
      const key = concatBytes(Uint8Array.of(2), scalarBytes(x));
      try {
        smCrypto.precomputePublicKey(toHex(key));
      } catch {
        offCurve.push(key);
      }
    }
    for (const key of offCurve) expect(suite.verify(key, c.message, c.signature)).toBe(false);
  });

  it("generates SM2 keys in [1, n-2] and refuses other algorithms and bad scalars", () => {
    expect(suite.algorithms).toEqual(["sm2"]);
    const key = suite.generateKey();
    expect(key.algorithm).toBe("sm2");
    expect(key.bytes).toHaveLength(32);
    expect(
      suite.createSigner({ algorithm: "sm2", bytes: scalarBytes(ORDER - 2n) }).publicKey,
    ).toHaveLength(33);
    const attempts: [() => unknown, string][] = [
      [() => suite.generateKey("ed25519"), CryptoErrorCode.UNSUPPORTED_ALGORITHM],
      [
        () => suite.createSigner({ algorithm: "secp256k1", bytes: scalarBytes(5n) }),
        CryptoErrorCode.UNSUPPORTED_ALGORITHM,
      ],
      [
        () => suite.createSigner({ algorithm: "sm2", bytes: new Uint8Array(32) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () => suite.createSigner({ algorithm: "sm2", bytes: scalarBytes(ORDER - 1n) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () => suite.createSigner({ algorithm: "sm2", bytes: scalarBytes(ORDER) }),
        CryptoErrorCode.INVALID_PRIVATE_KEY,
      ],
      [
        () => suite.createSigner({ algorithm: "sm2", bytes: new Uint8Array(31).fill(1) }),
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
  });
});
