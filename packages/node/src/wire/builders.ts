/**
 * Builders of signed transactions and batches for govchain's own client and CLI. They check
 * their inputs with the same format rules as `parseBatch` (so a mistake fails here, with the
 * same code, rather than at the node), encode each header once and sign exactly those bytes.
 */
import { toHex } from "../common/bytes.js";
import { type Random, systemRandom } from "../common/random.js";
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import { decodeTransactionHeader, encodeBatchHeader, encodeTransactionHeader } from "./codec.js";
import { failWire } from "./errors.js";
import { isAddressPrefix, isLowerHexKey, isSignatureId } from "./format.js";
import type { Batch, Transaction, TransactionHeader } from "./types.js";

/** Bytes of the default random nonce (as Sawtooth's validator makes its own nonces). */
const NONCE_BYTES = 16;

/** What `createTransaction` needs besides the signer and the suite. */
export interface TransactionOptions {
  /** Family that processes the transaction, e.g. `intkey`. Non-empty. */
  readonly familyName: string;
  /** Family version, e.g. `1.0`. Non-empty. */
  readonly familyVersion: string;
  /** Address prefixes the transaction may read (lower-case hex, 1–70 characters). */
  readonly inputs: readonly string[];
  /** Address prefixes the transaction may write (lower-case hex, 1–70 characters). */
  readonly outputs: readonly string[];
  /** The family-specific payload. */
  readonly payload: Uint8Array;
  /** Ids of transactions that must be committed first; default none. */
  readonly dependencies?: readonly string[];
  /** Makes otherwise identical transactions distinct; default 16 random bytes as hex. */
  readonly nonce?: string;
  /** Key of the batch signer; default the transaction signer's own key. */
  readonly batcherPublicKey?: string;
  /** Source of the default nonce; default `systemRandom`. Inject a seeded one for reproducible tests. */
  readonly random?: Random;
}

/**
 * A signed transaction: builds the header (payload digest from `suite`), encodes it once and
 * signs those bytes; the signature is the transaction id. Throws `WireValidationError` for
 * malformed inputs, outputs, dependencies, family or keys.
 */
export function createTransaction(
  signer: Signer,
  options: TransactionOptions,
  suite: CryptoSuite,
): Transaction {
  if (suite.algorithmOf(signer.publicKey) === undefined) {
    failWire(
      "UNSUPPORTED_KEY",
      `a ${signer.algorithm} signer cannot sign for the ${suite.id} suite`,
    );
  }
  const batcherPublicKey = options.batcherPublicKey ?? signer.publicKeyHex;
  if (!isLowerHexKey(batcherPublicKey))
    failWire("UNSUPPORTED_KEY", "batcherPublicKey is not lower-case hex");
  if (options.familyName.length === 0) failWire("INVALID_FAMILY_NAME", "familyName is empty");
  if (options.familyVersion.length === 0)
    failWire("INVALID_FAMILY_VERSION", "familyVersion is empty");
  const dependencies = [...(options.dependencies ?? [])];
  dependencies.forEach((dep, i) => {
    if (!isSignatureId(dep))
      failWire("INVALID_DEPENDENCY", `dependencies[${i}] is not a transaction id`);
  });
  for (const [kind, list] of [
    ["inputs", options.inputs],
    ["outputs", options.outputs],
  ] as const) {
    list.forEach((address, i) => {
      if (!isAddressPrefix(address))
        failWire(
          "INVALID_ADDRESS",
          `${kind}[${i}] is not a lower-case hex address prefix of 1 to 70 characters`,
        );
    });
  }
  const header: TransactionHeader = {
    batcherPublicKey,
    dependencies,
    familyName: options.familyName,
    familyVersion: options.familyVersion,
    inputs: [...options.inputs],
    nonce: options.nonce ?? toHex((options.random ?? systemRandom).bytes(NONCE_BYTES)),
    outputs: [...options.outputs],
    payloadSha512: suite.payloadDigest(options.payload),
    signerPublicKey: signer.publicKeyHex,
  };
  const headerBytes = encodeTransactionHeader(header);
  return {
    header: headerBytes,
    headerSignature: toHex(signer.sign(headerBytes)),
    payload: options.payload,
  };
}

/** Options of `createBatch`. */
export interface BatchOptions {
  /** Ask nodes for verbose logs about this batch; default false. */
  readonly trace?: boolean;
}

/**
 * A signed batch of `transactions`, in order. Every transaction must name the signer as its
 * batcher (`BATCHER_KEY_MISMATCH`); ids must be distinct (`DUPLICATE_TRANSACTION`); the list
 * must not be empty (`EMPTY_BATCH`).
 */
export function createBatch(
  signer: Signer,
  transactions: readonly Transaction[],
  options: BatchOptions = {},
): Batch {
  if (transactions.length === 0) failWire("EMPTY_BATCH", "a batch needs at least one transaction");
  const seen = new Set<string>();
  transactions.forEach((tx, index) => {
    const transactionId = tx.headerSignature;
    if (seen.has(transactionId))
      failWire("DUPLICATE_TRANSACTION", "the same transaction appears twice", {
        transactionId,
        index,
      });
    seen.add(transactionId);
    if (decodeTransactionHeader(tx.header).batcherPublicKey !== signer.publicKeyHex) {
      failWire(
        "BATCHER_KEY_MISMATCH",
        "transaction batcher_public_key differs from the batch signer's key",
        { transactionId, index },
      );
    }
  });
  const headerBytes = encodeBatchHeader({
    signerPublicKey: signer.publicKeyHex,
    transactionIds: [...seen],
  });
  return {
    header: headerBytes,
    headerSignature: toHex(signer.sign(headerBytes)),
    transactions: [...transactions],
    trace: options.trace ?? false,
  };
}
