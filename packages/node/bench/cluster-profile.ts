/**
 * Throughput, latency and CPU of a 4-validator PBFT network on this machine, optionally with
 * V8 CPU profiles of every validator — the measurement behind docs/benchmarks/profile.md.
 *
 * A fresh network in a temp directory (`network init --engine pbft`), each validator started as
 * a real `govchain node start` process on 127.0.0.1 (with `--cpu-prof` when asked), an intkey
 * workload of `set`s on distinct names pre-signed before the timed window and submitted
 * round-robin to all validators (closed loop, or open loop at a fixed rate), commits observed
 * on every validator's `/v1/events` stream. Reports committed tx/s, submit→commit latency
 * (first validator to commit, and all four), CPU µs per committed transaction per validator
 * (from /proc), RSS, and the load average.
 *
 * Run: `npx tsx packages/node/bench/cluster-profile.ts [--transactions 60000] [--rate 3000]
 *   [--concurrency 16] [--list-size 20] [--batch-size 1] [--profile <dir>] [--ceiling]
 *   [--nodes 4] [--label text] [--out result.json] [--logs <dir>] [--deadline 600]
 *   [--view-change-ms 1000]`
 *
 * Profiles (`--profile <dir>`) are written when the validators stop; summarise them with
 * `npx tsx packages/node/bench/cpuprofile-summary.ts <dir>/<label>-node0 …`
 * (a directory stands for its largest profile: the main thread, not the module loader's). Keep them out of git.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { measureCeiling } from "../src/bench/ceiling.js";
import { drive } from "../src/bench/driver.js";
import { type ProcessSample, sampleProcess } from "../src/bench/process-stats.js";
import { createIntkeyWorkload } from "../src/bench/workload.js";
import { initNetwork } from "../src/cli/network.js";
import { getSuite } from "../src/crypto/index.js";
import { freePortRange } from "../test/e2e/processes.js";

const BIN = fileURLToPath(new URL("../bin/govchain.js", import.meta.url));

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const has = (name: string): boolean => process.argv.includes(`--${name}`);
const num = (name: string, fallback: number): number => Number(flag(name) ?? fallback);

const NODES = num("nodes", 4);
const TRANSACTIONS = num("transactions", 60_000);
const BATCH_SIZE = num("batch-size", 1);
const LIST_SIZE = num("list-size", 20);
const CONCURRENCY = num("concurrency", 16);
const RATE = flag("rate") ? Number(flag("rate")) : undefined;
const PROFILE_DIR = flag("profile") ? resolve(flag("profile") as string) : undefined;
const LABEL = flag("label") ?? "";
const OUT = flag("out");
/** First view-change timeout written into genesis; default the node's (1 s). */
const VIEW_CHANGE_MS = flag("view-change-ms") ? Number(flag("view-change-ms")) : undefined;
const LOG_DIR = flag("logs") ? resolve(flag("logs") as string) : undefined;
const WARM_FRACTION = 0.1;

interface Validator {
  readonly id: string;
  readonly child: ChildProcess;
  readonly url: string;
}

async function startValidators(dir: string): Promise<Validator[]> {
  const base = await freePortRange(NODES);
  const { layout } = await initNetwork({
    dir,
    nodes: NODES,
    suite: "standard",
    chainId: "bench",
    engine: "pbft",
    p2pBasePort: base,
    ...(VIEW_CHANGE_MS !== undefined ? { pbft: { viewChangeTimeoutMs: VIEW_CHANGE_MS } } : {}),
  });
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  if (LOG_DIR) await mkdir(LOG_DIR, { recursive: true });
  return Promise.all(
    layout.nodes.map(async (node) => {
      const nodeArgs = PROFILE_DIR
        ? // One directory per validator: each thread (the main one and the module loader's)
          // writes its own file there; the main thread's is the largest.
          ["--cpu-prof", "--cpu-prof-dir", join(PROFILE_DIR, `${LABEL || "run"}-${node.id}`)]
        : [];
      const child = spawn(
        process.execPath,
        [
          ...nodeArgs,
          BIN,
          "node",
          "start",
          "--data-dir",
          node.dataDir,
          "--genesis",
          layout.genesisPath,
          "--key",
          node.keyPath,
          "--node-id",
          node.id,
          "--api-port",
          "0",
          "--log-level",
          LOG_DIR ? "info" : "warn",
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const log = LOG_DIR ? createWriteStream(join(LOG_DIR, `${node.id}.log`)) : undefined;
      const url = await new Promise<string>((done, fail) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
          log?.write(`${line}\n`);
          const at = line.indexOf("API listening at ");
          if (at >= 0) done(line.slice(at + "API listening at ".length).trim());
        });
        child.on("exit", (code) => fail(new Error(`${node.id} exited with ${code}`)));
      });
      return { id: node.id, child, url };
    }),
  );
}

async function waitConnected(validators: readonly Validator[]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const all = await Promise.all(
      validators.map(async (v) => {
        const res = await fetch(`${v.url}/v1/status`);
        const body = (await res.json()) as { peers: { connected: boolean }[] };
        return body.peers.filter((p) => p.connected).length >= NODES - 1;
      }),
    );
    if (all.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("validators did not connect");
}

async function stopValidators(validators: readonly Validator[]): Promise<void> {
  await Promise.all(
    validators.map(
      (v) =>
        new Promise<void>((done) => {
          if (v.child.exitCode !== null) return done();
          v.child.once("exit", () => done());
          v.child.kill("SIGTERM");
          setTimeout(() => v.child.kill("SIGKILL"), 30_000).unref();
        }),
    ),
  );
}

/** Unlabelled sums of the node's Prometheus counters (labels folded). */
async function scrape(url: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split("\n")) {
      const match = /^(govchain_[a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      if (match?.[1]) out[match[1]] = (out[match[1]] ?? 0) + Number(match[2]);
    }
  } catch {
    // a node that does not answer reports nothing
  }
  return out;
}

const suite = getSuite("standard");
process.stderr.write(`signing ${TRANSACTIONS} transactions…\n`);
const lists = createIntkeyWorkload({
  suite,
  algorithm: "ed25519",
  transactions: TRANSACTIONS,
  batchSize: BATCH_SIZE,
  listSize: LIST_SIZE,
});
const ceiling = has("ceiling")
  ? await measureCeiling(
      createIntkeyWorkload({
        suite,
        algorithm: "ed25519",
        transactions: 4_000,
        batchSize: BATCH_SIZE,
        listSize: LIST_SIZE,
      }),
      suite,
    )
  : undefined;

const dir = await mkdtemp(join(tmpdir(), "govchain-cluster-"));
const validators = await startValidators(dir);
// A run that stalls (e.g. a view-change storm) is ended, profiles written, after the deadline.
const deadline = setTimeout(() => {
  process.stderr.write("deadline passed: stopping the validators\n");
  void stopValidators(validators).then(() => process.exit(2));
}, num("deadline", 600) * 1000);
deadline.unref();
try {
  await waitConnected(validators);
  const urls = validators.map((v) => v.url);
  const mode =
    RATE !== undefined
      ? ({ kind: "open", ratePerSecond: RATE } as const)
      : ({ kind: "closed", concurrency: CONCURRENCY } as const);
  const warm = Math.max(1, Math.floor(lists.length * WARM_FRACTION));
  process.stderr.write(`warm-up: ${warm} lists\n`);
  await drive({ targets: urls, watch: urls, lists: lists.slice(0, warm), mode });
  const load0 = loadavg();
  const metricsBefore = await Promise.all(validators.map((v) => scrape(v.url)));
  const before = await Promise.all(validators.map((v) => sampleProcess(v.child.pid ?? 0)));
  const progress = (c: number, s: number): void => {
    process.stderr.write(`  committed ${c} / submitted ${s}\n`);
  };
  // Watch every validator: a batch counts when the first commits (quorum 1), and the
  // latency to all of them is measured on the same run with quorum = NODES below.
  const run = await drive({
    targets: urls,
    watch: urls,
    commitQuorum: 1,
    lists: lists.slice(warm),
    mode,
    onProgress: progress,
  });
  const after = await Promise.all(validators.map((v) => sampleProcess(v.child.pid ?? 0)));
  const load1 = loadavg();
  const metricsAfter = await Promise.all(validators.map((v) => scrape(v.url)));
  const perNode = validators.map((v, i) => {
    const a = before[i] as ProcessSample | undefined;
    const b = after[i] as ProcessSample | undefined;
    const m0 = metricsBefore[i] ?? {};
    const m1 = metricsAfter[i] ?? {};
    const delta = (name: string): number => (m1[name] ?? 0) - (m0[name] ?? 0);
    const blocks = delta("govchain_blocks_committed_total");
    return {
      id: v.id,
      blocks,
      txPerBlock:
        blocks > 0 ? Math.round(delta("govchain_transactions_committed_total") / blocks) : 0,
      viewChanges: delta("govchain_consensus_view_changes_total"),
      cpuUsPerTx:
        a && b && run.committedTransactions > 0
          ? Math.round((b.cpuMicros - a.cpuMicros) / run.committedTransactions)
          : undefined,
      cpuSeconds: a && b ? (b.cpuMicros - a.cpuMicros) / 1e6 : undefined,
      rssMb: b ? Math.round(b.rssBytes / 2 ** 20) : undefined,
    };
  });
  const cpu = perNode.map((n) => n.cpuUsPerTx ?? 0);
  const ceilingCluster = ceiling ? (ceiling.tps * Math.min(2, cpus().length)) / NODES : undefined;
  const result = {
    label: LABEL,
    date: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    nodes: NODES,
    viewChangeTimeoutMs: VIEW_CHANGE_MS ?? "default",
    mode: RATE !== undefined ? `open ${RATE} tx/s` : `closed ${CONCURRENCY} POSTs`,
    batchSize: BATCH_SIZE,
    listSize: LIST_SIZE,
    transactions: run.submittedTransactions,
    committed: run.committedTransactions,
    successRate: Number(run.successRate.toFixed(4)),
    tps: Math.round(run.tps),
    seconds: Number(run.durationSeconds.toFixed(1)),
    latencyMs: {
      p50: Math.round(run.latencyMs.p50),
      p90: Math.round(run.latencyMs.p90),
      p99: Math.round(run.latencyMs.p99),
      max: Math.round(run.latencyMs.max),
    },
    cpuUsPerTxPerValidator: {
      mean: Math.round(cpu.reduce((s, c) => s + c, 0) / cpu.length),
      max: Math.max(...cpu),
    },
    perNode,
    responses: run.responses,
    loadAverage: { before: load0.map((l) => l.toFixed(2)), after: load1.map((l) => l.toFixed(2)) },
    ...(ceiling
      ? {
          ceiling: {
            oneCoreTps: Math.round(ceiling.tps),
            microsPerTx: Number(ceiling.microsPerTx.toFixed(1)),
            clusterTps: Math.round(ceilingCluster ?? 0),
            ratio: Number((run.tps / (ceilingCluster ?? 1)).toFixed(2)),
          },
        }
      : {}),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (OUT) await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await stopValidators(validators);
  if (!has("keep")) await rm(dir, { recursive: true, force: true });
}
