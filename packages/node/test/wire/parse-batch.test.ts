/**
 * Structural validation: every rule of `parseBatchList` / `parseBatch` gets a batch that breaks
 * it alone and must fail with that rule's code, naming the batch and transaction.
 */
import { describe, expect, it } from "vitest";
import { toHex, utf8 } from "../../src/common/bytes.js";
import {
  type Batch,
  batchEncodedSize,
  createBatch,
  createTransaction,
  createWireLimits,
  encodeBatch,
  encodeBatchList,
  isWireValidationError,
  parseBatch,
  parseBatchList,
  verifyBatchSignatures,
  type WireErrorCode,
  type WireLimits,
  type WireValidationError,
} from "../../src/wire/index.js";
import {
  fixedSigner,
  gm,
  headerFor,
  INTKEY_PREFIX,
  signBatch,
  signTransaction,
  standard,
  validBatch,
} from "./fixtures.js";

const ed = fixedSigner(standard, "ed25519", 1);
const secp = fixedSigner(standard, "secp256k1", 2);
const other = fixedSigner(standard, "ed25519", 3);
const payload = utf8('{"Verb":"set","Name":"a","Value":1}');

function errorOf(fn: () => unknown): WireValidationError {
  try {
    fn();
  } catch (err) {
    if (isWireValidationError(err)) return err;
    throw err;
  }
  throw new Error("expected a WireValidationError");
}

function expectFault(
  batches: readonly Batch[],
  code: WireErrorCode,
  limits?: WireLimits,
): WireValidationError {
  const bytes = encodeBatchList(batches);
  const err = errorOf(() =>
    parseBatchList(bytes, limits === undefined ? { suite: standard } : { suite: standard, limits }),
  );
  expect(err.code).toBe(code);
  expect(err.message.length).toBeGreaterThan(10);
  return err;
}

/** A one-transaction batch by `ed` whose transaction header has `overrides`. */
function batchWithHeader(overrides: Parameters<typeof headerFor>[4], txPayload = payload): Batch {
  const tx = signTransaction(ed, headerFor(standard, ed, ed, txPayload, overrides), txPayload);
  return signBatch(ed, [tx]);
}

describe("parseBatchList accepts valid batches", () => {
  it("parses batches of Ed25519 and secp256k1 signers with their ids, headers and sizes", () => {
    const a = validBatch(standard, ed, 3, 1);
    const b = validBatch(standard, secp, 2, 2);
    const bytes = encodeBatchList([a, b]);
    const parsed = parseBatchList(bytes, { suite: standard });
    expect(parsed.map((p) => p.id)).toEqual([a.headerSignature, b.headerSignature]);
    expect(parsed[0]?.header.signerPublicKey).toBe(ed.publicKeyHex);
    expect(parsed[1]?.transactions.map((t) => t.id)).toEqual(
      b.transactions.map((t) => t.headerSignature),
    );
    expect(parsed[1]?.transactions[0]?.header.familyName).toBe("intkey");
    expect(parsed.map((p) => p.size)).toEqual([encodeBatch(a).length, encodeBatch(b).length]);
    expect(parsed[0]?.raw).toEqual(a);
  });

  it("keeps the original header bytes (no re-encoding)", () => {
    const batch = validBatch(standard, ed);
    const [parsed] = parseBatchList(encodeBatchList([batch]), { suite: standard });
    expect(parsed?.raw.header).toEqual(batch.header);
    expect(parsed?.transactions[0]?.raw.header).toEqual(batch.transactions[0]?.header);
  });

  it("parses one batch from bytes or as an object, with the same size", () => {
    const batch = validBatch(standard, secp, 2);
    const fromBytes = parseBatch(encodeBatch(batch), { suite: standard });
    const fromObject = parseBatch(batch, { suite: standard });
    expect(fromBytes.size).toBe(encodeBatch(batch).length);
    expect(fromObject.size).toBe(fromBytes.size);
    expect(fromObject.id).toBe(fromBytes.id);
  });

  it("accepts full addresses, odd-length prefixes and dependencies", () => {
    const dep = validBatch(standard, ed).transactions[0]?.headerSignature ?? "";
    const batch = batchWithHeader({
      inputs: [`${INTKEY_PREFIX}${"0".repeat(64)}`, "1cf"],
      outputs: ["1"],
      dependencies: [dep],
    });
    expect(parseBatchList(encodeBatchList([batch]), { suite: standard })).toHaveLength(1);
  });

  it("validates the gm suite: SM2 signatures and SM3 payload digests", () => {
    const sm2 = fixedSigner(gm, "sm2", 4);
    const batch = validBatch(gm, sm2, 2);
    expect(
      batch.transactions[0] &&
        parseBatch(batch, { suite: gm }).transactions[0]?.header.payloadSha512,
    ).toHaveLength(64);
    expect(parseBatchList(encodeBatchList([batch]), { suite: gm })).toHaveLength(1);
    // A standard-suite batch is not valid on a gm chain, and the other way round.
    expect(errorOf(() => parseBatch(validBatch(standard, ed), { suite: gm })).code).toBe(
      "UNSUPPORTED_KEY",
    );
    expect(errorOf(() => parseBatch(batch, { suite: standard })).code).toMatch(
      /UNSUPPORTED_KEY|PAYLOAD_HASH_MISMATCH/,
    );
    // SM3 digest with a SHA-512 payload hash.
    const tx = signTransaction(sm2, headerFor(standard, sm2, sm2, payload), payload);
    expect(errorOf(() => parseBatch(signBatch(sm2, [tx]), { suite: gm })).code).toBe(
      "PAYLOAD_HASH_MISMATCH",
    );
  });
});

describe("parseBatchList rejects each structural fault with its code", () => {
  it("NO_BATCHES, TOO_MANY_BATCHES, BATCH_LIST_TOO_LARGE, BATCH_TOO_LARGE", () => {
    expectFault([], "NO_BATCHES");
    const a = validBatch(standard, ed, 1, 1);
    const b = validBatch(standard, ed, 1, 2);
    expectFault([a, b], "TOO_MANY_BATCHES", createWireLimits({ maxBatchesPerList: 1 }));
    expectFault([a, b], "BATCH_LIST_TOO_LARGE", createWireLimits({ maxBatchListBytes: 100 }));
    const err = expectFault(
      [a, b],
      "BATCH_TOO_LARGE",
      createWireLimits({ maxBatchBytes: batchEncodedSize(a) - 1 }),
    );
    expect(err.context.index).toBe(0);
    expect(
      errorOf(() =>
        parseBatch(a, { suite: standard, limits: createWireLimits({ maxBatchBytes: 10 }) }),
      ).code,
    ).toBe("BATCH_TOO_LARGE");
  });

  it("INVALID_BATCH_ID and INVALID_TRANSACTION_ID for ids that are not 128 lower-case hex", () => {
    const batch = validBatch(standard, ed);
    expectFault(
      [{ ...batch, headerSignature: batch.headerSignature.toUpperCase() }],
      "INVALID_BATCH_ID",
    );
    expectFault(
      [{ ...batch, headerSignature: batch.headerSignature.slice(2) }],
      "INVALID_BATCH_ID",
    );
    const tx = batch.transactions[0];
    if (tx === undefined) throw new Error("no transaction");
    const badTx = { ...tx, headerSignature: `${tx.headerSignature.slice(1)}g` };
    const err = expectFault([signBatch(ed, [badTx])], "INVALID_TRANSACTION_ID");
    expect(err.context.transactionId).toBe(badTx.headerSignature);
  });

  it("DUPLICATE_BATCH and DUPLICATE_TRANSACTION within a batch and across the list", () => {
    const batch = validBatch(standard, ed, 2);
    const err = expectFault([batch, batch], "DUPLICATE_BATCH");
    expect(err.context).toMatchObject({ batchId: batch.headerSignature, index: 1 });
    const [t0] = batch.transactions;
    if (t0 === undefined) throw new Error("no transaction");
    expectFault([signBatch(ed, [t0, t0])], "DUPLICATE_TRANSACTION");
    const dupErr = expectFault([batch, signBatch(ed, [t0])], "DUPLICATE_TRANSACTION");
    expect(dupErr.context.transactionId).toBe(t0.headerSignature);
  });

  it("EMPTY_BATCH and TOO_MANY_TRANSACTIONS", () => {
    expectFault([signBatch(ed, [])], "EMPTY_BATCH");
    expectFault(
      [validBatch(standard, ed, 3)],
      "TOO_MANY_TRANSACTIONS",
      createWireLimits({ maxTransactionsPerBatch: 2 }),
    );
  });

  it("UNDECODABLE batch and transaction headers, naming where", () => {
    const batch = validBatch(standard, ed);
    const badBatchHeader = signBatch(ed, batch.transactions, new Uint8Array([0x0a, 0x40, 0x01]));
    const err = expectFault([badBatchHeader], "UNDECODABLE");
    expect(err.context).toMatchObject({
      messageType: "BatchHeader",
      batchId: badBatchHeader.headerSignature,
    });
    const badTx = signTransaction(ed, new Uint8Array([0x52, 0x03, 0x61]), payload);
    const txErr = expectFault([signBatch(ed, [badTx])], "UNDECODABLE");
    expect(txErr.context).toMatchObject({
      messageType: "TransactionHeader",
      transactionId: badTx.headerSignature,
    });
    expect(
      errorOf(() => parseBatchList(new Uint8Array([0x0a, 0x05, 0x01]), { suite: standard })).code,
    ).toBe("UNDECODABLE");
  });

  it("TRANSACTION_IDS_MISMATCH for a different count or order", () => {
    const batch = validBatch(standard, ed, 2);
    const [t0, t1] = batch.transactions;
    if (t0 === undefined || t1 === undefined) throw new Error("no transactions");
    expectFault(
      [signBatch(ed, [t0, t1], { transactionIds: [t1.headerSignature, t0.headerSignature] })],
      "TRANSACTION_IDS_MISMATCH",
    );
    expectFault(
      [signBatch(ed, [t0, t1], { transactionIds: [t0.headerSignature] })],
      "TRANSACTION_IDS_MISMATCH",
    );
    expectFault(
      [signBatch(ed, [t0], { transactionIds: [t0.headerSignature, t1.headerSignature] })],
      "TRANSACTION_IDS_MISMATCH",
    );
  });

  it("PAYLOAD_TOO_LARGE and PAYLOAD_HASH_MISMATCH", () => {
    const big = new Uint8Array(2000);
    expectFault(
      [batchWithHeader({}, big)],
      "PAYLOAD_TOO_LARGE",
      createWireLimits({ maxPayloadBytes: 1999 }),
    );
    const err = expectFault(
      [batchWithHeader({ payloadSha512: "ab".repeat(64) })],
      "PAYLOAD_HASH_MISMATCH",
    );
    expect(err.message).toContain("SHA-512");
    const tx = signTransaction(ed, headerFor(standard, ed, ed, payload), utf8("tampered"));
    expectFault([signBatch(ed, [tx])], "PAYLOAD_HASH_MISMATCH");
  });

  it("BATCHER_KEY_MISMATCH when a transaction names another batcher", () => {
    const tx = signTransaction(ed, headerFor(standard, ed, other, payload), payload);
    const batch = signBatch(ed, [tx]);
    const err = expectFault([batch], "BATCHER_KEY_MISMATCH");
    expect(err.context).toMatchObject({
      batchId: batch.headerSignature,
      transactionId: tx.headerSignature,
    });
  });

  it("UNSUPPORTED_KEY for keys that are not lower-case hex keys of the suite", () => {
    const batch = validBatch(standard, ed);
    expectFault(
      [signBatch(ed, batch.transactions, { signerPublicKey: ed.publicKeyHex.toUpperCase() })],
      "UNSUPPORTED_KEY",
    );
    expectFault(
      [signBatch(ed, batch.transactions, { signerPublicKey: "02ab" })],
      "UNSUPPORTED_KEY",
    );
    expectFault([batchWithHeader({ signerPublicKey: "zz" })], "UNSUPPORTED_KEY");
    expectFault([batchWithHeader({ signerPublicKey: "" })], "UNSUPPORTED_KEY");
    expectFault([batchWithHeader({ signerPublicKey: `04${"00".repeat(64)}` })], "UNSUPPORTED_KEY");
  });

  it("INVALID_FAMILY_NAME, INVALID_FAMILY_VERSION and NONCE_TOO_LONG", () => {
    expectFault([batchWithHeader({ familyName: "" })], "INVALID_FAMILY_NAME");
    expectFault([batchWithHeader({ familyName: "f".repeat(65) })], "INVALID_FAMILY_NAME");
    expectFault([batchWithHeader({ familyVersion: "" })], "INVALID_FAMILY_VERSION");
    expectFault([batchWithHeader({ familyVersion: "1".repeat(33) })], "INVALID_FAMILY_VERSION");
    expectFault([batchWithHeader({ nonce: "n".repeat(257) })], "NONCE_TOO_LONG");
  });

  it("INVALID_ADDRESS, TOO_MANY_INPUTS and TOO_MANY_OUTPUTS", () => {
    for (const bad of ["", "1CF126", "1cf12g", "a".repeat(71), " 1cf126"]) {
      expectFault([batchWithHeader({ inputs: [bad] })], "INVALID_ADDRESS");
      expectFault([batchWithHeader({ outputs: [INTKEY_PREFIX, bad] })], "INVALID_ADDRESS");
    }
    const limits = createWireLimits({ maxInputs: 1, maxOutputs: 1 });
    expectFault([batchWithHeader({ inputs: ["ab", "cd"] })], "TOO_MANY_INPUTS", limits);
    expectFault([batchWithHeader({ outputs: ["ab", "cd"] })], "TOO_MANY_OUTPUTS", limits);
  });

  it("INVALID_DEPENDENCY and TOO_MANY_DEPENDENCIES", () => {
    const id = "a".repeat(128);
    for (const bad of ["", "a".repeat(127), "A".repeat(128), "x".repeat(128)]) {
      expectFault([batchWithHeader({ dependencies: [id, bad] })], "INVALID_DEPENDENCY");
    }
    expectFault(
      [batchWithHeader({ dependencies: [id, "b".repeat(128)] })],
      "TOO_MANY_DEPENDENCIES",
      createWireLimits({ maxDependencies: 1 }),
    );
  });
});

describe("signature checks", () => {
  it("INVALID_BATCH_SIGNATURE when another key signed the batch header", () => {
    const batch = validBatch(standard, ed);
    const forged = { ...batch, headerSignature: toHex(other.sign(batch.header)) };
    const err = expectFault([forged], "INVALID_BATCH_SIGNATURE");
    expect(err.context.batchId).toBe(forged.headerSignature);
  });

  it("INVALID_TRANSACTION_SIGNATURE when another key signed a transaction header", () => {
    const header = headerFor(standard, ed, ed, payload);
    const honest = signTransaction(ed, header, payload);
    const forged = { ...honest, headerSignature: toHex(other.sign(honest.header)) };
    const batch = signBatch(ed, [forged]);
    const err = expectFault([batch], "INVALID_TRANSACTION_SIGNATURE");
    expect(err.context).toMatchObject({
      batchId: batch.headerSignature,
      transactionId: forged.headerSignature,
    });
  });

  it("verifies over the original bytes: an equivalent re-encoding does not verify", () => {
    const batch = validBatch(standard, secp);
    // An appended empty unknown field (6) changes the bytes but not the decoded header.
    const padded = { ...batch, header: new Uint8Array([...batch.header, 0x32, 0x00]) };
    expect(errorOf(() => parseBatch(padded, { suite: standard })).code).toBe(
      "INVALID_BATCH_SIGNATURE",
    );
  });

  it("separates structure from signatures: verifySignatures false, then verifyBatchSignatures", () => {
    const batch = validBatch(standard, ed);
    const forged = { ...batch, headerSignature: toHex(other.sign(batch.header)) };
    const [parsed] = parseBatchList(encodeBatchList([forged]), {
      suite: standard,
      verifySignatures: false,
    });
    if (parsed === undefined) throw new Error("not parsed");
    expect(errorOf(() => verifyBatchSignatures(parsed, standard)).code).toBe(
      "INVALID_BATCH_SIGNATURE",
    );
    const valid = parseBatch(batch, { suite: standard, verifySignatures: false });
    expect(() => verifyBatchSignatures(valid, standard)).not.toThrow();
  });
});

describe("builders", () => {
  it("create transactions with random nonces by default and given ones on request", () => {
    const options = {
      familyName: "intkey",
      familyVersion: "1.0",
      inputs: [INTKEY_PREFIX],
      outputs: [INTKEY_PREFIX],
      payload,
    };
    const a = createTransaction(ed, options, standard);
    const b = createTransaction(ed, options, standard);
    expect(a.headerSignature).not.toBe(b.headerSignature);
    const c = createTransaction(ed, { ...options, nonce: "fixed" }, standard);
    const d = createTransaction(ed, { ...options, nonce: "fixed" }, standard);
    // Ed25519 is deterministic, so equal headers give equal ids.
    expect(c.headerSignature).toBe(d.headerSignature);
    expect(
      parseBatch(createBatch(ed, [a, b, c], { trace: true }), { suite: standard }).raw.trace,
    ).toBe(true);
  });

  it("reject malformed inputs with the same codes as validation", () => {
    const options = {
      familyName: "intkey",
      familyVersion: "1.0",
      inputs: [INTKEY_PREFIX],
      outputs: [INTKEY_PREFIX],
      payload,
    };
    expect(
      errorOf(() => createTransaction(ed, { ...options, inputs: ["XY"] }, standard)).code,
    ).toBe("INVALID_ADDRESS");
    expect(
      errorOf(() => createTransaction(ed, { ...options, dependencies: ["ab"] }, standard)).code,
    ).toBe("INVALID_DEPENDENCY");
    expect(
      errorOf(() => createTransaction(ed, { ...options, familyName: "" }, standard)).code,
    ).toBe("INVALID_FAMILY_NAME");
    expect(
      errorOf(() => createTransaction(ed, { ...options, familyVersion: "" }, standard)).code,
    ).toBe("INVALID_FAMILY_VERSION");
    expect(errorOf(() => createTransaction(ed, options, gm)).code).toBe("UNSUPPORTED_KEY");
    const tx = createTransaction(
      ed,
      { ...options, batcherPublicKey: other.publicKeyHex },
      standard,
    );
    expect(errorOf(() => createBatch(ed, [tx])).code).toBe("BATCHER_KEY_MISMATCH");
    expect(createBatch(other, [tx]).transactions).toHaveLength(1);
    expect(errorOf(() => createBatch(ed, [])).code).toBe("EMPTY_BATCH");
    const own = createTransaction(ed, options, standard);
    expect(errorOf(() => createBatch(ed, [own, own])).code).toBe("DUPLICATE_TRANSACTION");
  });
});
