/**
 * Pre-signed workloads for load tests. Everything is signed before the timed window, so the
 * load generator's CPU during a run goes to sending bytes, not to signing (the generator shares
 * the machine's cores with the nodes).
 */
import type { CryptoSuite, SignatureAlgorithm, Signer } from "../crypto/interface.js";
import {
  encodeIntkeyPayload,
  INTKEY_FAMILY,
  INTKEY_VERSION,
  intkeyAddress,
} from "../families/intkey/intkey.js";
import { createBatch, createTransaction, encodeBatchList } from "../wire/index.js";
import type { Batch } from "../wire/types.js";

/** One `POST /batches` body and what it contains. */
export interface PreparedList {
  readonly bytes: Uint8Array;
  readonly batchIds: readonly string[];
  readonly transactions: number;
}

/** Options of `createIntkeyWorkload`. */
export interface IntkeyWorkloadOptions {
  readonly suite: CryptoSuite;
  /** Signature algorithm of the clients' keys; default the suite's first. */
  readonly algorithm?: SignatureAlgorithm;
  /** Number of distinct client keys (batches rotate over them); default 8. */
  readonly signers?: number;
  /** Total transactions. */
  readonly transactions: number;
  /** Transactions per batch; default 1 (as Sawtooth's intkey workload). */
  readonly batchSize?: number;
  /** Batches per `POST /batches`; default 10. */
  readonly listSize?: number;
  /** Prefix of the intkey names, so repeated runs on one chain do not collide; default random. */
  readonly namePrefix?: string;
  /** Called as lists are signed (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * An intkey workload of `set` transactions on distinct names (every transaction valid and
 * independent), grouped into batches and batch lists.
 */
export function createIntkeyWorkload(options: IntkeyWorkloadOptions): PreparedList[] {
  const { suite } = options;
  const batchSize = options.batchSize ?? 1;
  const listSize = options.listSize ?? 10;
  const signers: Signer[] = Array.from({ length: options.signers ?? 8 }, () =>
    suite.createSigner(suite.generateKey(options.algorithm)),
  );
  const prefix =
    options.namePrefix ??
    Math.floor(Math.random() * 36 ** 4)
      .toString(36)
      .padStart(4, "0");
  const lists: PreparedList[] = [];
  const totalLists = Math.ceil(options.transactions / (batchSize * listSize));
  let made = 0;
  for (let l = 0; l < totalLists && made < options.transactions; l++) {
    const batches: Batch[] = [];
    let transactions = 0;
    for (let b = 0; b < listSize && made < options.transactions; b++) {
      const signer = signers[(l * listSize + b) % signers.length] as Signer;
      const txs = [];
      for (let t = 0; t < batchSize && made < options.transactions; t++, made++) {
        // Names are at most 20 characters (intkey's limit): prefix(4) + base36 counter.
        const name = `${prefix}${made.toString(36)}`;
        const address = intkeyAddress(name);
        txs.push(
          createTransaction(
            signer,
            {
              familyName: INTKEY_FAMILY,
              familyVersion: INTKEY_VERSION,
              inputs: [address],
              outputs: [address],
              payload: encodeIntkeyPayload({ verb: "set", name, value: made % 1000 }),
            },
            suite,
          ),
        );
      }
      transactions += txs.length;
      batches.push(createBatch(signer, txs));
    }
    lists.push({
      bytes: encodeBatchList(batches),
      batchIds: batches.map((b) => b.headerSignature),
      transactions,
    });
    options.onProgress?.(l + 1, totalLists);
  }
  return lists;
}
