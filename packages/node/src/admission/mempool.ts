/**
 * The mempool: admitted batches waiting for a block, in arrival order. It is bounded by batch
 * count and bytes; when full, admission answers 429 with a Retry-After estimated from how fast
 * blocks have been draining it. Batches selected into a candidate block are "in flight": they
 * stay here (their status is PENDING) but are not offered again until the block commits
 * (removed) or is abandoned (released).
 */
import type { Clock } from "../common/clock.js";
import { GovchainError } from "../common/errors.js";
import type { ParsedBatch } from "../wire/types.js";

/** Options of `createMempool`. */
export interface MempoolOptions {
  readonly clock: Clock;
  /** Maximum number of batches; default 20,000. */
  readonly maxBatches?: number;
  /** Maximum total encoded size; default 64 MiB. */
  readonly maxBytes?: number;
}

/** Thrown when the mempool cannot take more batches. */
export class QueueFullError extends GovchainError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, context: Record<string, unknown>) {
    super("QUEUE_FULL", `the node's batch queue is full; retry in ${retryAfterSeconds} s`, context);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Limits of one selection for a block. */
export interface SelectionLimits {
  readonly maxBatches: number;
  readonly maxBytes: number;
  readonly maxTransactions?: number;
}

/** Pending batches. */
export interface Mempool {
  /** Number of batches held (including in-flight ones). */
  readonly size: number;
  /** Total encoded bytes held. */
  readonly bytes: number;
  /** Number of batches available for selection (not in flight). */
  readonly available: number;
  has(batchId: string): boolean;
  /** True when a held batch contains `transactionId`. */
  hasTransaction(transactionId: string): boolean;
  get(batchId: string): ParsedBatch | undefined;
  /**
   * Adds batches atomically: all or none. Throws `QueueFullError` when they do not fit, and
   * `GovchainError` `ALREADY_PENDING` when a batch or transaction id is already held.
   */
  add(batches: readonly ParsedBatch[]): void;
  /** The oldest available batches within `limits`, marked in flight. */
  take(limits: SelectionLimits): ParsedBatch[];
  /**
   * Marks the held batches among `batchIds` in flight (a replica validating another node's
   * block), so this node does not propose them itself meanwhile. Every `take` and `claim` of a
   * batch is one hold, ended by one `release`: a batch several candidate blocks hold (its own
   * proposal from a stale view and another primary's block) stays in flight until all of them
   * are dropped — else proposing on top of the other block would include it twice.
   */
  claim(batchIds: readonly string[]): void;
  /**
   * Ends one hold on each of `batchIds`; a batch no candidate holds any more returns to the
   * available queue, in its original order.
   */
  release(batchIds: readonly string[]): void;
  /** Drops batches for good (committed or invalid). */
  remove(batchIds: readonly string[]): void;
  /** Seconds a client should wait before retrying when the queue is full. */
  retryAfterSeconds(): number;
  /**
   * Calls `listener` whenever the set of available batches may have changed (batches added,
   * released or removed); returns an unsubscribe function.
   */
  onAvailable(listener: () => void): () => void;
}

interface Entry {
  readonly batch: ParsedBatch;
  readonly seq: number;
  /** Candidate blocks holding the batch (`take` and `claim`); in flight while above zero. */
  holds: number;
}

/** Creates an empty mempool. */
export function createMempool(options: MempoolOptions): Mempool {
  const maxBatches = options.maxBatches ?? 20_000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const { clock } = options;

  // Map iteration order is insertion order, which is arrival order; released batches are
  // re-inserted by sequence number so a retried block sees the same order.
  let entries = new Map<string, Entry>();
  const transactions = new Set<string>();
  const listeners = new Set<() => void>();
  let bytes = 0;
  let inFlight = 0;
  let seq = 0;
  // Drain rate estimate (batches per second), an exponential moving average over removals.
  let drainRate = 0;
  let lastDrainAt = clock.monotonic();

  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };

  return {
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
    get available() {
      return entries.size - inFlight;
    },
    has: (id) => entries.has(id),
    hasTransaction: (id) => transactions.has(id),
    get: (id) => entries.get(id)?.batch,

    add(batches) {
      let addBytes = 0;
      const seen = new Set<string>();
      for (const batch of batches) {
        if (entries.has(batch.id) || seen.has(batch.id)) {
          throw new GovchainError("ALREADY_PENDING", `batch ${batch.id} is already pending`, {
            batchId: batch.id,
          });
        }
        seen.add(batch.id);
        for (const tx of batch.transactions) {
          if (transactions.has(tx.id)) {
            throw new GovchainError(
              "ALREADY_PENDING",
              `transaction ${tx.id} is already pending in another batch`,
              {
                batchId: batch.id,
                transactionId: tx.id,
              },
            );
          }
        }
        addBytes += batch.size;
      }
      if (entries.size + batches.length > maxBatches || bytes + addBytes > maxBytes) {
        throw new QueueFullError(this.retryAfterSeconds(), {
          pendingBatches: entries.size,
          pendingBytes: bytes,
        });
      }
      for (const batch of batches) {
        entries.set(batch.id, { batch, seq: seq++, holds: 0 });
        for (const tx of batch.transactions) transactions.add(tx.id);
      }
      bytes += addBytes;
      if (batches.length > 0) notify();
    },

    take(limits) {
      const out: ParsedBatch[] = [];
      let size = 0;
      let txs = 0;
      const maxTransactions = limits.maxTransactions ?? Number.POSITIVE_INFINITY;
      for (const entry of entries.values()) {
        if (out.length >= limits.maxBatches) break;
        if (entry.holds > 0) continue;
        const { batch } = entry;
        if (
          out.length > 0 &&
          (size + batch.size > limits.maxBytes || txs + batch.transactions.length > maxTransactions)
        )
          break;
        entry.holds = 1;
        inFlight++;
        size += batch.size;
        txs += batch.transactions.length;
        out.push(batch);
      }
      return out;
    },

    claim(batchIds) {
      for (const id of batchIds) {
        const entry = entries.get(id);
        if (!entry) continue;
        if (entry.holds === 0) inFlight++;
        entry.holds++;
      }
    },

    release(batchIds) {
      let changed = false;
      for (const id of batchIds) {
        const entry = entries.get(id);
        if (entry && entry.holds > 0) {
          entry.holds--;
          if (entry.holds === 0) {
            inFlight--;
            changed = true;
          }
        }
      }
      if (changed) {
        entries = new Map([...entries.entries()].sort((a, b) => a[1].seq - b[1].seq));
        notify();
      }
    },

    remove(batchIds) {
      let removed = 0;
      for (const id of batchIds) {
        const entry = entries.get(id);
        if (!entry) continue;
        entries.delete(id);
        if (entry.holds > 0) inFlight--;
        bytes -= entry.batch.size;
        for (const tx of entry.batch.transactions) transactions.delete(tx.id);
        removed++;
      }
      if (removed > 0) {
        notify(); // waiters on "is there work" learn when there is less
        const now = clock.monotonic();
        const seconds = Math.max((now - lastDrainAt) / 1000, 0.001);
        lastDrainAt = now;
        const rate = removed / seconds;
        drainRate = drainRate === 0 ? rate : 0.8 * drainRate + 0.2 * rate;
      }
    },

    retryAfterSeconds() {
      // Time for the current backlog to drain by a tenth of the limit, within [1, 60] s.
      if (drainRate <= 0) return 5;
      const seconds = Math.ceil(Math.max(maxBatches / 10, 1) / drainRate);
      return Math.min(60, Math.max(1, seconds));
    },

    onAvailable(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
