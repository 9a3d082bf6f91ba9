/**
 * Byte compatibility with Sawtooth, using `sawtooth-sdk` (Hyperledger's JavaScript SDK) as an
 * independent client in both directions: (a) a batch list built and signed entirely by the SDK
 * parses and validates with the `standard` suite; (b) a batch we build with a secp256k1 signer
 * decodes field for field with the SDK's protobufs and its signatures verify with the SDK's
 * `context.verify`; (c) our encodings of the same objects are byte-identical to the SDK's.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex, utf8 } from "../../src/common/bytes.js";
import {
  createBatch,
  createTransaction,
  decodeTransactionHeader,
  encodeBatchHeader,
  encodeBatchList,
  encodeTransactionHeader,
  parseBatchList,
} from "../../src/wire/index.js";
import { INTKEY_PREFIX, standard } from "./fixtures.js";
import { sdkContext, sdkProtobuf, sdkPublicKey, sdkSigner } from "./sawtooth-sdk.js";

const PRIVATE_KEY_HEX = "2f1e7b7a130d7ba9da0068b3bb0ba1d79e7e77110302c9f746c3c2a63fe40088";
const OTHER_KEY_HEX = "8a1f5c0a0e6c3ad2e5f3e2b1d0c9b8a7f6e5d4c3b2a1908070605040302010ff";

const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const sha512Hex = (b: Uint8Array): string => createHash("sha512").update(b).digest("hex");

/** A batch list made the way a Sawtooth client does it with the SDK (its docs' recipe). */
function sdkBatchList(txCount: number): {
  bytes: Uint8Array;
  batchSize: number;
  batchId: string;
  txIds: string[];
  publicKey: string;
} {
  const signer = sdkSigner(PRIVATE_KEY_HEX);
  const publicKey = signer.getPublicKey().asHex();
  const transactions = Array.from({ length: txCount }, (_, i) => {
    const payload = utf8(`{"Verb":"inc","Name":"k${i}","Value":${i + 1}}`);
    const header = sdkProtobuf.TransactionHeader.encode({
      familyName: "intkey",
      familyVersion: "1.0",
      inputs: [INTKEY_PREFIX],
      outputs: [INTKEY_PREFIX],
      signerPublicKey: publicKey,
      batcherPublicKey: publicKey,
      dependencies: [],
      payloadSha512: sha512Hex(payload),
      nonce: `nonce-${i}`,
    }).finish();
    return sdkProtobuf.Transaction.create({
      header,
      headerSignature: signer.sign(header),
      payload,
    });
  });
  const txIds = transactions.map((t) => {
    const o = sdkProtobuf.Transaction.toObject(t);
    return String(o.headerSignature);
  });
  const batchHeader = sdkProtobuf.BatchHeader.encode({
    signerPublicKey: publicKey,
    transactionIds: txIds,
  }).finish();
  const batchId = signer.sign(batchHeader);
  const batch = sdkProtobuf.Batch.create({
    header: batchHeader,
    headerSignature: batchId,
    transactions,
  });
  const bytes = plain(sdkProtobuf.BatchList.encode({ batches: [batch] }).finish());
  return {
    bytes,
    batchSize: sdkProtobuf.Batch.encode(batch).finish().length,
    batchId,
    txIds,
    publicKey,
  };
}

describe("sawtooth-sdk → govchain", () => {
  it("(a) parses and validates a batch list built and signed entirely by sawtooth-sdk", () => {
    const { bytes, batchSize, batchId, txIds, publicKey } = sdkBatchList(3);
    const [parsed, ...rest] = parseBatchList(bytes, { suite: standard });
    expect(rest).toHaveLength(0);
    expect(parsed?.id).toBe(batchId);
    expect(parsed?.header).toEqual({ signerPublicKey: publicKey, transactionIds: txIds });
    expect(parsed?.transactions.map((t) => t.id)).toEqual(txIds);
    expect(parsed?.transactions[2]?.header).toMatchObject({
      familyName: "intkey",
      nonce: "nonce-2",
      signerPublicKey: publicKey,
    });
    // The size is the length of the batch's slice of the SDK's bytes.
    expect(parsed?.size).toBe(batchSize);
  });

  it("(a) rejects an SDK batch whose transaction was signed by another key", () => {
    const signer = sdkSigner(PRIVATE_KEY_HEX);
    const other = sdkSigner(OTHER_KEY_HEX);
    const publicKey = signer.getPublicKey().asHex();
    const payload = utf8("x");
    const header = sdkProtobuf.TransactionHeader.encode({
      familyName: "intkey",
      familyVersion: "1.0",
      inputs: [INTKEY_PREFIX],
      outputs: [INTKEY_PREFIX],
      signerPublicKey: publicKey,
      batcherPublicKey: publicKey,
      payloadSha512: sha512Hex(payload),
      nonce: "n",
    }).finish();
    const tx = { header, headerSignature: other.sign(header), payload };
    const batchHeader = sdkProtobuf.BatchHeader.encode({
      signerPublicKey: publicKey,
      transactionIds: [tx.headerSignature],
    }).finish();
    const batch = {
      header: batchHeader,
      headerSignature: signer.sign(batchHeader),
      transactions: [tx],
    };
    const bytes = plain(sdkProtobuf.BatchList.encode({ batches: [batch] }).finish());
    expect(() => parseBatchList(bytes, { suite: standard })).toThrow(
      expect.objectContaining({ code: "INVALID_TRANSACTION_SIGNATURE" }),
    );
  });
});

describe("govchain → sawtooth-sdk", () => {
  const signer = standard.createSigner({ algorithm: "secp256k1", bytes: fromHex(PRIVATE_KEY_HEX) });
  const payload = utf8('{"Verb":"set","Name":"a","Value":7}');
  const tx = createTransaction(
    signer,
    {
      familyName: "intkey",
      familyVersion: "1.0",
      inputs: [INTKEY_PREFIX],
      outputs: [INTKEY_PREFIX],
      payload,
      dependencies: ["ab".repeat(64)],
    },
    standard,
  );
  const batch = createBatch(signer, [tx]);
  const list = encodeBatchList([batch]);

  it("derives the same secp256k1 public key as sawtooth-sdk", () => {
    expect(signer.publicKeyHex).toBe(sdkSigner(PRIVATE_KEY_HEX).getPublicKey().asHex());
  });

  it("(b) decodes with sawtooth-sdk's protobufs field for field", () => {
    const sdkList = sdkProtobuf.BatchList.toObject(sdkProtobuf.BatchList.decode(list));
    const batches = sdkList.batches;
    if (!Array.isArray(batches)) throw new Error("no batches");
    const sdkBatch = batches[0];
    expect(sdkBatch).toMatchObject({ headerSignature: batch.headerSignature });
    const sdkBatchHeader = sdkProtobuf.BatchHeader.toObject(
      sdkProtobuf.BatchHeader.decode(batch.header),
    );
    expect(sdkBatchHeader).toEqual({
      signerPublicKey: signer.publicKeyHex,
      transactionIds: [tx.headerSignature],
    });
    const sdkTxHeader = sdkProtobuf.TransactionHeader.toObject(
      sdkProtobuf.TransactionHeader.decode(tx.header),
    );
    expect(sdkTxHeader).toEqual({ ...decodeTransactionHeader(tx.header) });
    expect(sdkTxHeader).toMatchObject({
      batcherPublicKey: signer.publicKeyHex,
      signerPublicKey: signer.publicKeyHex,
      familyName: "intkey",
      familyVersion: "1.0",
      inputs: [INTKEY_PREFIX],
      outputs: [INTKEY_PREFIX],
      dependencies: ["ab".repeat(64)],
      payloadSha512: sha512Hex(payload),
    });
    expect(String(sdkTxHeader.nonce)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("(b) its signatures verify with sawtooth-sdk's context.verify", () => {
    const publicKey = sdkPublicKey(signer.publicKeyHex);
    expect(sdkContext.verify(batch.headerSignature, batch.header, publicKey)).toBe(true);
    expect(sdkContext.verify(tx.headerSignature, tx.header, publicKey)).toBe(true);
    // Sanity: the SDK does reject a signature over other bytes.
    expect(sdkContext.verify(tx.headerSignature, batch.header, publicKey)).toBe(false);
  });

  it("(c) encodes the same header objects byte-identically to sawtooth-sdk", () => {
    const header = decodeTransactionHeader(tx.header);
    expect(encodeTransactionHeader(header)).toEqual(
      plain(sdkProtobuf.TransactionHeader.encode(header).finish()),
    );
    expect(tx.header).toEqual(plain(sdkProtobuf.TransactionHeader.encode(header).finish()));
    const batchHeader = {
      signerPublicKey: signer.publicKeyHex,
      transactionIds: [tx.headerSignature],
    };
    expect(batch.header).toEqual(encodeBatchHeader(batchHeader));
    expect(batch.header).toEqual(plain(sdkProtobuf.BatchHeader.encode(batchHeader).finish()));
    expect(list).toEqual(
      plain(sdkProtobuf.BatchList.encode({ batches: [{ ...batch, trace: undefined }] }).finish()),
    );
  });
});
