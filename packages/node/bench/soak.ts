/**
 * P11 soak: validator memory under steady load for a long window (docs/benchmarks/README.md).
 *
 * Starts a fresh 4-validator local network (`govchain up`, as `govchain bench` does), commits
 * `--warmup-transactions` as fast as they go (closed loop), then offers pre-signed intkey
 * transactions at a fixed rate (open loop) for `--seconds`, sampling every validator's
 * `/metrics` and `/proc/PID/status` every `--every` seconds throughout: resident set size split
 * into anonymous and file-backed pages, V8 heap used and total, external memory, block height.
 *
 * The warm-up matters: a validator's caches are bounded (state nodes 64 MiB, decoded blocks
 * 16 MiB, opened consensus frames 32 MiB) but start empty, and filling them on a fresh network
 * looks like growth. Growth is measured per validator as the median RSS of the soak's last
 * minute against the median of its second minute; the reported growth is the largest over the
 * validators. Heap used saw-tooths between collections, so its medians over the same windows
 * are reported beside it. File-backed pages are mostly LevelDB's memory-mapped table files:
 * page cache the kernel reclaims under pressure, growing with the database, not with leaks.
 *
 *   npx tsx packages/node/bench/soak.ts [--seconds 600] [--rate 50] [--batch-size 1]
 *     [--warmup-transactions 100000] [--every 10] [--json] [--out docs/benchmarks]
 *
 * Progress goes to stderr; `--out <dir>` writes `<dir>/soak.json`.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { drive } from "../src/bench/driver.js";
import { startLocalNetwork } from "../src/bench/local-network.js";
import { sampleProcess } from "../src/bench/process-stats.js";
import { parsePrometheusText, sampleValue } from "../src/bench/prometheus.js";
import { createIntkeyWorkload } from "../src/bench/workload.js";
import { getSuite } from "../src/crypto/index.js";
import { median, runConditions } from "./support.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "600" },
    rate: { type: "string", default: "50" },
    "batch-size": { type: "string", default: "1" },
    every: { type: "string", default: "10" },
    "warmup-transactions": { type: "string", default: "100000" },
    json: { type: "boolean", default: false },
    out: { type: "string" },
  },
  strict: true,
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const BATCH_SIZE = Number(args["batch-size"]);
const EVERY_S = Number(args.every);
const WARMUP_TRANSACTIONS = Number(args["warmup-transactions"]);
for (const [name, value] of Object.entries({ SECONDS, RATE, BATCH_SIZE, EVERY_S }))
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
if (!Number.isInteger(WARMUP_TRANSACTIONS) || WARMUP_TRANSACTIONS < 0)
  throw new Error("--warmup-transactions must be a whole number");
if (SECONDS < 180) throw new Error("--seconds must be at least 180 (warm-up, baseline, end)");

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

interface Sample {
  readonly t_s: number;
  readonly node: string;
  readonly rss_mb: number;
  /** Anonymous resident memory (heap, buffers, native allocations): what the process owns. */
  readonly rss_anon_mb: number | null;
  /**
   * File-backed resident pages: the node binary and LevelDB's table files, which LevelDB maps
   * into memory (up to 1,000 of them). Page cache the kernel reclaims under pressure; it grows
   * with the size of the chain's database, not with leaks.
   */
  readonly rss_file_mb: number | null;
  readonly heap_used_mb: number;
  readonly heap_total_mb: number;
  readonly external_mb: number;
  readonly height: number;
}

async function sampleNode(
  node: string,
  pid: number,
  url: string,
  tS: number,
): Promise<Sample | undefined> {
  try {
    const memory = await sampleProcess(pid);
    const response = await fetch(new URL("/metrics", url), { signal: AbortSignal.timeout(10_000) });
    const metrics = parsePrometheusText(await response.text());
    const value = (name: string): number => sampleValue(metrics, name) ?? Number.NaN;
    const status = (await (
      await fetch(new URL("/v1/status", url), { signal: AbortSignal.timeout(10_000) })
    ).json()) as { height?: string | number };
    return {
      t_s: tS,
      node,
      rss_mb: mb(value("process_resident_memory_bytes")),
      rss_anon_mb: memory ? mb(memory.rssAnonBytes) : null,
      rss_file_mb: memory ? mb(memory.rssFileBytes) : null,
      heap_used_mb: mb(value("nodejs_heap_size_used_bytes")),
      heap_total_mb: mb(value("nodejs_heap_size_total_bytes")),
      external_mb: mb(value("nodejs_external_memory_bytes")),
      height: Number(status.height ?? Number.NaN),
    };
  } catch (error) {
    say(`  ${node}: sample failed (${(error as Error).message})`);
    return undefined;
  }
}

const started = new Date();
say(`signing ${WARMUP_TRANSACTIONS} warm-up and ${RATE * SECONDS} soak intkey transactions …`);
const warmup =
  WARMUP_TRANSACTIONS > 0
    ? createIntkeyWorkload({
        suite: getSuite("standard"),
        transactions: WARMUP_TRANSACTIONS,
        batchSize: 100,
        listSize: 4,
      })
    : [];
const lists = createIntkeyWorkload({
  suite: getSuite("standard"),
  transactions: RATE * SECONDS,
  batchSize: BATCH_SIZE,
  listSize: 1,
});
say("starting a 4-validator network …");
const network = await startLocalNetwork({ nodes: 4, suite: "standard" });
const stopOnSignal = (): void => {
  void network.stop().finally(() => process.exit(130));
};
process.once("SIGINT", stopOnSignal);
process.once("SIGTERM", stopOnSignal);

const samples: Sample[] = [];
let result: Awaited<ReturnType<typeof drive>>;
/** Seconds after the network started at which the soak's open loop began. */
let soakStartS = 0;
try {
  const urls = network.nodes.map((n) => n.rest);
  const t0 = performance.now();
  let sampling = true;
  const sampler = (async () => {
    for (let tick = 1; sampling; tick++) {
      const tS = Math.round((performance.now() - t0) / 100) / 10;
      const round = await Promise.all(
        network.nodes.map((n) => sampleNode(n.id, n.pid, n.rest, tS)),
      );
      for (const s of round) if (s) samples.push(s);
      const rss = round.map((s) => (s ? `${s.rss_mb} (anon ${s.rss_anon_mb})` : "?")).join(" / ");
      say(`  t = ${tS} s: RSS ${rss} MB, height ${round[0]?.height ?? "?"}`);
      const next = t0 + tick * EVERY_S * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
  })();
  if (warmup.length > 0) {
    say(`warm-up: ${WARMUP_TRANSACTIONS} transactions as fast as they commit …`);
    const warm = await drive({
      targets: urls,
      commitQuorum: 1,
      lists: warmup,
      mode: { kind: "closed", concurrency: 4 },
    });
    say(`warm-up done: ${warm.committedTransactions} committed at ${Math.round(warm.tps)} tx/s`);
  }
  soakStartS = (performance.now() - t0) / 1000;
  result = await drive({
    targets: urls,
    commitQuorum: 1,
    lists,
    mode: { kind: "open", ratePerSecond: RATE },
  });
  sampling = false;
  await sampler;
} finally {
  await network.stop();
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const nodes = [...new Set(samples.map((s) => s.node))];
const window = (node: string, from: number, to: number) =>
  samples.filter((s) => s.node === node && s.t_s >= from && s.t_s < to);
const end = Math.max(...samples.map((s) => s.t_s));
const perNode = nodes.map((node) => {
  const baseline = window(node, soakStartS + 60, soakStartS + 120);
  const last = window(node, end - 60, end + 1);
  const rssFrom = r1(median(baseline.map((s) => s.rss_mb)));
  const rssTo = r1(median(last.map((s) => s.rss_mb)));
  const anonFrom = r1(median(baseline.map((s) => s.rss_anon_mb ?? Number.NaN)));
  const anonTo = r1(median(last.map((s) => s.rss_anon_mb ?? Number.NaN)));
  const heapFrom = r1(median(baseline.map((s) => s.heap_used_mb)));
  const heapTo = r1(median(last.map((s) => s.heap_used_mb)));
  return {
    node,
    rss_baseline_mb: rssFrom,
    rss_end_mb: rssTo,
    rss_max_mb: Math.max(...samples.filter((s) => s.node === node).map((s) => s.rss_mb)),
    growth_pct: Math.round(((rssTo - rssFrom) / rssFrom) * 1000) / 10,
    rss_anon_baseline_mb: anonFrom,
    rss_anon_end_mb: anonTo,
    anon_growth_pct: Math.round(((anonTo - anonFrom) / anonFrom) * 1000) / 10,
    rss_file_end_mb: r1(median(last.map((s) => s.rss_file_mb ?? Number.NaN))),
    heap_used_baseline_mb: heapFrom,
    heap_used_end_mb: heapTo,
    heap_growth_pct: Math.round(((heapTo - heapFrom) / heapFrom) * 1000) / 10,
  };
});
const growth = Math.max(...perNode.map((n) => n.growth_pct));
const anonGrowth = Math.max(...perNode.map((n) => n.anon_growth_pct));
const rssMax = Math.max(...perNode.map((n) => n.rss_max_mb));

const output = {
  seconds: Math.round(end - soakStartS),
  warmup_transactions: WARMUP_TRANSACTIONS,
  soak_started_at_s: Math.round(soakStartS),
  growth_pct: growth,
  anon_growth_pct: anonGrowth,
  rss_max_mb: rssMax,
  tps: result.tps,
  success_rate: result.successRate,
  p50_ms: result.latencyMs.p50,
  p99_ms: result.latencyMs.p99,
  per_node: perNode,
  conditions: {
    ...runConditions(started),
    network: "4 validators, govchain up defaults (standard suite, LevelDB), 127.0.0.1",
    workload: `intkey, ${RATE} tx/s offered (open loop), ${BATCH_SIZE} tx per batch, pre-signed; commit on the first node`,
    growth:
      "per validator: median RSS over the last 60 s against the median over 60–120 s of the soak (after the warm-up, which fills the bounded caches: state nodes 64 MiB, decoded blocks 16 MiB, opened consensus frames 32 MiB); the largest over the validators. RSS = anonymous + file-backed (/proc/PID/status RssAnon, RssFile)",
    summary: `${RATE} tx/s for ${Math.round((end - soakStartS) / 60)} min after ${WARMUP_TRANSACTIONS} warm-up transactions: RSS ${Math.min(...perNode.map((n) => n.rss_baseline_mb))}–${Math.max(...perNode.map((n) => n.rss_baseline_mb))} MB → ${Math.min(...perNode.map((n) => n.rss_end_mb))}–${Math.max(...perNode.map((n) => n.rss_end_mb))} MB`,
  },
  samples,
};
say(
  `growth ${growth} % (largest over validators), RSS max ${rssMax} MB, ${result.tps} tx/s committed, success ${(result.successRate * 100).toFixed(2)} %`,
);
for (const n of perNode)
  say(
    `  ${n.node}: RSS ${n.rss_baseline_mb} → ${n.rss_end_mb} MB (${n.growth_pct} %), anonymous ${n.rss_anon_baseline_mb} → ${n.rss_anon_end_mb} MB (${n.anon_growth_pct} %), file-backed ${n.rss_file_end_mb} MB at the end, heap used ${n.heap_used_baseline_mb} → ${n.heap_used_end_mb} MB (${n.heap_growth_pct} %)`,
  );
if (args.out !== undefined)
  await writeFile(join(args.out, "soak.json"), `${JSON.stringify(output, null, 2)}\n`);
if (args.json) process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
