/**
 * Structural validation of submitted batches: every check Sawtooth's validator makes on a batch
 * (structure verifier, signature verifier, payload hash, batcher key) plus govchain's size and
 * format limits. Structure and signatures are separable: `verifySignatures: false` stops after
 * the structural checks, and `verifyBatchSignatures` does the rest later (signature checks are
 * meant to move to worker threads). Nothing is re-encoded: signatures are checked over the
 * original header bytes, and a batch's size is the length of its slice of the input.
 */
import { fromHex } from "../common/bytes.js";
import type { CryptoSuite } from "../crypto/interface.js";
import { decodeBatchHeader, decodeTransactionHeader, toBatch } from "./codec.js";
import { clipId, failWire, type WireErrorContext, withWireContext } from "./errors.js";
import { isAddressPrefix, isLowerHexKey, isSignatureId } from "./format.js";
import { DEFAULT_WIRE_LIMITS, type WireLimits } from "./limits.js";
import { decodeFields, fieldLengths, readMessages, undecodable } from "./proto.js";
import type {
  Batch,
  BatchHeader,
  ParsedBatch,
  ParsedTransaction,
  Transaction,
  TransactionHeader,
} from "./types.js";

/** Options of `parseBatchList`, `parseBatch` and `parseBlock`. */
export interface WireParseOptions {
  /** The chain's crypto suite: accepted key types, payload digest, signature verification. */
  readonly suite: CryptoSuite;
  /** Size and count limits; default `DEFAULT_WIRE_LIMITS`. */
  readonly limits?: WireLimits;
  /** Verify batch and transaction signatures too; default true. With false, call `verifyBatchSignatures` later. */
  readonly verifySignatures?: boolean;
}

/** State shared by the checks of one call: duplicate detection across a list and a key cache. */
interface ParseContext {
  readonly suite: CryptoSuite;
  readonly limits: WireLimits;
  readonly transactionIds: Set<string>;
  /** Key hex → accepted by the suite; a batch usually repeats one or two keys many times. */
  readonly keys: Map<string, boolean>;
}

function createContext(options: WireParseOptions): ParseContext {
  return {
    suite: options.suite,
    limits: options.limits ?? DEFAULT_WIRE_LIMITS,
    transactionIds: new Set(),
    keys: new Map(),
  };
}

/**
 * Decodes and validates a `BatchList` (the body of `POST /batches`). Byte limits are checked
 * before decoding; structure of every batch before any signature. Throws `WireValidationError`
 * on the first fault.
 */
export function parseBatchList(bytes: Uint8Array, options: WireParseOptions): ParsedBatch[] {
  const ctx = createContext(options);
  const { limits } = ctx;
  if (bytes.length > limits.maxBatchListBytes) {
    failWire(
      "BATCH_LIST_TOO_LARGE",
      `batch list of ${bytes.length} bytes exceeds the limit of ${limits.maxBatchListBytes}`,
      {},
    );
  }
  const sizes = fieldLengths("BatchList", bytes, 1, (length, index) => {
    if (index >= limits.maxBatchesPerList) {
      failWire(
        "TOO_MANY_BATCHES",
        `batch list holds more than ${limits.maxBatchesPerList} batches`,
        {},
      );
    }
    if (length > limits.maxBatchBytes) {
      failWire(
        "BATCH_TOO_LARGE",
        `batch ${index} of ${length} bytes exceeds the limit of ${limits.maxBatchBytes}`,
        { index },
      );
    }
  });
  if (sizes.length === 0) failWire("NO_BATCHES", "batch list holds no batches", {});
  const messages = readMessages(decodeFields("BatchList", bytes), "batches");
  if (messages.length !== sizes.length) {
    throw undecodable("BatchList", undefined, "batch count differs between scans");
  }
  const batchIds = new Set<string>();
  const parsed: ParsedBatch[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const size = sizes[i];
    if (message === undefined || size === undefined) continue;
    const batch = toBatch(message);
    checkDuplicateBatch(batchIds, batch.headerSignature, { index: i });
    parsed.push(checkBatch(batch, size, ctx, i));
  }
  if (options.verifySignatures !== false) {
    for (const batch of parsed) verifyBatchSignatures(batch, ctx.suite);
  }
  return parsed;
}

/**
 * Validates one batch, given as its encoding (gossip) or as a decoded `Batch`. For a decoded
 * batch the size is `batchEncodedSize(batch)`. Throws `WireValidationError` on the first fault.
 */
export function parseBatch(input: Batch | Uint8Array, options: WireParseOptions): ParsedBatch {
  const ctx = createContext(options);
  let batch: Batch;
  let size: number;
  if (input instanceof Uint8Array) {
    if (input.length > ctx.limits.maxBatchBytes) {
      failWire(
        "BATCH_TOO_LARGE",
        `batch of ${input.length} bytes exceeds the limit of ${ctx.limits.maxBatchBytes}`,
        {},
      );
    }
    batch = toBatch(decodeFields("Batch", input));
    size = input.length;
  } else {
    batch = input;
    size = batchEncodedSize(input);
  }
  const parsed = checkBatch(batch, size, ctx, 0);
  if (options.verifySignatures !== false) verifyBatchSignatures(parsed, ctx.suite);
  return parsed;
}

/**
 * Validates the batches of a block: as `parseBatch` for each, plus duplicate batch and
 * transaction ids across the block. Used by `parseBlock`; signatures are verified only when
 * `options.verifySignatures` is not false.
 */
export function parseBatches(
  batches: readonly Batch[],
  sizes: readonly number[] | undefined,
  options: WireParseOptions,
  context: WireErrorContext = {},
): ParsedBatch[] {
  const ctx = createContext(options);
  const batchIds = new Set<string>();
  const parsed: ParsedBatch[] = [];
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i];
    if (batch === undefined) continue;
    const size = sizes?.[i] ?? batchEncodedSize(batch);
    if (size > ctx.limits.maxBatchBytes) {
      failWire(
        "BATCH_TOO_LARGE",
        `batch ${i} of ${size} bytes exceeds the limit of ${ctx.limits.maxBatchBytes}`,
        { ...context, index: i },
      );
    }
    checkDuplicateBatch(batchIds, batch.headerSignature, { ...context, index: i });
    parsed.push(checkBatch(batch, size, ctx, i, context));
  }
  if (options.verifySignatures !== false) {
    for (const batch of parsed) verifyBatchSignatures(batch, ctx.suite);
  }
  return parsed;
}

/**
 * Checked before the batch's own checks: a batch sent twice would otherwise be reported as
 * duplicate transactions, which names the wrong fault.
 */
function checkDuplicateBatch(seen: Set<string>, id: string, where: WireErrorContext): void {
  if (seen.has(id))
    failWire("DUPLICATE_BATCH", "the same batch appears twice", { ...where, batchId: clipId(id) });
  seen.add(id);
}

function acceptsKey(ctx: ParseContext, hex: string): boolean {
  let ok = ctx.keys.get(hex);
  if (ok === undefined) {
    ok = isLowerHexKey(hex) && ctx.suite.algorithmOf(fromHex(hex)) !== undefined;
    ctx.keys.set(hex, ok);
  }
  return ok;
}

function checkBatch(
  batch: Batch,
  size: number,
  ctx: ParseContext,
  index: number,
  outer: WireErrorContext = {},
): ParsedBatch {
  const { limits } = ctx;
  const id = batch.headerSignature;
  const where: WireErrorContext = { ...outer, batchId: clipId(id), index };
  if (!isSignatureId(id))
    failWire(
      "INVALID_BATCH_ID",
      "batch header_signature is not 128 lower-case hex characters",
      where,
    );
  if (size > limits.maxBatchBytes)
    failWire(
      "BATCH_TOO_LARGE",
      `batch of ${size} bytes exceeds the limit of ${limits.maxBatchBytes}`,
      where,
    );
  const count = batch.transactions.length;
  if (count === 0) failWire("EMPTY_BATCH", "batch holds no transactions", where);
  if (count > limits.maxTransactionsPerBatch) {
    failWire(
      "TOO_MANY_TRANSACTIONS",
      `batch holds ${count} transactions, more than ${limits.maxTransactionsPerBatch}`,
      where,
    );
  }
  const header = withWireContext(() => decodeBatchHeader(batch.header), where);
  if (!acceptsKey(ctx, header.signerPublicKey)) {
    failWire(
      "UNSUPPORTED_KEY",
      `batch signer_public_key is not a ${ctx.suite.id} suite public key`,
      where,
    );
  }
  const ids = header.transactionIds;
  if (ids.length !== count) {
    failWire(
      "TRANSACTION_IDS_MISMATCH",
      `batch header lists ${ids.length} transaction ids but the batch holds ${count} transactions`,
      where,
    );
  }
  const transactions: ParsedTransaction[] = [];
  for (let i = 0; i < count; i++) {
    const tx = batch.transactions[i];
    if (tx === undefined) continue;
    if (ids[i] !== tx.headerSignature) {
      failWire(
        "TRANSACTION_IDS_MISMATCH",
        `batch header transaction_ids[${i}] differs from the id of transaction ${i}`,
        {
          ...where,
          transactionId: clipId(tx.headerSignature),
        },
      );
    }
    transactions.push(
      checkTransaction(tx, header, ctx, { ...where, transactionId: clipId(tx.headerSignature) }),
    );
  }
  return { id, header, transactions, raw: batch, size };
}

function checkTransaction(
  tx: Transaction,
  batchHeader: BatchHeader,
  ctx: ParseContext,
  where: WireErrorContext,
): ParsedTransaction {
  const { limits } = ctx;
  const id = tx.headerSignature;
  if (!isSignatureId(id))
    failWire(
      "INVALID_TRANSACTION_ID",
      "transaction header_signature is not 128 lower-case hex characters",
      where,
    );
  if (ctx.transactionIds.has(id))
    failWire("DUPLICATE_TRANSACTION", `transaction ${id} appears twice`, where);
  ctx.transactionIds.add(id);
  if (tx.payload.length > limits.maxPayloadBytes) {
    failWire(
      "PAYLOAD_TOO_LARGE",
      `payload of ${tx.payload.length} bytes exceeds the limit of ${limits.maxPayloadBytes}`,
      where,
    );
  }
  const header = withWireContext(() => decodeTransactionHeader(tx.header), where);
  checkFamily(header, limits, where);
  if (header.nonce.length > limits.maxNonceLength) {
    failWire(
      "NONCE_TOO_LONG",
      `nonce of ${header.nonce.length} characters exceeds the limit of ${limits.maxNonceLength}`,
      where,
    );
  }
  if (!acceptsKey(ctx, header.signerPublicKey)) {
    failWire(
      "UNSUPPORTED_KEY",
      `transaction signer_public_key is not a ${ctx.suite.id} suite public key`,
      where,
    );
  }
  if (header.batcherPublicKey !== batchHeader.signerPublicKey) {
    failWire(
      "BATCHER_KEY_MISMATCH",
      "transaction batcher_public_key differs from the batch signer_public_key",
      where,
    );
  }
  checkDependencies(header.dependencies, limits, where);
  checkAddresses(header.inputs, "input", limits.maxInputs, "TOO_MANY_INPUTS", where);
  checkAddresses(header.outputs, "output", limits.maxOutputs, "TOO_MANY_OUTPUTS", where);
  // The digest is the costliest structural check (it reads the whole payload), so it runs last.
  if (header.payloadSha512 !== ctx.suite.payloadDigest(tx.payload)) {
    const digest = ctx.suite.id === "gm" ? "SM3" : "SHA-512";
    failWire(
      "PAYLOAD_HASH_MISMATCH",
      `payload_sha512 is not the ${digest} digest of the payload`,
      where,
    );
  }
  return { id, header, raw: tx };
}

function checkFamily(header: TransactionHeader, limits: WireLimits, where: WireErrorContext): void {
  const { familyName, familyVersion } = header;
  if (familyName.length === 0 || familyName.length > limits.maxFamilyNameLength) {
    failWire(
      "INVALID_FAMILY_NAME",
      `family_name must have 1 to ${limits.maxFamilyNameLength} characters, has ${familyName.length}`,
      where,
    );
  }
  if (familyVersion.length === 0 || familyVersion.length > limits.maxFamilyVersionLength) {
    failWire(
      "INVALID_FAMILY_VERSION",
      `family_version must have 1 to ${limits.maxFamilyVersionLength} characters, has ${familyVersion.length}`,
      where,
    );
  }
}

function checkDependencies(
  dependencies: readonly string[],
  limits: WireLimits,
  where: WireErrorContext,
): void {
  if (dependencies.length > limits.maxDependencies) {
    failWire(
      "TOO_MANY_DEPENDENCIES",
      `transaction has ${dependencies.length} dependencies, more than ${limits.maxDependencies}`,
      where,
    );
  }
  for (let i = 0; i < dependencies.length; i++) {
    const dep = dependencies[i];
    if (dep === undefined || !isSignatureId(dep)) {
      failWire(
        "INVALID_DEPENDENCY",
        `dependencies[${i}] is not a transaction id (128 lower-case hex characters)`,
        where,
      );
    }
  }
}

function checkAddresses(
  addresses: readonly string[],
  kind: "input" | "output",
  max: number,
  tooMany: "TOO_MANY_INPUTS" | "TOO_MANY_OUTPUTS",
  where: WireErrorContext,
): void {
  if (addresses.length > max)
    failWire(tooMany, `transaction has ${addresses.length} ${kind}s, more than ${max}`, where);
  for (let i = 0; i < addresses.length; i++) {
    const address = addresses[i];
    if (address === undefined || !isAddressPrefix(address)) {
      failWire(
        "INVALID_ADDRESS",
        `${kind}s[${i}] is not a lower-case hex address prefix of 1 to 70 characters`,
        where,
      );
    }
  }
}

/**
 * Verifies the batch signature over the original batch header bytes and every transaction
 * signature over its original header bytes. Throws `INVALID_BATCH_SIGNATURE` or
 * `INVALID_TRANSACTION_SIGNATURE`. Expects a batch from `parseBatch`/`parseBatchList`.
 */
export function verifyBatchSignatures(batch: ParsedBatch, suite: CryptoSuite): void {
  if (!verifyHex(suite, batch.header.signerPublicKey, batch.raw.header, batch.id)) {
    failWire(
      "INVALID_BATCH_SIGNATURE",
      "batch signature does not verify against the batch header",
      { batchId: batch.id },
    );
  }
  for (const tx of batch.transactions) {
    if (!verifyHex(suite, tx.header.signerPublicKey, tx.raw.header, tx.id)) {
      failWire(
        "INVALID_TRANSACTION_SIGNATURE",
        "transaction signature does not verify against the transaction header",
        {
          batchId: batch.id,
          transactionId: tx.id,
        },
      );
    }
  }
}

function verifyHex(
  suite: CryptoSuite,
  keyHex: string,
  message: Uint8Array,
  signatureHex: string,
): boolean {
  // Malformed hex cannot verify; a ParsedBatch built elsewhere must not turn into INVALID_HEX here.
  if (!isLowerHexKey(keyHex) || !isSignatureId(signatureHex)) return false;
  return suite.verify(fromHex(keyHex), message, fromHex(signatureHex));
}

/** Bytes of a varint. */
function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Bytes of a length-delimited field with a one-byte tag, omitted when empty (proto3). */
function delimited(length: number): number {
  return length === 0 ? 0 : 1 + varintLength(length) + length;
}

/** Encoded size of a `Transaction` in proto3's canonical encoding. */
export function transactionEncodedSize(tx: Transaction): number {
  return (
    delimited(tx.header.length) +
    delimited(Buffer.byteLength(tx.headerSignature, "utf8")) +
    delimited(tx.payload.length)
  );
}

/**
 * Encoded size of a `Batch` in proto3's canonical encoding (what `encodeBatch` produces),
 * computed without encoding. Equals the input length for canonically encoded input.
 */
export function batchEncodedSize(batch: Batch): number {
  let size =
    delimited(batch.header.length) + delimited(Buffer.byteLength(batch.headerSignature, "utf8"));
  for (const tx of batch.transactions) {
    const n = transactionEncodedSize(tx);
    // Repeated message elements are written even when empty.
    size += 1 + varintLength(n) + n;
  }
  return size + (batch.trace ? 2 : 0);
}
