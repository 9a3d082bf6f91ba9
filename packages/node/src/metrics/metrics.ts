/**
 * The node's Prometheus metrics. One registry per node (not prom-client's global one), so
 * several nodes can run in one process in tests. Names carry their units.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The metrics every node exports at `/metrics`. */
export interface NodeMetrics {
  readonly registry: Registry;
  readonly blocksCommitted: Counter;
  readonly transactionsCommitted: Counter;
  readonly batchesCommitted: Counter;
  readonly batchesInvalid: Counter;
  readonly batchesAdmitted: Counter;
  readonly submissionsRejected: Counter<"code">;
  readonly blockTransactions: Histogram;
  readonly blockBuildSeconds: Histogram;
  readonly blockCommitSeconds: Histogram;
  readonly chainHeight: Gauge;
  readonly mempoolBatches: Gauge;
  readonly mempoolBytes: Gauge;
}

/** Sources the gauges read when scraped. */
export interface MetricsSources {
  readonly height: () => number;
  readonly mempool: () => { size: number; bytes: number };
}

/** Creates a registry with default process metrics (incl. event-loop lag) and the node's own. */
export function createNodeMetrics(
  sources: MetricsSources,
  labels: Record<string, string> = {},
): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const registers = [registry];
  return {
    registry,
    blocksCommitted: new Counter({
      name: "govchain_blocks_committed_total",
      help: "Blocks committed",
      registers,
    }),
    transactionsCommitted: new Counter({
      name: "govchain_transactions_committed_total",
      help: "Valid transactions committed",
      registers,
    }),
    batchesCommitted: new Counter({
      name: "govchain_batches_committed_total",
      help: "Batches committed",
      registers,
    }),
    batchesInvalid: new Counter({
      name: "govchain_batches_invalid_total",
      help: "Batches rejected at execution",
      registers,
    }),
    batchesAdmitted: new Counter({
      name: "govchain_batches_admitted_total",
      help: "Batches accepted into the mempool",
      registers,
    }),
    submissionsRejected: new Counter({
      name: "govchain_submissions_rejected_total",
      help: "Batch submissions refused at admission, by error code",
      labelNames: ["code"],
      registers,
    }),
    blockTransactions: new Histogram({
      name: "govchain_block_transactions",
      help: "Transactions per committed block",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers,
    }),
    blockBuildSeconds: new Histogram({
      name: "govchain_block_build_seconds",
      help: "Time to select and execute a candidate block",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    blockCommitSeconds: new Histogram({
      name: "govchain_block_commit_seconds",
      help: "Time to persist a committed block (one synced write)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    chainHeight: new Gauge({
      name: "govchain_chain_height",
      help: "Height of the committed head",
      registers,
      collect() {
        this.set(sources.height());
      },
    }),
    mempoolBatches: new Gauge({
      name: "govchain_mempool_batches",
      help: "Batches waiting in the mempool",
      registers,
      collect() {
        this.set(sources.mempool().size);
      },
    }),
    mempoolBytes: new Gauge({
      name: "govchain_mempool_bytes",
      help: "Bytes waiting in the mempool",
      registers,
      collect() {
        this.set(sources.mempool().bytes);
      },
    }),
  };
}
