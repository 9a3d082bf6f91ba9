/**
 * The hello: what it signs, and that each way of getting it wrong is refused with its own
 * reason, for every suite's keys.
 */
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import { decodeCbor, encodeCbor } from "../../src/common/cbor.js";
import { getSuite } from "../../src/crypto/index.js";
import type { SignatureAlgorithm, SuiteId } from "../../src/crypto/interface.js";
import {
  checkHello,
  createHello,
  decodeHello,
  decodeNonceFrame,
  encodeHello,
  encodeNonceFrame,
  type HelloExpectation,
  helloSigningBytes,
} from "../../src/network/hello.js";

const PAIRS: { suiteId: SuiteId; algorithm: SignatureAlgorithm }[] = [
  { suiteId: "standard", algorithm: "ed25519" },
  { suiteId: "standard", algorithm: "secp256k1" },
  { suiteId: "gm", algorithm: "sm2" },
];

describe.each(PAIRS)("hello with $suiteId / $algorithm keys", ({ suiteId, algorithm }) => {
  const suite = getSuite(suiteId);
  const sender = suite.createSigner(suite.generateKey(algorithm));
  const local = suite.createSigner(suite.generateKey(algorithm));
  const fingerprint = suite.hash(Uint8Array.of(1, 2, 3));
  const nonce = new Uint8Array(32).fill(7);
  const expectation: HelloExpectation = {
    suite,
    chainId: "chain",
    localId: "a",
    localPublicKey: local.publicKeyHex,
    fingerprint,
    nonce,
    expectedPeerId: undefined,
    idOfKey: (key) => (key === sender.publicKeyHex ? "b" : undefined),
  };
  const good = createHello(sender, { chainId: "chain", nodeId: "b", fingerprint, nonce });

  it("round-trips through its encoding and is accepted", () => {
    const decoded = decodeHello(encodeHello(good));
    expect(decoded).toEqual({ ...good, publicKey: new Uint8Array(good.publicKey) });
    expect(checkHello(decoded as NonNullable<typeof decoded>, expectation)).toEqual({
      ok: true,
      peerId: "b",
    });
  });

  it.each([
    ["wrong-chain", { chainId: "other" }, {}],
    ["unknown-key", {}, { idOfKey: () => undefined }],
    ["id-mismatch", { nodeId: "c" }, {}],
    ["id-mismatch", {}, { expectedPeerId: "c" }],
    ["fingerprint-mismatch", { fingerprint: suite.hash(Uint8Array.of(9)) }, {}],
    ["stale-nonce", { nonce: new Uint8Array(32).fill(8) }, {}],
    ["self-connection", {}, { localPublicKey: sender.publicKeyHex }],
  ] as const)("refuses with %s", (reason, helloChange, expectChange) => {
    const hello = createHello(sender, {
      chainId: "chain",
      nodeId: "b",
      fingerprint,
      nonce,
      ...helloChange,
    });
    const result = checkHello(hello, { ...expectation, ...expectChange });
    expect(result).toMatchObject({ ok: false, reason });
  });

  it("refuses a signature over other fields, or by another key", () => {
    const bad = {
      ...good,
      signature: createHello(sender, {
        chainId: "chain",
        nodeId: "b",
        fingerprint,
        nonce: new Uint8Array(32),
      }).signature,
    };
    expect(checkHello(bad, expectation)).toMatchObject({ ok: false, reason: "bad-signature" });
    const other = suite.createSigner(suite.generateKey(algorithm));
    const byOther = {
      ...good,
      signature: other.sign(
        helloSigningBytes({ chainId: "chain", nodeId: "b", fingerprint, nonce }),
      ),
    };
    expect(checkHello(byOther, expectation)).toMatchObject({ ok: false, reason: "bad-signature" });
  });
});

describe("hello encoding", () => {
  it("signs domain-separated canonical CBOR", () => {
    const bytes = helloSigningBytes({
      chainId: "c",
      nodeId: "n",
      fingerprint: Uint8Array.of(1),
      nonce: Uint8Array.of(2),
    });
    const prefix = Buffer.from("govchain/transport/hello/v1\0");
    expect(Buffer.from(bytes.subarray(0, prefix.length)).equals(prefix)).toBe(true);
    expect(decodeCbor(bytes.subarray(prefix.length))).toEqual({
      v: 1,
      chain: "c",
      id: "n",
      fp: Uint8Array.of(1),
      nonce: Uint8Array.of(2),
    });
  });

  it("rejects malformed hellos and nonce frames", () => {
    expect(decodeHello(Uint8Array.of(0xff))).toBeUndefined();
    expect(
      decodeHello(
        encodeCbor({
          v: 2,
          chain: "c",
          id: "n",
          key: new Uint8Array(1),
          fp: new Uint8Array(1),
          nonce: new Uint8Array(1),
          sig: new Uint8Array(1),
        }),
      ),
    ).toBeUndefined();
    expect(decodeHello(encodeCbor({ v: 1, chain: "c", id: 5 }))).toBeUndefined();
    expect(decodeHello(encodeCbor([1, 2]))).toBeUndefined();
    const nonce = new Uint8Array(32).fill(3);
    expect(toHex(decodeNonceFrame(encodeNonceFrame(nonce)) as Uint8Array)).toBe(toHex(nonce));
    expect(decodeNonceFrame(new Uint8Array(33))).toBeUndefined(); // version 0
    expect(decodeNonceFrame(encodeNonceFrame(new Uint8Array(31)))).toBeUndefined();
  });
});
