/**
 * Builders of valid and deliberately broken batches for the wire tests. Broken headers are
 * encoded and signed by hand (bypassing `createTransaction`'s input checks) so that each test
 * batch breaks exactly one rule and carries otherwise valid signatures.
 */
import { toHex, utf8 } from "../../src/common/bytes.js";
import { createSeededRandom } from "../../src/common/random.js";
import { getSuite } from "../../src/crypto/index.js";
import type { CryptoSuite, SignatureAlgorithm, Signer } from "../../src/crypto/interface.js";
import {
  type Batch,
  type BatchHeader,
  createBatch,
  createTransaction,
  encodeBatchHeader,
  encodeTransactionHeader,
  type Transaction,
  type TransactionHeader,
} from "../../src/wire/index.js";

/** The `standard` suite (Ed25519, secp256k1; SHA-512 payload digests). */
export const standard: CryptoSuite = getSuite("standard");
/** The `gm` suite (SM2; SM3 payload digests). */
export const gm: CryptoSuite = getSuite("gm");

/** A signer with a fixed key: 32 bytes of `fill`, valid for every algorithm used here. */
export function fixedSigner(
  suite: CryptoSuite,
  algorithm: SignatureAlgorithm,
  fill: number,
): Signer {
  return suite.createSigner({ algorithm, bytes: new Uint8Array(32).fill(fill) });
}

/** The intkey namespace prefix (first 6 hex of SHA-512("intkey")). */
export const INTKEY_PREFIX = "1cf126";

/** A valid header for `payload`, signed by `signer` and batched by `batcher`, with overrides. */
export function headerFor(
  suite: CryptoSuite,
  signer: Signer,
  batcher: Signer,
  payload: Uint8Array,
  overrides: Partial<TransactionHeader> = {},
): TransactionHeader {
  return {
    batcherPublicKey: batcher.publicKeyHex,
    dependencies: [],
    familyName: "intkey",
    familyVersion: "1.0",
    inputs: [INTKEY_PREFIX],
    nonce: "0001",
    outputs: [INTKEY_PREFIX],
    payloadSha512: suite.payloadDigest(payload),
    signerPublicKey: signer.publicKeyHex,
    ...overrides,
  };
}

/** Encodes `header` (or takes raw header bytes) and signs it. */
export function signTransaction(
  signer: Signer,
  header: TransactionHeader | Uint8Array,
  payload: Uint8Array,
): Transaction {
  const bytes = header instanceof Uint8Array ? header : encodeTransactionHeader(header);
  return { header: bytes, headerSignature: toHex(signer.sign(bytes)), payload };
}

/** Signs a batch of `transactions`; the header may be overridden (or given as raw bytes). */
export function signBatch(
  signer: Signer,
  transactions: readonly Transaction[],
  header: Partial<BatchHeader> | Uint8Array = {},
): Batch {
  const bytes =
    header instanceof Uint8Array
      ? header
      : encodeBatchHeader({
          signerPublicKey: signer.publicKeyHex,
          transactionIds: transactions.map((t) => t.headerSignature),
          ...header,
        });
  return {
    header: bytes,
    headerSignature: toHex(signer.sign(bytes)),
    transactions: [...transactions],
    trace: false,
  };
}

/** A valid batch of `count` intkey-like transactions built with the public builders. */
export function validBatch(suite: CryptoSuite, signer: Signer, count = 1, seed = 1): Batch {
  const random = createSeededRandom(seed);
  const txs = Array.from({ length: count }, (_, i) =>
    createTransaction(
      signer,
      {
        familyName: "intkey",
        familyVersion: "1.0",
        inputs: [INTKEY_PREFIX],
        outputs: [INTKEY_PREFIX],
        payload: utf8(`{"Verb":"set","Name":"k${seed}-${i}","Value":${i}}`),
        random,
      },
      suite,
    ),
  );
  return createBatch(signer, txs);
}
