/**
 * The ceiling micro-benchmark: the unavoidable work of one node per transaction — decode the
 * submission, verify its signatures, hash the payload, and store it in blocks of 1,000 with one
 * synced write per block — measured on one core in the same session as a load run, so every
 * throughput figure can be stated as a ratio to it (absolute numbers move with machine load;
 * ratios measured together hold).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CryptoSuite } from "../crypto/interface.js";
import { createLevelStore } from "../storage/level-store.js";
import { KeyPrefix, prefixedKey } from "../storage/prefixes.js";
import { parseBatchList } from "../wire/index.js";
import type { PreparedList } from "./workload.js";

/** The ceiling measured for one workload. */
export interface Ceiling {
  /** Transactions per second one core can admit and store. */
  readonly tps: number;
  /** Microseconds of that work per transaction. */
  readonly microsPerTx: number;
  readonly transactions: number;
}

/** Measures the ceiling on `lists` (which should be a few thousand transactions). */
export async function measureCeiling(
  lists: readonly PreparedList[],
  suite: CryptoSuite,
  blockSize = 1_000,
): Promise<Ceiling> {
  const dir = await mkdtemp(join(tmpdir(), "govchain-ceiling-"));
  const store = createLevelStore({ path: dir });
  await store.open();
  try {
    let transactions = 0;
    let pending: { key: Uint8Array; value: Uint8Array }[] = [];
    const started = performance.now();
    for (const list of lists) {
      const batches = parseBatchList(list.bytes, { suite, verifySignatures: true });
      for (const batch of batches) {
        for (const tx of batch.transactions) {
          pending.push({
            key: prefixedKey(KeyPrefix.TRANSACTION_LOCATION, tx.id),
            value: tx.raw.payload,
          });
          transactions++;
        }
      }
      if (pending.length >= blockSize) {
        await store.write(
          pending.map((p) => ({ type: "put" as const, key: p.key, value: p.value })),
          { sync: true },
        );
        pending = [];
      }
    }
    if (pending.length > 0) {
      await store.write(
        pending.map((p) => ({ type: "put" as const, key: p.key, value: p.value })),
        { sync: true },
      );
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      tps: transactions / seconds,
      microsPerTx: (seconds * 1e6) / transactions,
      transactions,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
