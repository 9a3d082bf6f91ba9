/**
 * One compliance suite for every (suite, algorithm) pair: the `CryptoSuite` contract that the
 * rest of the node relies on, whatever the algorithm. Sign/verify round trips, every kind of
 * tampering, malformed input that must give false (never an exception), and key isolation.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import { getSuite } from "../../src/crypto/index.js";
import type { SignatureAlgorithm, SuiteId } from "../../src/crypto/interface.js";

const PAIRS: readonly {
  suiteId: SuiteId;
  algorithm: SignatureAlgorithm;
  publicKeyLength: number;
}[] = [
  { suiteId: "standard", algorithm: "ed25519", publicKeyLength: 32 },
  { suiteId: "standard", algorithm: "secp256k1", publicKeyLength: 33 },
  { suiteId: "gm", algorithm: "sm2", publicKeyLength: 33 },
];

describe.each(PAIRS)(
  "CryptoSuite compliance: $suiteId / $algorithm",
  ({ suiteId, algorithm, publicKeyLength }) => {
    const suite = getSuite(suiteId);
    const signer = suite.createSigner(suite.generateKey(algorithm));
    const other = suite.createSigner(suite.generateKey(algorithm));

    it("signs 64-byte signatures that verify, for messages of any size", () => {
      expect(signer.algorithm).toBe(algorithm);
      expect(signer.publicKey).toHaveLength(publicKeyLength);
      expect(signer.publicKeyHex).toBe(toHex(signer.publicKey));
      expect(suite.algorithmOf(signer.publicKey)).toBe(algorithm);
      for (const size of [0, 1, 1000, 100_000]) {
        const message = new Uint8Array(size).map((_, i) => i & 0xff);
        const signature = signer.sign(message);
        expect(signature).toHaveLength(64);
        expect(suite.verify(signer.publicKey, message, signature)).toBe(true);
      }
    });

    it("rejects any single flipped bit in the message or the signature", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 100 }),
          fc.nat(),
          fc.nat(7),
          fc.boolean(),
          (message, at, bit, inSignature) => {
            const signature = signer.sign(message);
            expect(suite.verify(signer.publicKey, message, signature)).toBe(true);
            const target = inSignature ? signature.slice() : message.slice();
            const i = at % target.length;
            target[i] = (target[i] ?? 0) ^ (1 << bit);
            const valid = inSignature
              ? suite.verify(signer.publicKey, message, target)
              : suite.verify(signer.publicKey, target, signature);
            expect(valid).toBe(false);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("rejects a signature by another key", () => {
      const message = new Uint8Array([1, 2, 3]);
      expect(suite.verify(other.publicKey, message, other.sign(message))).toBe(true);
      expect(suite.verify(signer.publicKey, message, other.sign(message))).toBe(false);
      expect(suite.verify(other.publicKey, message, signer.sign(message))).toBe(false);
    });

    it("rejects signatures and keys of the wrong length", () => {
      const message = new Uint8Array([4, 5, 6]);
      const signature = signer.sign(message);
      const longer = new Uint8Array(65);
      longer.set(signature);
      for (const bad of [new Uint8Array(0), signature.subarray(0, 63), longer]) {
        expect(suite.verify(signer.publicKey, message, bad)).toBe(false);
      }
      const longKey = new Uint8Array(publicKeyLength + 1);
      longKey.set(signer.publicKey);
      for (const key of [
        new Uint8Array(0),
        signer.publicKey.subarray(0, publicKeyLength - 1),
        longKey,
      ]) {
        expect(suite.verify(key, message, signature)).toBe(false);
      }
    });

    it("returns false, never throws, for arbitrary bytes", () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ maxLength: 70 }), fc.constant(signer.publicKey)),
          fc.uint8Array({ maxLength: 70 }),
          fc.uint8Array({ minLength: 60, maxLength: 68 }),
          (publicKey, message, signature) => {
            expect(suite.verify(publicKey, message, signature)).toBe(false);
          },
        ),
        { numRuns: 200 },
      );
    });

    it("returns false for values that are not bytes at all", () => {
      const message = new Uint8Array([7]);
      const signature = signer.sign(message);
      const notBytes = [undefined, null, "00", 42, {}, [1, 2, 3]] as unknown as Uint8Array[];
      for (const junk of notBytes) {
        expect(suite.verify(junk, message, signature)).toBe(false);
        expect(suite.verify(signer.publicKey, junk, signature)).toBe(false);
        expect(suite.verify(signer.publicKey, message, junk)).toBe(false);
      }
      expect(suite.verify(signer.publicKey, message, signature)).toBe(true);
    });

    it("keeps its own copy of the private key", () => {
      const key = suite.generateKey(algorithm);
      const own = suite.createSigner(key);
      key.bytes.fill(7);
      const message = new Uint8Array([8, 9]);
      expect(suite.verify(own.publicKey, message, own.sign(message))).toBe(true);
      expect(toHex(own.publicKey)).not.toBe(toHex(suite.createSigner(key).publicKey));
    });

    it("is rejected by the other suite", () => {
      const foreign = getSuite(suiteId === "gm" ? "standard" : "gm");
      const message = new Uint8Array([10]);
      const signature = signer.sign(message);
      expect(foreign.algorithms).not.toContain(algorithm);
      expect(foreign.verify(signer.publicKey, message, signature)).toBe(false);
    });
  },
);
