/**
 * P9: seed 001's off-chain store experiment (S1.5a) on LevelDB and LMDB, in one run
 * (docs/benchmarks/storage-experiment.md).
 *
 * For each value size (4, 8 and 16 KiB by default) and each store: `--ops` writes of random
 * 32-byte keys (uniform over the key space, as content hashes of documents are) with random,
 * incompressible values, then `--ops` reads of keys drawn uniformly, with replacement, from the
 * written set. Latencies are taken per operation, each awaited before the next is issued (one
 * client, no concurrency), so they are latencies and not queueing.
 *
 * Durability is the same for both stores in each write phase:
 * - batched (the experiment's writes): groups of `--batch` puts, each group one atomic write
 *   made durable before the next starts (LevelDB: the node's `createLevelStore` write with
 *   `sync: true`; LMDB: the group's puts issued in one event turn, which lmdb-js commits as one
 *   transaction, with LMDB's synchronous commit, then `flushed`). Power-loss durable per group;
 * - per-op: after the reads, the store is reopened unsynced and `--per-op` more puts of new
 *   keys are made, each its own atomic write, awaited, not fsynced (LevelDB `sync: false`: the
 *   log record is handed to the OS; LMDB `noSync`: the committed pages are handed to the OS).
 *   Process-crash durable, not power-loss durable.
 * The reads follow the batched write phase at once, as in the seed (LevelDB may still be
 * compacting), then, after the process has gone quiet, a second read pass is made ("settled").
 *
 * LevelDB is the node's own store (`createLevelStore`, the options the node uses: LevelDB's
 * defaults, snappy on); LMDB is `lmdb` (lmdb-js) with binary keys and values, no compression,
 * commits synced before they resolve (`overlappingSync: false`; lmdb-js's default flushes after
 * the commit resolves, and a database opened that way cannot be reopened `noSync`), lmdb-js's
 * defaults otherwise (4 KiB pages, a map that grows on demand), read with `getBinary` (a copy)
 * behind an async function, as a `KvStore` on it would be.
 *
 * Each store and size runs in its own child process, one after the other: the stores share no
 * heap, GC or native threads, LevelDB's compaction thread cannot run into LMDB's figures, and
 * nothing of one run stays in the next one's memory. The order of the two stores alternates
 * from one size to the next. Each child works in a fresh temporary directory that the parent
 * removes when the child exits (also after a failure), before the next child starts, so at
 * most one data set is on disk.
 *
 *   npx tsx packages/node/bench/storage-experiment.ts [--ops 100000] [--sizes 4,8,16]
 *     [--batch 100] [--per-op 10000] [--stores leveldb,lmdb] [--dir <parent directory>]
 *     [--json]
 *
 * Progress and the table go to stderr; `--json` prints one JSON object on stdout.
 */
import { execFileSync, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statfsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { open as openLmdb } from "lmdb";
import { createLevelStore } from "../src/storage/level-store.js";

const { values: args } = parseArgs({
  options: {
    ops: { type: "string", default: "100000" },
    sizes: { type: "string", default: "4,8,16" },
    batch: { type: "string", default: "100" },
    "per-op": { type: "string", default: "10000" },
    stores: { type: "string", default: "leveldb,lmdb" },
    dir: { type: "string", default: tmpdir() },
    json: { type: "boolean", default: false },
    // Internal: run one store and size in this process (set by the parent).
    child: { type: "string" },
  },
});

const STORES = ["leveldb", "lmdb"] as const;
type StoreName = (typeof STORES)[number];
const isStoreName = (s: string): s is StoreName => (STORES as readonly string[]).includes(s);

const ops = Number(args.ops);
const batchSize = Number(args.batch);
const perOpCount = Number(args["per-op"]);
const sizesKiB = args.sizes.split(",").map(Number);
const stores = args.stores.split(",");
if (!Number.isInteger(ops) || ops < 1) throw new Error("--ops is a positive integer");
if (!Number.isInteger(batchSize) || batchSize < 1 || ops % batchSize !== 0) {
  throw new Error("--batch is a positive integer dividing --ops");
}
if (!Number.isInteger(perOpCount) || perOpCount < 1)
  throw new Error("--per-op is a positive integer");
if (sizesKiB.some((s) => !Number.isInteger(s) || s < 1)) throw new Error("--sizes are KiB");
if (!stores.every(isStoreName)) throw new Error(`--stores are among ${STORES.join(",")}`);

const KEY_BYTES = 32;
/** Values are random slices of one slab: 100k separate buffers would only burden the GC. */
const SLAB_BYTES = 64 * 2 ** 20;

/** Latency percentiles, microseconds (nearest rank). */
interface LatencySummary {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

interface PhaseResult {
  readonly ops: number;
  readonly wallSeconds: number;
  readonly opsPerSecond: number;
  /** Whole-process CPU (all threads) per operation in the phase. */
  readonly cpuUsPerOp: number;
  /** Main-thread CPU per operation (Linux); the rest is the engines' and libuv's threads. */
  readonly mainThreadCpuUsPerOp: number;
  /** Per operation; for the batched phase, per group of `batchSize` puts. */
  readonly latency: LatencySummary;
  /** Page faults per operation: minor (page already in memory) and major (read from disk). */
  readonly minorFaultsPerOp: number;
  readonly majorFaultsPerOp: number;
  /** One-minute load average at the start and end of the phase. */
  readonly load: readonly [number, number];
}

interface ChildResult {
  readonly store: StoreName;
  readonly valueBytes: number;
  readonly batchedWrite: PhaseResult & { readonly batchSize: number; readonly usPerOp: number };
  readonly read: PhaseResult;
  readonly settleSeconds: number;
  readonly readSettled: PhaseResult;
  readonly perOpWrite: PhaseResult;
  /** Bytes allocated on disk after the batched writes (before the reads), all files. */
  readonly diskBytes: number;
  readonly peakRssMiB: number;
}

/** The operations the experiment needs from a store. */
interface BenchStore {
  /** One atomic write of `entries`; with `sync`, durable when the promise resolves. */
  write(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, sync: boolean): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

async function openLevelBench(path: string): Promise<BenchStore> {
  const store = createLevelStore({ path });
  await store.open();
  return {
    write: (entries, sync) =>
      store.write(
        entries.map(([key, value]) => ({ type: "put", key, value })),
        { sync },
      ),
    get: (key) => store.get(key),
    close: () => store.close(),
  };
}

async function openLmdbBench(path: string, durable: boolean): Promise<BenchStore> {
  const db = openLmdb<Uint8Array, Uint8Array>({
    path,
    keyEncoding: "binary",
    encoding: "binary",
    compression: false,
    // Durable: a commit resolves once fsynced. Else (the per-op phase, against LevelDB's
    // unsynced writes) commits are handed to the OS only.
    ...(durable ? { overlappingSync: false } : { noSync: true }),
  });
  return {
    async write(entries, sync) {
      // Puts issued in one event turn are one transaction (lmdb-js's event-turn batching);
      // the last put's promise resolves when that transaction is committed.
      let last: Promise<boolean> | undefined;
      for (const [key, value] of entries) last = db.put(key, value);
      await last;
      // A synchronous commit is on disk already; `flushed` makes sure of it.
      if (sync) await db.flushed;
    },
    async get(key) {
      const value = db.getBinary(key);
      return value === undefined
        ? undefined
        : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    },
    close: () => db.close(),
  };
}

function openBench(store: StoreName, path: string, durable: boolean): Promise<BenchStore> {
  return store === "leveldb" ? openLevelBench(path) : openLmdbBench(path, durable);
}

function summarize(samples: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  const rank = (q: number): number => sorted[Math.max(0, Math.ceil(q * n) - 1)] ?? Number.NaN;
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    count: n,
    meanUs: sum / n,
    p50Us: rank(0.5),
    p90Us: rank(0.9),
    p99Us: rank(0.99),
    p999Us: rank(0.999),
    maxUs: sorted[n - 1] ?? Number.NaN,
  };
}

/** CPU microseconds of the whole process (user + system, all threads). */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

// The main thread's CPU from Linux's per-thread scheduler statistics (ns on CPU); NaN elsewhere.
const mainSchedstat = `/proc/self/task/${process.pid}/schedstat`;
function mainMicros(): number {
  try {
    return Number(readFileSync(mainSchedstat, "utf8").split(" ")[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Runs `count` steps one after the other, timing each (µs); `check` sees each step's result
 * outside the timed span.
 */
async function timed<T>(
  count: number,
  opsPerStep: number,
  step: (i: number) => Promise<T>,
  check?: (i: number, result: T) => void,
): Promise<PhaseResult> {
  const latencies = new Float64Array(count);
  const load0 = loadavg()[0] ?? 0;
  const usage0 = process.resourceUsage();
  const cpu0 = cpuMicros();
  const main0 = mainMicros();
  const wall0 = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const result = await step(i);
    latencies[i] = (performance.now() - t0) * 1000;
    check?.(i, result);
  }
  const wall = (performance.now() - wall0) / 1000;
  const usage = process.resourceUsage();
  const total = count * opsPerStep;
  return {
    ops: total,
    wallSeconds: wall,
    opsPerSecond: total / wall,
    cpuUsPerOp: (cpuMicros() - cpu0) / total,
    mainThreadCpuUsPerOp: (mainMicros() - main0) / total,
    latency: summarize(latencies),
    minorFaultsPerOp: (usage.minorPageFault - usage0.minorPageFault) / total,
    majorFaultsPerOp: (usage.majorPageFault - usage0.majorPageFault) / total,
    load: [load0, loadavg()[0] ?? 0],
  };
}

/** Waits (at most 120 s) until the process uses under 5 % of a core; returns the seconds. */
async function settle(): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 120_000) {
    const c = cpuMicros();
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (cpuMicros() - c < 25_000) break;
  }
  return (performance.now() - start) / 1000;
}

function diskBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    // LevelDB's compaction may delete a file between the listing and its stat.
    const stats = statSync(join(entry.parentPath, entry.name), { throwIfNoEntry: false });
    total += (stats?.blocks ?? 0) * 512;
  }
  return total;
}

async function runChild(store: StoreName, valueBytes: number, dir: string): Promise<ChildResult> {
  // The workload, generated before any timing.
  const keyPool = randomBytes(KEY_BYTES * ops);
  const key = (i: number): Uint8Array => keyPool.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES);
  const slab = randomBytes(SLAB_BYTES);
  const offsets = new Uint32Array(randomBytes(4 * ops).buffer).map(
    (r) => r % (SLAB_BYTES - valueBytes + 1),
  );
  const value = (i: number): Uint8Array =>
    slab.subarray(offsets[i] ?? 0, (offsets[i] ?? 0) + valueBytes);
  const reads = (): Uint32Array => new Uint32Array(randomBytes(4 * ops).buffer).map((r) => r % ops);
  const entries = (from: number, count: number): [Uint8Array, Uint8Array][] => {
    const out: [Uint8Array, Uint8Array][] = [];
    for (let i = from; i < from + count; i++) out.push([key(i), value(i)]);
    return out;
  };
  const tag = `${store} ${valueBytes / 1024} KiB`;

  const path = join(dir, "db");
  let db = await openBench(store, path, true);
  const batches = ops / batchSize;
  const batchedWrite = await timed(batches, batchSize, (b) =>
    db.write(entries(b * batchSize, batchSize), true),
  );
  const written = diskBytes(path);
  log(`${tag}: batched writes ${Math.round(batchedWrite.opsPerSecond)}/s`);

  let misses = 0;
  const readPhase = async (): Promise<PhaseResult> => {
    const order = reads();
    return timed(
      ops,
      1,
      (i) => db.get(key(order[i] ?? 0)),
      (i, got) => {
        // Every value read is checked: a wrong one would void the run.
        if (got === undefined || Buffer.compare(got, value(order[i] ?? 0)) !== 0) misses++;
      },
    );
  };
  const read = await readPhase();
  log(`${tag}: reads p50 ${read.latency.p50Us.toFixed(1)} µs`);
  const settleSeconds = await settle();
  const readSettled = await readPhase();
  log(
    `${tag}: settled ${settleSeconds.toFixed(1)} s, reads p50 ${readSettled.latency.p50Us.toFixed(1)} µs`,
  );
  await db.close();
  if (misses > 0) throw new Error(`${tag}: ${misses} reads returned a wrong or missing value`);

  // Per-op writes of new keys (drawn like the others) on the populated store, reopened unsynced.
  const freshKeys = randomBytes(KEY_BYTES * perOpCount);
  db = await openBench(store, path, false);
  const perOpWrite = await timed(perOpCount, 1, (i) =>
    db.write([[freshKeys.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES), value(i % ops)]], false),
  );
  log(`${tag}: per-op writes ${Math.round(perOpWrite.opsPerSecond)}/s`);
  await db.close();

  return {
    store,
    valueBytes,
    batchedWrite: { ...batchedWrite, batchSize, usPerOp: 1e6 / batchedWrite.opsPerSecond },
    read,
    settleSeconds,
    readSettled,
    perOpWrite,
    diskBytes: written,
    peakRssMiB: Math.round(
      Number(readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+)/)?.[1] ?? Number.NaN) /
        1024,
    ),
  };
}

function runInChild(store: StoreName, valueBytes: number, dir: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(
      fileURLToPath(import.meta.url),
      [
        "--child",
        `${store}:${valueBytes}:${dir}`,
        "--ops",
        String(ops),
        "--batch",
        String(batchSize),
        "--per-op",
        String(perOpCount),
      ],
      { stdio: ["ignore", "ignore", "inherit", "ipc"] },
    );
    let result: ChildResult | undefined;
    child.on("message", (message) => {
      result = message as ChildResult;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (result !== undefined && code === 0) resolve(result);
      else reject(new Error(`${store} ${valueBytes} B: child exited with ${code ?? signal}`));
    });
  });
}

function packageVersion(name: string): string {
  let path = dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(path, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name) return pkg.version ?? "?";
    } catch {}
    const up = dirname(path);
    if (up === path) return "?";
    path = up;
  }
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

if (args.child !== undefined) {
  const [store, bytes, ...rest] = args.child.split(":");
  if (store === undefined || !isStoreName(store)) throw new Error("bad --child");
  const result = await runChild(store, Number(bytes), rest.join(":"));
  await new Promise<void>((resolve, reject) =>
    process.send?.(result, (err: Error | null) => (err ? reject(err) : resolve())),
  );
  process.disconnect?.();
} else {
  const started = new Date();
  const results: ChildResult[] = [];
  for (const [index, kib] of sizesKiB.entries()) {
    const order = index % 2 === 0 ? stores : [...stores].reverse();
    for (const store of order) {
      const valueBytes = kib * 1024;
      // The batched data set plus LevelDB's compaction headroom or LMDB's overflow pages.
      const needed = 3 * ops * valueBytes;
      const fs = statfsSync(args.dir);
      if (fs.bavail * fs.bsize < needed) {
        throw new Error(`${args.dir} has under ${(needed / 2 ** 30).toFixed(1)} GiB free`);
      }
      const dir = await mkdtemp(join(args.dir, `govchain-storage-bench-${store}-`));
      try {
        log(`-- ${store}, ${kib} KiB values, ${ops} ops`);
        results.push(await runInChild(store, valueBytes, dir));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  const finished = new Date();

  const lookup = (store: StoreName, kib: number): ChildResult | undefined =>
    results.find((r) => r.store === store && r.valueBytes === kib * 1024);
  // P9: LMDB's read latency against LevelDB's, same run: (1 - lmdb / leveldb), per statistic.
  const p9 = sizesKiB.flatMap((kib) => {
    const level = lookup("leveldb", kib);
    const lmdb = lookup("lmdb", kib);
    if (level === undefined || lmdb === undefined) return [];
    const cut = (a: LatencySummary, b: LatencySummary) => ({
      mean: 1 - b.meanUs / a.meanUs,
      p50: 1 - b.p50Us / a.p50Us,
      p90: 1 - b.p90Us / a.p90Us,
      p99: 1 - b.p99Us / a.p99Us,
      p999: 1 - b.p999Us / a.p999Us,
    });
    const afterWrites = cut(level.read.latency, lmdb.read.latency);
    const settled = cut(level.readSettled.latency, lmdb.readSettled.latency);
    const met = [afterWrites, settled].every(
      (c) => c.mean >= 0.5 && c.p50 >= 0.5 && c.p90 >= 0.5 && c.p99 >= 0.5,
    );
    return [{ valueKiB: kib, readLatencyReduction: { afterWrites, settled }, met }];
  });

  const report = {
    benchmark: "storage-experiment",
    target: "P9: off-chain store read latency >= 50 % below plain LevelDB on the same run",
    conditions: {
      started: started.toISOString(),
      finished: finished.toISOString(),
      commit: gitCommit(),
      nproc: availableParallelism(),
      cpu: cpus()[0]?.model ?? "?",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      classicLevel: packageVersion("classic-level"),
      lmdb: packageVersion("lmdb"),
      ops,
      perOpWrites: perOpCount,
      valueKiB: sizesKiB,
      keyBytes: KEY_BYTES,
      batchSize,
      process: "one child process per store and size, run one after the other",
      durability: {
        batched: `groups of ${batchSize} puts, one atomic write each, fsynced before the next group starts (LevelDB sync: true; LMDB synchronous commit, overlappingSync off)`,
        perOp: `${perOpCount} puts of new keys after the reads, store reopened unsynced; one atomic write per put, awaited, not fsynced (LevelDB sync: false; LMDB noSync)`,
      },
      reads:
        "one get at a time, keys uniform with replacement over the written set; right after the writes, then again once the process is idle",
    },
    results,
    p9,
    p9Met: p9.length > 0 && p9.every((r) => r.met),
  };

  const us = (x: number): string =>
    x >= 1000 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1);
  const lat = (l: LatencySummary): string =>
    [l.p50Us, l.p90Us, l.p99Us, l.p999Us, l.maxUs].map(us).join(" / ");
  const rate = (x: number): string => Math.round(x).toLocaleString("en-US");
  const rows = results.map((r) => [
    `${r.valueBytes / 1024} KiB`,
    r.store,
    lat(r.read.latency),
    rate(r.read.opsPerSecond),
    lat(r.readSettled.latency),
    rate(r.readSettled.opsPerSecond),
    lat(r.batchedWrite.latency),
    rate(r.batchedWrite.opsPerSecond),
    lat(r.perOpWrite.latency),
    rate(r.perOpWrite.opsPerSecond),
    `${Math.round(r.diskBytes / 2 ** 20)}`,
  ]);
  const header = [
    "size",
    "store",
    "read µs p50/p90/p99/p99.9/max",
    "reads/s",
    "settled read µs",
    "reads/s",
    `batch of ${batchSize} µs`,
    "puts/s",
    "per-op put µs",
    "puts/s",
    "disk MiB",
  ];
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length)));
  for (const row of table) log(row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join("  "));
  for (const r of p9) {
    const pct = (x: number): string => `${Math.round(x * 100)} %`;
    const a = r.readLatencyReduction.afterWrites;
    const s = r.readLatencyReduction.settled;
    log(
      `P9 ${r.valueKiB} KiB: LMDB read latency below LevelDB's by p50 ${pct(a.p50)}, p99 ${pct(a.p99)}, mean ${pct(a.mean)} (settled: ${pct(s.p50)}, ${pct(s.p99)}, ${pct(s.mean)}) → ${r.met ? "met" : "not met"}`,
    );
  }
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
