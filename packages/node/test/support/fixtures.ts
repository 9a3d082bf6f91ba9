/**
 * Builders shared by tests: real suites, real signers, real wire objects. Nothing here fakes a
 * component; it only saves each test from repeating the set-up.
 */
import { getSuite } from "../../src/crypto/index.js";
import type {
  CryptoSuite,
  SignatureAlgorithm,
  Signer,
  SuiteId,
} from "../../src/crypto/interface.js";
import {
  encodeIntkeyPayload,
  INTKEY_FAMILY,
  INTKEY_VERSION,
  type IntkeyVerb,
  intkeyAddress,
} from "../../src/families/index.js";
import {
  createBatch,
  createTransaction,
  encodeBatchList,
  parseBatch,
} from "../../src/wire/index.js";
import type { Batch, ParsedBatch, Transaction } from "../../src/wire/types.js";

/** A fresh signer of `algorithm` (default: the suite's default). */
export function newSigner(suiteId: SuiteId = "standard", algorithm?: SignatureAlgorithm): Signer {
  const suite = getSuite(suiteId);
  return suite.createSigner(suite.generateKey(algorithm));
}

/** Options of a raw transaction for tests. */
export interface TxSpec {
  readonly familyName: string;
  readonly familyVersion?: string;
  readonly payload: Uint8Array;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly dependencies?: readonly string[];
}

/** A signed transaction. */
export function tx(
  signer: Signer,
  spec: TxSpec,
  suite: CryptoSuite = getSuite("standard"),
): Transaction {
  return createTransaction(
    signer,
    {
      familyName: spec.familyName,
      familyVersion: spec.familyVersion ?? "1.0",
      payload: spec.payload,
      inputs: spec.inputs,
      outputs: spec.outputs,
      ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
    },
    suite,
  );
}

/** A signed intkey transaction. */
export function intkeyTx(
  signer: Signer,
  verb: IntkeyVerb,
  name: string,
  value: number,
  extra: { dependencies?: readonly string[]; suite?: CryptoSuite } = {},
): Transaction {
  const address = intkeyAddress(name);
  return tx(
    signer,
    {
      familyName: INTKEY_FAMILY,
      familyVersion: INTKEY_VERSION,
      payload: encodeIntkeyPayload({ verb, name, value }),
      inputs: [address],
      outputs: [address],
      ...(extra.dependencies ? { dependencies: extra.dependencies } : {}),
    },
    extra.suite,
  );
}

/** A signed batch of transactions, parsed (structure and signatures checked). */
export function parsedBatch(
  signer: Signer,
  transactions: readonly Transaction[],
  suite: CryptoSuite = getSuite("standard"),
): ParsedBatch {
  return parseBatch(createBatch(signer, transactions), { suite });
}

/** An encoded BatchList of batches. */
export function batchListBytes(batches: readonly Batch[]): Uint8Array {
  return encodeBatchList(batches);
}
