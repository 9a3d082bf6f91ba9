/**
 * Single-node intkey throughput per crypto suite (ledger-core benchmark).
 *
 * For each suite: a fresh devmode network in a temp directory, the node started as a real
 * process (`govchain node start`), an intkey workload of `set`s on distinct names pre-signed
 * before the timed window, submitted over HTTP by this process in closed loop, commits observed
 * on the node's `/v1/events` stream. Reports committed tx/s, submit→commit latency, node CPU µs
 * per committed transaction, RSS, and the ratio to the ceiling micro-benchmark (verify + hash +
 * store on one core) measured in the same run.
 *
 * Run: `npx tsx packages/node/bench/single-node-intkey.ts [--quick] [--out docs/benchmarks]`
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { measureCeiling } from "../src/bench/ceiling.js";
import { drive } from "../src/bench/driver.js";
import { sampleProcess } from "../src/bench/process-stats.js";
import { createIntkeyWorkload } from "../src/bench/workload.js";
import { initNetwork } from "../src/cli/network.js";
import { getSuite } from "../src/crypto/index.js";
import type { SignatureAlgorithm, SuiteId } from "../src/crypto/interface.js";

const BIN = fileURLToPath(new URL("../bin/govchain.js", import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;

interface Config {
  readonly label: string;
  readonly suite: SuiteId;
  readonly algorithm: SignatureAlgorithm;
  readonly transactions: number;
}

const scale = quick ? 0.1 : 1;
const CONFIGS: Config[] = [
  {
    label: "standard / Ed25519",
    suite: "standard",
    algorithm: "ed25519",
    transactions: Math.round(40_000 * scale),
  },
  {
    label: "standard / secp256k1 (Sawtooth signers)",
    suite: "standard",
    algorithm: "secp256k1",
    transactions: Math.round(8_000 * scale),
  },
  { label: "gm / SM2", suite: "gm", algorithm: "sm2", transactions: Math.round(8_000 * scale) },
];
const BATCH_SIZE = 1; // one transaction per batch, as Sawtooth's intkey workload sends
const LIST_SIZE = 20; // batches per POST /batches
const CONCURRENCY = 8; // POSTs in flight

async function startNode(dir: string, suite: SuiteId) {
  const { layout } = await initNetwork({
    dir,
    nodes: 1,
    suite,
    chainId: "bench",
    engine: "devmode",
  });
  const node = layout.nodes[0];
  if (!node) throw new Error("no node in layout");
  const child = spawn(
    process.execPath,
    [
      BIN,
      "node",
      "start",
      "--data-dir",
      node.dataDir,
      "--genesis",
      layout.genesisPath,
      "--key",
      node.keyPath,
      "--api-port",
      "0",
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const at = line.indexOf("API listening at ");
      if (at >= 0) resolve(line.slice(at + "API listening at ".length).trim());
    });
    child.on("exit", (code) => reject(new Error(`node exited with ${code}`)));
  });
  return { child, url };
}

function progress(label: string) {
  return (done: number, total: number): void => {
    if (process.stderr.isTTY) process.stderr.write(`\r  ${label}: ${done}/${total}   `);
  };
}

const results: Record<string, unknown>[] = [];
for (const config of CONFIGS) {
  const suite = getSuite(config.suite);
  process.stderr.write(`\n${config.label}: signing ${config.transactions} transactions…\n`);
  const lists = createIntkeyWorkload({
    suite,
    algorithm: config.algorithm,
    transactions: config.transactions,
    batchSize: BATCH_SIZE,
    listSize: LIST_SIZE,
    onProgress: progress("signed lists"),
  });
  const ceilingLists = createIntkeyWorkload({
    suite,
    algorithm: config.algorithm,
    transactions: Math.min(4_000, config.transactions),
    batchSize: BATCH_SIZE,
    listSize: LIST_SIZE,
  });
  const ceiling = await measureCeiling(ceilingLists, suite);

  const dir = await mkdtemp(join(tmpdir(), "govchain-bench-"));
  const { child, url } = await startNode(dir, config.suite);
  try {
    // Warm up (JIT, caches, LevelDB) on the first 5% of the workload, then measure the rest.
    const warmCount = Math.max(1, Math.floor(lists.length * 0.05));
    await drive({
      targets: [url],
      lists: lists.slice(0, warmCount),
      mode: { kind: "closed", concurrency: CONCURRENCY },
    });
    const pid = child.pid ?? 0;
    const before = await sampleProcess(pid);
    const run = await drive({
      targets: [url],
      lists: lists.slice(warmCount),
      mode: { kind: "closed", concurrency: CONCURRENCY },
      onProgress: (c, s) => progress("committed")(c, s),
    });
    const after = await sampleProcess(pid);
    const cpuUsPerTx =
      before && after && run.committedTransactions > 0
        ? (after.cpuMicros - before.cpuMicros) / run.committedTransactions
        : undefined;
    const row = {
      config: config.label,
      suite: config.suite,
      algorithm: config.algorithm,
      tps: Math.round(run.tps),
      p50_ms: Number(run.latencyMs.p50.toFixed(1)),
      p99_ms: Number(run.latencyMs.p99.toFixed(1)),
      success_rate: Number(run.successRate.toFixed(4)),
      cpu_us_per_tx: cpuUsPerTx === undefined ? null : Math.round(cpuUsPerTx),
      rss_mb: after ? Math.round(after.rssBytes / 2 ** 20) : null,
      ceiling_tps_one_core: Math.round(ceiling.tps),
      ratio_to_ceiling: Number((run.tps / ceiling.tps).toFixed(2)),
      committed: run.committedTransactions,
      submitted: run.submittedTransactions,
      duration_s: Number(run.durationSeconds.toFixed(2)),
      responses: run.responses,
    };
    results.push(row);
    process.stderr.write(`\n${JSON.stringify(row)}\n`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

const conditions = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  loadavg_at_end: loadavg().map((l) => Number(l.toFixed(2))),
  node: process.version,
  nodes: 1,
  engine: "devmode",
  workload: `intkey set on distinct names, ${BATCH_SIZE} tx/batch, ${LIST_SIZE} batches per POST, closed loop with ${CONCURRENCY} POSTs in flight`,
  storage: "LevelDB (classic-level), one synced write per block",
  client: "this process, on the same 2 cores; signing done before the timed window",
  latency: "submit → block-commit event from the node (/v1/events)",
  throughput: "valid committed transactions only; refused submissions lower success_rate",
  ceiling:
    "one core: decode + verify signatures + payload hash + LevelDB store in blocks of 1,000 (src/bench/ceiling.ts)",
};
const report = { conditions, results };
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
if (outDir)
  await writeFile(join(outDir, "single-node-intkey.json"), `${JSON.stringify(report, null, 2)}\n`);
