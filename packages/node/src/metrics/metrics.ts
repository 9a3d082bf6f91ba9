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
  readonly consensusPhaseSeconds: Histogram<"phase">;
  readonly viewChanges: Counter;
  readonly consensusView: Gauge;
  readonly checkpointLag: Gauge;
  readonly peerRttSeconds: Gauge<"peer">;
  readonly peersConnected: Gauge;
  /** State-snapshot attempts by outcome (`installed`, `failed`). */
  readonly stateSyncs: Counter<"outcome">;
  /** State nodes of snapshots: `transferred`, `present` (found locally), `rejected` (bad). */
  readonly stateSyncNodes: Counter<"result">;
  readonly stateSyncBytes: Counter;
  /** Blocks stored below a snapshot without being executed. */
  readonly stateSyncBlocks: Counter;
  readonly stateSyncSeconds: Histogram<"outcome">;
  /** Height of the last installed snapshot: state and receipts are held from there on. */
  readonly stateSyncCheckpoint: Gauge;
}

/** Sources the gauges read when scraped. */
export interface MetricsSources {
  readonly height: () => number;
  readonly mempool: () => { size: number; bytes: number };
  /** Consensus view and the distance from the head to the stable checkpoint (PBFT). */
  readonly consensus?: () => { view: number; checkpointLag: number } | undefined;
  /** Connected peers with their round-trip times. */
  readonly peers?: () => readonly { id: string; connected: boolean; rttMs: number | undefined }[];
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
    consensusPhaseSeconds: new Histogram({
      name: "govchain_consensus_phase_seconds",
      help: "Time from a block's proposal (pre-prepare) to each later phase: prepared, decided (commit quorum), executed (committed to the store)",
      labelNames: ["phase"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    viewChanges: new Counter({
      name: "govchain_consensus_view_changes_total",
      help: "Views entered after view changes",
      registers,
    }),
    consensusView: new Gauge({
      name: "govchain_consensus_view",
      help: "Current consensus view",
      registers,
      collect() {
        const c = sources.consensus?.();
        if (c) this.set(c.view);
      },
    }),
    checkpointLag: new Gauge({
      name: "govchain_consensus_checkpoint_lag_blocks",
      help: "Blocks committed since the last stable checkpoint",
      registers,
      collect() {
        const c = sources.consensus?.();
        if (c) this.set(c.checkpointLag);
      },
    }),
    peerRttSeconds: new Gauge({
      name: "govchain_peer_rtt_seconds",
      help: "Last heartbeat round-trip time to each connected peer",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        for (const p of sources.peers?.() ?? [])
          if (p.connected && p.rttMs !== undefined) this.set({ peer: p.id }, p.rttMs / 1000);
      },
    }),
    peersConnected: new Gauge({
      name: "govchain_peers_connected",
      help: "Peers with an authenticated connection",
      registers,
      collect() {
        this.set((sources.peers?.() ?? []).filter((p) => p.connected).length);
      },
    }),
    stateSyncs: new Counter({
      name: "govchain_state_syncs_total",
      help: "Catch-ups by state snapshot, by outcome (installed, failed)",
      labelNames: ["outcome"],
      registers,
    }),
    stateSyncNodes: new Counter({
      name: "govchain_state_sync_nodes_total",
      help: "State nodes of snapshots: transferred from peers, present locally (each stands for its subtree, not walked), rejected (wrong hash or encoding)",
      labelNames: ["result"],
      registers,
    }),
    stateSyncBytes: new Counter({
      name: "govchain_state_sync_bytes_total",
      help: "Bytes of state nodes transferred by snapshots",
      registers,
    }),
    stateSyncBlocks: new Counter({
      name: "govchain_state_sync_blocks_total",
      help: "Blocks below a snapshot's checkpoint stored without being executed",
      registers,
    }),
    stateSyncSeconds: new Histogram({
      name: "govchain_state_sync_seconds",
      help: "Duration of catch-ups by state snapshot, by outcome",
      labelNames: ["outcome"],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    stateSyncCheckpoint: new Gauge({
      name: "govchain_state_sync_checkpoint_height",
      help: "Checkpoint of the last installed state snapshot (this run): the blocks below it were stored without execution, with no receipts and no state",
      registers,
    }),
  };
}
