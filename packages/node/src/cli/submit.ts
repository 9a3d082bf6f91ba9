/**
 * Building, submitting and following batches: the path every write command takes. A command
 * describes its transactions; this signs them into one batch with the user's key (the batch is
 * the unit of atomicity, so one command's transactions commit together or not at all), posts
 * the BatchList and long-polls `/batch_statuses` until each batch is COMMITTED or INVALID or
 * the wait runs out.
 */
import { systemClock } from "../common/clock.js";
import {
  createBatch,
  createTransaction,
  encodeBatchList,
  type TransactionOptions,
} from "../wire/index.js";
import type { Batch } from "../wire/types.js";
import type { ApiClient, BatchStatusView } from "./client.js";
import type { LoadedKey } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import type { Output } from "./output.js";

/** Ids per `/batch_statuses` request, keeping the URL well under common 8-16 KiB limits. */
const STATUS_CHUNK = 50;
/** Longest single long poll; short enough to refresh the progress line now and then. */
const MAX_POLL_SECONDS = 5;
/** Pause between polls when a node answers at once without long-polling. */
const MIN_POLL_INTERVAL_MS = 200;

/** The transaction fields a command chooses (the signer fills in the rest). */
export type TransactionSpec = Omit<TransactionOptions, "batcherPublicKey" | "random">;

/** Signs `transactions` into one batch with `key` (signer and batcher). */
export function buildBatch(key: LoadedKey, transactions: readonly TransactionSpec[]): Batch {
  const txs = transactions.map((tx) => createTransaction(key.signer, tx, key.suite));
  return createBatch(key.signer, txs);
}

/** Final when COMMITTED or INVALID; PENDING and UNKNOWN may still change. */
export function isFinal(status: BatchStatusView["status"]): boolean {
  return status === "COMMITTED" || status === "INVALID";
}

/**
 * Polls the statuses of `ids` until none is PENDING/UNKNOWN or `seconds` have passed, showing
 * `label k/n` on a TTY. Returns the last status of every id, in `ids` order.
 */
export async function waitForBatches(
  client: ApiClient,
  ids: readonly string[],
  seconds: number,
  output: Output,
  label = "waiting for commit",
): Promise<BatchStatusView[]> {
  const clock = systemClock;
  const deadline = clock.monotonic() + seconds * 1000;
  const latest = new Map<string, BatchStatusView>();
  const progress = output.progress(label);
  try {
    for (;;) {
      const open = ids.filter((id) => !isFinal(latest.get(id)?.status ?? "PENDING"));
      const remainingMs = deadline - clock.monotonic();
      const started = clock.monotonic();
      const wait = Math.max(0, Math.min(MAX_POLL_SECONDS, Math.floor(remainingMs / 1000)));
      for (let i = 0; i < open.length; i += STATUS_CHUNK) {
        const chunk = open.slice(i, i + STATUS_CHUNK);
        for (const status of await client.batchStatuses(chunk, wait > 0 ? wait : undefined)) {
          latest.set(status.id, status);
        }
      }
      const done = ids.filter((id) => isFinal(latest.get(id)?.status ?? "PENDING")).length;
      progress.update(`${done}/${ids.length}`);
      if (done === ids.length || clock.monotonic() >= deadline) break;
      const elapsed = clock.monotonic() - started;
      if (elapsed < MIN_POLL_INTERVAL_MS) await clock.sleep(MIN_POLL_INTERVAL_MS - elapsed);
    }
  } finally {
    progress.done();
  }
  return ids.map(
    (id) => latest.get(id) ?? { id, status: "UNKNOWN" as const, invalidTransactions: [] },
  );
}

/** Throws `BATCH_INVALID` or `BATCH_TIMEOUT` unless every status is COMMITTED. */
export function assertCommitted(statuses: readonly BatchStatusView[], waitedSeconds: number): void {
  const invalid = statuses.find((s) => s.status === "INVALID");
  if (invalid) {
    const reason = invalid.invalidTransactions[0]?.message || "no reason given";
    throw cliError(
      CliErrorCode.BATCH_INVALID,
      `batch ${invalid.id.slice(0, 16)}… is INVALID: ${reason}`,
      {
        batchId: invalid.id,
      },
    );
  }
  const open = statuses.find((s) => s.status !== "COMMITTED");
  if (open) {
    throw cliError(
      CliErrorCode.BATCH_TIMEOUT,
      `batch ${open.id.slice(0, 16)}… is still ${open.status} after ${waitedSeconds} s (raise --wait, or check with \`govchain batch status\`)`,
      { batchId: open.id },
    );
  }
}

/** What `submitAndWait` reports. */
export interface SubmitResult {
  readonly batchIds: readonly string[];
  /** Undefined when not waiting. */
  readonly statuses: readonly BatchStatusView[] | undefined;
}

/**
 * Posts `batches` as one BatchList and, unless `wait` is false, waits for them and throws
 * unless all are COMMITTED.
 */
export async function submitAndWait(
  client: ApiClient,
  batches: readonly Batch[],
  wait: number | false,
  output: Output,
  label?: string,
): Promise<SubmitResult> {
  const batchIds = batches.map((b) => b.headerSignature);
  await client.submitBatches(encodeBatchList(batches));
  if (wait === false) return { batchIds, statuses: undefined };
  const statuses = await waitForBatches(client, batchIds, wait, output, label);
  assertCommitted(statuses, wait);
  return { batchIds, statuses };
}

/** Human lines describing a submission's outcome. */
export function describeSubmission(result: SubmitResult): string[] {
  if (result.statuses === undefined) {
    return result.batchIds.map((id) => `batch ${id} submitted (not waiting for commit)`);
  }
  return result.statuses.map((s) => `batch ${s.id} ${s.status}`);
}

/** JSON form of a submission's outcome. */
export function submissionJson(result: SubmitResult): unknown {
  return {
    batches: result.batchIds.map((id) => ({
      id,
      status: result.statuses?.find((s) => s.id === id)?.status ?? "SUBMITTED",
    })),
  };
}
