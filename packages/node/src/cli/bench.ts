/**
 * `govchain bench`: a load driver in the manner of Hyperledger Caliper (issue 5). By default it
 * starts a fresh local network of `--nodes` validators in a temporary directory, drives a
 * pre-signed workload into it, and removes it; `--target URL,…` drives a running network.
 * `--json` prints one object: `{tps, p50_ms, p99_ms, success_rate, cpu_us_per_tx, rss_mb,
 * conditions, …}`.
 */
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { type BenchReport, runBench, type WorkloadName } from "../bench/run.js";
import type { CommitThreshold } from "../bench/stats.js";
import type { SignatureAlgorithm, SuiteId } from "../crypto/interface.js";
import { type CliContext, integerIn } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";

interface BenchCliOptions {
  readonly nodes: number;
  readonly suite: SuiteId;
  readonly algorithm?: SignatureAlgorithm;
  readonly workload: WorkloadName;
  readonly transactions?: number;
  readonly rate?: number;
  readonly duration?: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly listSize: number;
  readonly commit: CommitThreshold;
  readonly warmup: number;
  readonly target?: string;
  readonly adminKey?: string;
  readonly ceiling: boolean;
  readonly out?: string;
}

const DEFAULT_TRANSACTIONS = 20_000;

function fraction(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw cliError(CliErrorCode.USAGE_ERROR, `expected a fraction between 0 and 1, not ${text}`);
  return value;
}

function humanLines(report: BenchReport): string[] {
  const c = report.conditions;
  const ceiling = report.ceiling
    ? `${report.ceiling.ratio} of the network ceiling ${report.ceiling.network_tps} tx/s (one core ${report.ceiling.one_core_tps})`
    : "not measured";
  const phases = report.phases
    .map((p) => `${p.phase} p50 ${p.p50_ms ?? "–"} ms / p99 ${p.p99_ms ?? "–"} ms`)
    .join(", ");
  return [
    `throughput   ${report.tps} committed tx/s over ${report.duration_s} s (${report.committed} of ${report.submitted} transactions)`,
    `latency      p50 ${report.p50_ms} ms, p90 ${report.p90_ms} ms, p99 ${report.p99_ms} ms, max ${report.max_ms} ms (commit: ${String(c.commit)})`,
    `success      ${(report.success_rate * 100).toFixed(2)} % (${report.refused} refused, ${report.invalid_batches} invalid batches)`,
    `ceiling      ${ceiling}`,
    `cpu          ${report.cpu_us_per_tx ?? "–"} µs per committed tx per validator; RSS max ${report.rss_mb ?? "–"} MB`,
    `consensus    ${phases}`,
    `conditions   ${String(c.nodes)} nodes, ${String(c.suite)}/${String(c.algorithm)}, ${String(c.workload)}, ${String(c.mode)}, batch ${String(c.batch_size)} tx, ${String(c.batches_per_post)} batches per POST`,
  ];
}

/** Registers `govchain bench`. */
export function registerBench(program: Command, ctx: CliContext): void {
  program
    .command("bench")
    .summary("measure throughput and latency of a local or running network")
    .description(
      "Signs a workload before the timed window, measures the ceiling micro-benchmark " +
        "(verify + hash + store on one core) in the same session, starts a fresh local network " +
        "of --nodes validators in a temporary directory (or drives --target nodes), warms up, " +
        "submits in closed loop (fixed backlog, --concurrency) or open loop (fixed --rate), and " +
        "reports committed tx/s, submit→commit latency on the --commit threshold of nodes, " +
        "success rate, CPU per committed tx per validator, RSS and per-phase consensus latency. " +
        "Only valid committed transactions count as throughput.",
    )
    .option("--nodes <n>", "validators of the fresh local network", integerIn(1, 64), 4)
    .addOption(
      new Option("--suite <suite>", "crypto suite").choices(["standard", "gm"]).default("standard"),
    )
    .addOption(
      new Option(
        "--algorithm <alg>",
        "client signature algorithm [default: the suite's first]",
      ).choices(["ed25519", "secp256k1", "sm2"]),
    )
    .addOption(
      new Option("--workload <name>", "intkey or trace (APSChain lots)")
        .choices(["intkey", "trace"])
        .default("intkey"),
    )
    .option(
      "--transactions <n>",
      `timed transactions [default: rate × duration in open loop, else ${DEFAULT_TRANSACTIONS}]`,
      integerIn(1, 10_000_000),
    )
    .option("--rate <tx/s>", "open loop: offered transactions per second", integerIn(1, 1_000_000))
    .option("--duration <s>", "open loop: seconds of offered load", integerIn(1, 3_600))
    .option("--concurrency <n>", "closed loop: POSTs in flight", integerIn(1, 1_024), 8)
    .option("--batch-size <n>", "transactions per batch", integerIn(1, 1_000), 1)
    .option("--list-size <n>", "batches per POST /batches", integerIn(1, 1_000), 20)
    .addOption(
      new Option("--commit <threshold>", "nodes a batch must be committed on: first, f+1, all")
        .choices(["first", "f+1", "all"])
        .default("f+1"),
    )
    .option(
      "--warmup <fraction>",
      "warm-up transactions as a fraction of the timed ones",
      fraction,
      0.05,
    )
    .option("--target <urls>", "drive running nodes (comma-separated REST URLs) instead")
    .option("--admin-key <file>", "a system administrator's key (trace workload with --target)")
    .option("--no-ceiling", "skip the ceiling micro-benchmark")
    .option("--out <file>", "also write the JSON report to this file")
    .action(async (opts: BenchCliOptions) => {
      if (opts.workload === "trace" && opts.target !== undefined && opts.adminKey === undefined) {
        throw cliError(
          CliErrorCode.USAGE_ERROR,
          "the trace workload on --target nodes needs --admin-key (a system administrator registers the benchmark organisation)",
        );
      }
      if (opts.duration !== undefined && opts.rate === undefined) {
        throw cliError(CliErrorCode.USAGE_ERROR, "--duration needs --rate (open loop)");
      }
      const transactions =
        opts.transactions ??
        (opts.rate !== undefined && opts.duration !== undefined
          ? opts.rate * opts.duration
          : DEFAULT_TRANSACTIONS);
      const progress = ctx.output.progress("bench");
      let report: BenchReport;
      try {
        report = await runBench({
          nodes: opts.nodes,
          suite: opts.suite,
          ...(opts.algorithm ? { algorithm: opts.algorithm } : {}),
          workload: opts.workload,
          transactions,
          batchSize: opts.batchSize,
          listSize: opts.listSize,
          mode:
            opts.rate !== undefined
              ? { kind: "open", ratePerSecond: opts.rate }
              : { kind: "closed", concurrency: opts.concurrency },
          commit: opts.commit,
          warmup: opts.warmup,
          ...(opts.target
            ? {
                targets: opts.target
                  .split(",")
                  .map((u) => u.trim())
                  .filter((u) => u !== ""),
              }
            : {}),
          ...(opts.adminKey ? { adminKeyPath: ctx.path(opts.adminKey) } : {}),
          ceiling: opts.ceiling,
          onProgress: (text) => progress.update(text),
        });
      } finally {
        progress.done();
      }
      if (opts.out) await writeFile(ctx.path(opts.out), `${JSON.stringify(report, null, 2)}\n`);
      ctx.output.result(humanLines(report), report);
    });
}
