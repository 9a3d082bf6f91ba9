/**
 * One `govchain bench` run: sign the workload, measure the ceiling in the same session, start a
 * fresh local network (or use running nodes), warm up, drive the timed window, and read the
 * nodes' own metrics before and after it for CPU, memory and per-phase consensus latency.
 *
 * Counting, stated in every report's conditions: throughput counts valid committed
 * transactions only (Caliper counts failed ones too); a submission refused by a node (any
 * answer but 202) or a batch the chain marks invalid is a failure, lowering `success_rate`.
 */
import { cpus, loadavg } from "node:os";
import { loadKey } from "../cli/context.js";
import { getSuite } from "../crypto/index.js";
import type { SignatureAlgorithm, SuiteId } from "../crypto/interface.js";
import { measureCeiling } from "./ceiling.js";
import { drive } from "./driver.js";
import { startLocalNetwork } from "./local-network.js";
import {
  histogramDelta,
  histogramOf,
  histogramQuantile,
  type PromSample,
  parsePrometheusText,
  sampleValue,
} from "./prometheus.js";
import { type CommitThreshold, commitQuorum, networkCeilingTps, round } from "./stats.js";
import { createTraceWorkload } from "./trace-workload.js";
import { createIntkeyWorkload, type PreparedList } from "./workload.js";

export type WorkloadName = "intkey" | "trace";

/** What to run. */
export interface BenchOptions {
  /** Validators of the fresh local network (ignored with `targets`). */
  readonly nodes: number;
  readonly suite: SuiteId;
  /** Client signature algorithm; default the suite's first (Ed25519, SM2). */
  readonly algorithm?: SignatureAlgorithm;
  readonly workload: WorkloadName;
  /** Timed transactions (the warm-up comes on top). */
  readonly transactions: number;
  readonly batchSize: number;
  /** Batches per `POST /batches`. */
  readonly listSize: number;
  readonly mode:
    | { readonly kind: "closed"; readonly concurrency: number }
    | { readonly kind: "open"; readonly ratePerSecond: number };
  readonly commit: CommitThreshold;
  /** Warm-up transactions before the timed window, as a fraction of `transactions`. */
  readonly warmup: number;
  /** Drive these running nodes instead of a fresh network. */
  readonly targets?: readonly string[];
  /** A system administrator's key file, for the trace workload on `targets`. */
  readonly adminKeyPath?: string;
  /** Measure the ceiling micro-benchmark (default true). */
  readonly ceiling?: boolean;
  /** Progress lines (stage changes and a count about once a second). */
  readonly onProgress?: (text: string) => void;
}

/** Per-phase consensus latency over the timed window, milliseconds (from node histograms). */
export interface PhaseLatency {
  readonly phase: string;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly mean_ms: number | null;
}

/** The result: the fields the issue asks for first, then detail. */
export interface BenchReport {
  readonly tps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly success_rate: number;
  /** Mean over validators of (validator CPU time in the window) / (committed transactions). */
  readonly cpu_us_per_tx: number | null;
  /** Largest validator RSS at the end of the window. */
  readonly rss_mb: number | null;
  readonly conditions: Readonly<Record<string, unknown>>;
  readonly p90_ms: number;
  readonly max_ms: number;
  readonly committed: number;
  readonly submitted: number;
  readonly refused: number;
  readonly invalid_batches: number;
  readonly duration_s: number;
  readonly responses: Readonly<Record<string, number>>;
  readonly ceiling: {
    readonly one_core_tps: number;
    readonly network_tps: number;
    readonly ratio: number;
  } | null;
  readonly phases: readonly PhaseLatency[];
  readonly per_node: readonly {
    readonly id: string;
    readonly cpu_us_per_tx: number | null;
    readonly rss_mb: number | null;
    readonly view_changes: number | null;
  }[];
}

async function scrape(url: string): Promise<PromSample[]> {
  const response = await fetch(new URL("/metrics", url), { signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  return parsePrometheusText(await response.text());
}

async function nodeIdOf(url: string): Promise<string> {
  try {
    const response = await fetch(new URL("/v1/status", url), {
      signal: AbortSignal.timeout(10_000),
    });
    const status = (await response.json()) as { nodeId?: string };
    return status.nodeId ?? url;
  } catch {
    return url;
  }
}

const PHASES = ["prepared", "decided", "executed"] as const;

function sign(
  options: BenchOptions,
  transactions: number,
  systemAdmin: Parameters<typeof createTraceWorkload>[0]["systemAdmin"] | undefined,
): { setup: readonly PreparedList[]; lists: PreparedList[] } {
  const suite = getSuite(options.suite);
  if (options.workload === "intkey") {
    return {
      setup: [],
      lists: createIntkeyWorkload({
        suite,
        ...(options.algorithm ? { algorithm: options.algorithm } : {}),
        transactions,
        batchSize: options.batchSize,
        listSize: options.listSize,
      }),
    };
  }
  if (!systemAdmin) throw new Error("the trace workload needs a system administrator's key");
  return createTraceWorkload({
    suite,
    systemAdmin,
    transactions,
    batchSize: options.batchSize,
    listSize: options.listSize,
  });
}

/** Runs one benchmark and returns its report. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const say = options.onProgress ?? (() => {});
  const suite = getSuite(options.suite);
  // Whole lists, so that exactly `transactions` are timed.
  const perList = options.batchSize * options.listSize;
  const warmTransactions = Math.ceil((options.transactions * options.warmup) / perList) * perList;

  let ceilingTps: number | undefined;
  if (options.ceiling !== false) {
    say("measuring the ceiling (verify + hash + store, one core)");
    const sample = createIntkeyWorkload({
      suite,
      ...(options.algorithm ? { algorithm: options.algorithm } : {}),
      transactions: 4_000,
      batchSize: options.batchSize,
      listSize: options.listSize,
    });
    ceilingTps = (await measureCeiling(sample, suite)).tps;
  }

  if (!options.targets) say(`starting ${options.nodes} node${options.nodes === 1 ? "" : "s"}`);
  const network = options.targets
    ? undefined
    : await startLocalNetwork({ nodes: options.nodes, suite: options.suite });
  try {
    const targets = options.targets ?? network?.nodes.map((n) => n.rest) ?? [];
    if (targets.length === 0) throw new Error("no node to drive");
    const adminKeyPath = options.adminKeyPath ?? network?.adminKeyPath;
    const systemAdmin =
      options.workload === "trace" && adminKeyPath !== undefined
        ? (await loadKey(adminKeyPath)).signer
        : undefined;
    say(`signing ${options.transactions + warmTransactions} transactions`);
    const { setup, lists } = sign(options, options.transactions + warmTransactions, systemAdmin);
    const quorum = commitQuorum(options.commit, targets.length);

    for (const [i, stage] of setup.entries()) {
      say(`set-up stage ${i + 1} of ${setup.length}`);
      const result = await drive({
        targets: [targets[0] as string],
        watch: targets,
        commitQuorum: targets.length,
        lists: [stage],
        mode: { kind: "closed", concurrency: 1 },
      });
      if (result.committedTransactions !== stage.transactions) {
        throw new Error(
          `set-up stage ${i + 1} did not commit (responses ${JSON.stringify(result.responses)}, ${result.invalidBatches} invalid)`,
        );
      }
    }

    // Warm-up: JIT, caches and connections, on lists that are not timed.
    let warmLists = 0;
    for (let n = 0; n < warmTransactions && warmLists < lists.length; warmLists++)
      n += (lists[warmLists] as PreparedList).transactions;
    if (warmLists > 0) {
      say(`warming up (${warmTransactions} transactions)`);
      await drive({
        targets,
        watch: targets,
        commitQuorum: quorum,
        lists: lists.slice(0, warmLists),
        mode: options.mode,
      });
    }

    const ids = await Promise.all(targets.map(nodeIdOf));
    const before = await Promise.all(targets.map(scrape));
    const loadBefore = loadavg();
    say("timed window");
    const run = await drive({
      targets,
      watch: targets,
      commitQuorum: quorum,
      lists: lists.slice(warmLists),
      mode: options.mode,
      onProgress: (committed, submitted) =>
        say(`committed ${committed} / submitted ${submitted} transactions`),
    });
    const after = await Promise.all(targets.map(scrape));

    const perNode = targets.map((_, i) => {
      const b = before[i] as PromSample[];
      const a = after[i] as PromSample[];
      const cpuBefore = sampleValue(b, "process_cpu_seconds_total");
      const cpuAfter = sampleValue(a, "process_cpu_seconds_total");
      const rss = sampleValue(a, "process_resident_memory_bytes");
      const vcBefore = sampleValue(b, "govchain_consensus_view_changes_total");
      const vcAfter = sampleValue(a, "govchain_consensus_view_changes_total");
      return {
        id: ids[i] as string,
        cpu_us_per_tx:
          cpuBefore !== undefined && cpuAfter !== undefined && run.committedTransactions > 0
            ? round(((cpuAfter - cpuBefore) * 1e6) / run.committedTransactions, 1)
            : null,
        rss_mb: rss === undefined ? null : round(rss / 2 ** 20),
        view_changes: vcBefore !== undefined && vcAfter !== undefined ? vcAfter - vcBefore : null,
      };
    });
    const cpuFigures = perNode.flatMap((n) => (n.cpu_us_per_tx === null ? [] : [n.cpu_us_per_tx]));
    const rssFigures = perNode.flatMap((n) => (n.rss_mb === null ? [] : [n.rss_mb]));
    const phases = PHASES.map((phase) => {
      const delta = histogramDelta(
        histogramOf(before.flat(), "govchain_consensus_phase_seconds", { phase }),
        histogramOf(after.flat(), "govchain_consensus_phase_seconds", { phase }),
      );
      const q = (x: number) => {
        const v = histogramQuantile(delta, x);
        return v === undefined ? null : round(v * 1000, 1);
      };
      return {
        phase,
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        mean_ms: delta.count > 0 ? round((delta.sum / delta.count) * 1000, 1) : null,
      };
    });

    const cores = cpus().length;
    const networkCeiling =
      ceilingTps === undefined ? undefined : networkCeilingTps(ceilingTps, cores, targets.length);
    const mode =
      options.mode.kind === "closed"
        ? `closed loop, ${options.mode.concurrency} POSTs in flight`
        : `open loop, ${options.mode.ratePerSecond} tx/s offered`;
    return {
      tps: round(run.tps),
      p50_ms: round(run.latencyMs.p50, 1),
      p99_ms: round(run.latencyMs.p99, 1),
      success_rate: round(run.successRate, 4),
      cpu_us_per_tx:
        cpuFigures.length > 0
          ? round(cpuFigures.reduce((s, v) => s + v, 0) / cpuFigures.length, 1)
          : null,
      rss_mb: rssFigures.length > 0 ? Math.max(...rssFigures) : null,
      conditions: {
        date: new Date().toISOString(),
        machine: `${cores} × ${cpus()[0]?.model ?? "cpu"}`,
        node: process.version,
        loadavg_before: loadBefore.map((l) => round(l, 2)),
        nodes: targets.length,
        network: options.targets ? "running network (--target)" : "fresh local network",
        suite: options.suite,
        algorithm: options.algorithm ?? suite.algorithms[0],
        workload:
          options.workload === "intkey"
            ? "intkey set on distinct names (Sawtooth intkey payloads)"
            : "APSChain create_lot on distinct lots (registered organisation administrators)",
        batch_size: options.batchSize,
        batches_per_post: options.listSize,
        mode,
        transactions: run.submittedTransactions,
        warmup_transactions: warmTransactions,
        commit: `${options.commit} (${quorum} of ${targets.length} nodes)`,
        latency: "submit → block-commit event (/v1/events) from the commit threshold of nodes",
        throughput:
          "valid committed transactions only; refused submissions and invalid batches lower success_rate",
        client: "this process on the same machine; every transaction signed before the window",
        cpu: "process_cpu_seconds_total of each validator over the window / committed tx",
        ceiling:
          "one core: decode + verify + hash + LevelDB store in blocks of 1,000, same session; network ceiling = one-core × min(cores, nodes) / nodes",
      },
      p90_ms: round(run.latencyMs.p90, 1),
      max_ms: round(run.latencyMs.max, 1),
      committed: run.committedTransactions,
      submitted: run.submittedTransactions,
      refused: run.refusedTransactions,
      invalid_batches: run.invalidBatches,
      duration_s: round(run.durationSeconds, 2),
      responses: run.responses,
      ceiling:
        ceilingTps === undefined || networkCeiling === undefined
          ? null
          : {
              one_core_tps: round(ceilingTps),
              network_tps: round(networkCeiling),
              ratio: round(run.tps / networkCeiling, 3),
            },
      phases,
      per_node: perNode,
    };
  } finally {
    if (network) {
      say("stopping the network");
      await network.stop();
    }
  }
}
