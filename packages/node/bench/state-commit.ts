/**
 * P8: state commit throughput of the Merkle radix tree (docs/benchmarks/state-commit.md).
 *
 * Builds a tree of `--leaves` random addresses in LevelDB (in bulk, untimed), then applies
 * blocks of `--block` random-address updates (32-byte random values; `--inserts` of them new
 * addresses, the rest overwrites) and reports leaf updates per second in three modes.
 *
 * Before each block is committed, its addresses are read with `getMany` (reported apart as
 * "read"), as execution reads every transaction's inputs before the block's changes are
 * applied; the commit then finds the paths in the node cache. `--cold` skips that read, so
 * the commit itself fetches the leaves it replaces from LevelDB.
 *
 * - compute: `update()` and `release()`: the tree's whole work per block (tree walk, node
 *   loads from cache or LevelDB, encoding, hashing, staging, caching), without storage. Every
 *   block applies to the persisted base root and is released unpersisted: writing it to
 *   LevelDB would start compactions whose background CPU lands in the next block's figure,
 *   and keeping it in memory would grow the heap the GC walks;
 * - commit: `update()` plus the block's atomic LevelDB write with `sync: true`, then
 *   `release()`, one after the other, as a node without pipelining would;
 * - pipelined: block k+1 is computed on block k's staged root while block k's synced write is
 *   in flight (what the tree's staging is for).
 *
 * Rates are given per CPU-second of the whole process in the timed windows (all threads:
 * LevelDB, libuv, GC) — "per core" —, per CPU-second of the main thread alone (Linux), and per
 * wall-second. LevelDB's compactions run on after a write returns, partly in the next block's
 * read window, so committing phases also give an all-in rate: all the phase's CPU except what
 * the reads cost in the compute phase.
 * Before timing, the benchmark waits until the bulk build's compactions are over; in the compute
 * phase it also waits after each block's read until LevelDB's compactions of read-heavy files
 * have stopped, since the reads cause them, not the update. The machine
 * is shared, so wall rates move with its load; the load average is printed beside each result.
 *
 *   npx tsx packages/node/bench/state-commit.ts [--leaves 1000000] [--block 1000] [--blocks 200]
 *     [--warmup 30] [--radix 16|256] [--hash sha256|sm3] [--cache-mb 64] [--inserts 0.5]
 *     [--modes compute,commit,pipelined] [--dir <parent directory>] [--compression true|false]
 *     [--cold] [--json] [--profile <file.cpuprofile>]
 *
 * `--profile` writes a V8 CPU profile of the timed phases only (not the build or warm-up), for
 * Chrome DevTools or speedscope.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  createStateTree,
  type StateChange,
  type StateHashName,
  stateHash,
} from "../src/state/index.js";
import type { KvStore } from "../src/storage/interface.js";
import { createLevelStore } from "../src/storage/level-store.js";

const { values: args } = parseArgs({
  options: {
    leaves: { type: "string", default: "1000000" },
    block: { type: "string", default: "1000" },
    blocks: { type: "string", default: "200" },
    warmup: { type: "string", default: "30" },
    radix: { type: "string", default: "16" },
    hash: { type: "string", default: "sha256" },
    "cache-mb": { type: "string", default: "64" },
    inserts: { type: "string", default: "0.5" },
    modes: { type: "string", default: "compute,commit,pipelined" },
    dir: { type: "string", default: tmpdir() },
    cold: { type: "boolean", default: false },
    compression: { type: "string", default: "true" },
    json: { type: "boolean", default: false },
    profile: { type: "string" },
  },
});

const leaves = Number(args.leaves);
const blockSize = Number(args.block);
const blocks = Number(args.blocks);
const warmup = Number(args.warmup);
const radix = Number(args.radix);
const hashName = args.hash as StateHashName;
const insertRatio = Number(args.inserts);
const modes = args.modes.split(",");
if (radix !== 16 && radix !== 256) throw new Error("--radix is 16 or 256");
if (hashName !== "sha256" && hashName !== "sm3") throw new Error("--hash is sha256 or sm3");

/** CPU microseconds of the whole process (user + system, all threads). */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

// The main (event-loop) thread's CPU alone, from Linux's per-thread scheduler statistics
// (nanoseconds on CPU); NaN elsewhere. The rest of the process's CPU is V8's GC helpers and
// libuv's workers (LevelDB's writes and reads) and LevelDB's compaction thread.
const mainSchedstat = `/proc/self/task/${process.pid}/schedstat`;
function mainMicros(): number {
  try {
    return Number(readFileSync(mainSchedstat, "utf8").split(" ")[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

function randomAddresses(count: number): string[] {
  const hex = randomBytes(35 * count).toString("hex");
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = hex.slice(i * 70, i * 70 + 70);
  return out;
}

// The base addresses, as bytes: a million strings would sit in the heap the GC marks.
const basePool = randomBytes(35 * leaves);
const baseAddress = (i: number): string => basePool.toString("hex", 35 * i, 35 * i + 35);

// Values are views of large random slabs: a separate buffer each would load the GC with
// hundreds of thousands of ArrayBuffers that a node's own workload would not have.
let valueSlab = new Uint8Array(0);
let valueUsed = 0;
function randomValue(): Uint8Array {
  if (valueUsed + 32 > valueSlab.length) {
    valueSlab = new Uint8Array(randomBytes(1 << 20));
    valueUsed = 0;
  }
  valueUsed += 32;
  return valueSlab.subarray(valueUsed - 32, valueUsed);
}

/** Counts node reads that reach the store (the tree's cache misses). */
function countingStore(inner: KvStore): { store: KvStore; reads: () => number } {
  let reads = 0;
  const store: KvStore = {
    open: () => inner.open(),
    close: () => inner.close(),
    get: (key) => {
      reads++;
      return inner.get(key);
    },
    getMany: (keys) => {
      reads += keys.length;
      return inner.getMany(keys);
    },
    write: (operations, options) => inner.write(operations, options),
    iterate: (range) => inner.iterate(range),
  };
  return { store, reads: () => reads };
}

const dir = await mkdtemp(join(args.dir, "govchain-state-bench-"));
// Snappy cannot shrink hashes, which are most of a node's bytes; `--compression false` shows
// what LevelDB's default compression costs for state nodes.
const level = createLevelStore({ path: dir, compression: args.compression !== "false" });
await level.open();
const { store, reads } = countingStore(level);
const nodeHash = stateHash(hashName);
const tree = createStateTree({
  store,
  hash: nodeHash,
  hashName,
  radix,
  cache: { maxBytes: Number(args["cache-mb"]) * 1024 * 1024 },
});

const log = (line: string): void => {
  if (!args.json) process.stdout.write(`${line}\n`);
};

log(
  `state-commit: ${leaves} leaves, blocks of ${blockSize}, radix ${radix}, ${hashName}, ` +
    `cache ${args["cache-mb"]} MiB, ${Math.round(insertRatio * 100)}% inserts, LevelDB compression ${args.compression}` +
    (args.cold ? ", cold (no read before commit)" : ""),
);
log(
  `machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString()}`,
);
log(`LevelDB in ${dir}`);

// --- bulk build (untimed for P8, reported for information) ---
let root = tree.emptyRoot;
const buildStart = performance.now();
const chunk = 100_000;
for (let from = 0; from < leaves; from += chunk) {
  const changes: StateChange[] = [];
  for (let i = from; i < Math.min(leaves, from + chunk); i++)
    changes.push([baseAddress(i), randomValue()]);
  const update = await tree.update(root, changes);
  await store.write(update.operations);
  tree.release(update);
  root = update.root;
}
log(
  `built in ${((performance.now() - buildStart) / 1000).toFixed(1)} s, root ${root.slice(0, 16)}…`,
);

// LevelDB compacts the bulk build in the background for a while; its CPU would land in the
// first timed phase. Wait (at most a minute) until the process is nearly idle.
{
  const settleStart = performance.now();
  let busy = Number.POSITIVE_INFINITY;
  while (busy > 0.05 && performance.now() - settleStart < 60_000) {
    const c = cpuMicros();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    busy = (cpuMicros() - c) / 1e6;
  }
  log(
    `settled in ${((performance.now() - settleStart) / 1000).toFixed(1)} s (CPU ${Math.round(busy * 100)}% of a core)`,
  );
}

// --- workload, generated before any timing ---
function makeBlocks(count: number): StateChange[][] {
  const out: StateChange[][] = [];
  for (let b = 0; b < count; b++) {
    const inserts = Math.round(blockSize * insertRatio);
    const fresh = randomAddresses(inserts);
    const changes: StateChange[] = [];
    for (let i = 0; i < blockSize; i++) {
      // Overwrites pick from the base addresses, present under every root used here.
      if (i < inserts) changes.push([fresh[i] as string, randomValue()]);
      else changes.push([baseAddress(Math.floor(Math.random() * leaves)), randomValue()]);
    }
    out.push(changes);
  }
  return out;
}

interface PhaseResult {
  mode: string;
  blocks: number;
  updatesPerCpuSecond: number;
  /** Committing phases: per CPU-second of the whole phase less the compute phase's reads. */
  updatesPerCpuSecondAllIn: number;
  /** The same per CPU-second of the main thread alone (Linux). */
  updatesPerMainThreadCpuSecond: number;
  updatesPerWallSecond: number;
  cpuMsPerBlock: { median: number; p90: number };
  wallMsPerBlock: { median: number; p90: number };
  nodesPerBlock: number;
  bytesPerBlock: number;
  storeReadsPerBlock: number;
  /** CPU ms per block of the execution-side read of the block's addresses (not in the rates). */
  readCpuMsPerBlock: number;
  /**
   * compute only: median over blocks of (update CPU ÷ CPU to hash the same block's new nodes
   * and nothing else), measured back to back; steadier than rates on a shared machine.
   */
  hashFloorRatio?: number;
  /** compute only: CPU ms per block to hash the block's new nodes alone. */
  hashFloorMsPerBlock?: number;
  load: [number, number];
  heapMiB: number;
}

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

/**
 * Waits (at most 300 ms) until the threads other than the main one are nearly idle. Random
 * reads make LevelDB compact files that were read too often ("seek compactions"), on its own
 * thread; in the compute phase that CPU, caused by the reads, would land in the update's window.
 */
async function quiet(): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < 300) {
    const c = cpuMicros();
    const m = mainMicros();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const others = cpuMicros() - c - (mainMicros() - m);
    if (!(others > 1000)) return; // under 10% of a core (or no per-thread figure)
  }
}

/** CPU (µs, whole process) per block of the reads in the compute phase. */
let readBaseline: number | undefined;

async function runPhase(mode: string, work: StateChange[][]): Promise<PhaseResult> {
  const load0 = loadavg()[0] ?? 0;
  const cpuPer: number[] = [];
  const wallPer: number[] = [];
  let nodes = 0;
  let bytes = 0;
  const reads0 = reads();
  const cpu0 = cpuMicros();
  const main0 = mainMicros();
  const wall0 = performance.now();
  let timedCpu = 0;
  let timedMain = 0;
  let readMain = 0;
  let timedWall = 0;
  let readCpu = 0;
  let readWall = 0;
  const ratios: number[] = [];
  let floorCpu = 0;
  let readsOutside = 0;
  let inFlight: Promise<void> | undefined;
  let previous: Awaited<ReturnType<typeof tree.update>> | undefined;
  for (const changes of work) {
    if (!args.cold) {
      const r = reads();
      const c = cpuMicros();
      const m = mainMicros();
      const w = performance.now();
      await tree.getMany(
        root,
        changes.map(([address]) => address),
      );
      readCpu += cpuMicros() - c;
      readMain += mainMicros() - m;
      if (mode === "compute") await quiet();
      readWall += performance.now() - w;
      readsOutside += reads() - r;
    }
    const c = cpuMicros();
    const m = mainMicros();
    const w = performance.now();
    const update = await tree.update(root, changes);
    nodes += update.nodeCount;
    for (const op of update.operations)
      if (op.type === "put") bytes += op.key.length + op.value.length;
    if (mode === "compute") {
      tree.release(update);
      timedMain += mainMicros() - m;
      const dc = cpuMicros() - c;
      const dw = performance.now() - w;
      cpuPer.push(dc / 1000);
      wallPer.push(dw);
      timedCpu += dc;
      timedWall += dw;
      const f = cpuMicros();
      for (const op of update.operations) if (op.type === "put") nodeHash(op.value);
      const df = cpuMicros() - f;
      floorCpu += df;
      if (df > 0) ratios.push(dc / df);
    } else if (mode === "commit") {
      await store.write(update.operations, { sync: true });
      tree.release(update);
      timedMain += mainMicros() - m;
      const dc = cpuMicros() - c;
      const dw = performance.now() - w;
      cpuPer.push(dc / 1000);
      wallPer.push(dw);
    } else {
      // Block k's write runs while block k+1 is computed on k's staged root.
      if (inFlight !== undefined) await inFlight;
      if (previous !== undefined) tree.release(previous);
      inFlight = store.write(update.operations, { sync: true });
      previous = update;
    }
    if (mode !== "compute") root = update.root;
  }
  if (inFlight !== undefined) await inFlight;
  if (previous !== undefined) tree.release(previous);
  let allInCpu = Number.NaN;
  if (mode === "compute") {
    readBaseline = readCpu / work.length;
  } else {
    // The timed windows: each block's update, write and release (commit), or everything but
    // the reads (pipelined). LevelDB works on after a write returns (compaction) and, when
    // pipelined, during the next block's read, so part of its CPU lands in the read windows
    // instead. The all-in figure charges the phase with all of its CPU except what the reads
    // cost in the compute phase (when it ran; else its own reads).
    if (mode === "pipelined") {
      timedCpu = cpuMicros() - cpu0 - readCpu;
      timedMain = mainMicros() - main0 - readMain;
      timedWall = performance.now() - wall0 - readWall;
    } else {
      timedCpu = cpuPer.reduce((a, b) => a + b, 0) * 1000;
      timedWall = wallPer.reduce((a, b) => a + b, 0);
    }
    allInCpu = cpuMicros() - cpu0 - (readBaseline ?? readCpu / work.length) * work.length;
  }
  const updates = work.length * blockSize;
  return {
    mode,
    blocks: work.length,
    updatesPerCpuSecond: Math.round(updates / (timedCpu / 1e6)),
    updatesPerCpuSecondAllIn: Math.round(updates / (allInCpu / 1e6)),
    updatesPerMainThreadCpuSecond: Math.round(updates / (timedMain / 1e6)),
    updatesPerWallSecond: Math.round(updates / (timedWall / 1000)),
    cpuMsPerBlock:
      cpuPer.length > 0
        ? { median: quantile(cpuPer, 0.5), p90: quantile(cpuPer, 0.9) }
        : { median: timedCpu / 1000 / work.length, p90: Number.NaN },
    wallMsPerBlock:
      wallPer.length > 0
        ? { median: quantile(wallPer, 0.5), p90: quantile(wallPer, 0.9) }
        : { median: timedWall / work.length, p90: Number.NaN },
    nodesPerBlock: Math.round(nodes / work.length),
    bytesPerBlock: Math.round(bytes / work.length),
    storeReadsPerBlock: Math.round((reads() - reads0 - readsOutside) / work.length),
    readCpuMsPerBlock: readCpu / 1000 / work.length,
    ...(mode === "compute"
      ? {
          hashFloorRatio: quantile(ratios, 0.5),
          hashFloorMsPerBlock: floorCpu / 1000 / work.length,
        }
      : {}),
    load: [load0, loadavg()[0] ?? 0],
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

// Warm-up: fills the node cache and lets the JIT settle; not reported.
await runPhase("compute", makeBlocks(warmup));
readBaseline = undefined;

let profiler: Session | undefined;
if (args.profile !== undefined) {
  profiler = new Session();
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.start");
}
const results: PhaseResult[] = [];
for (const mode of modes) {
  const result = await runPhase(mode, makeBlocks(blocks));
  results.push(result);
  const f = (x: number): string => x.toFixed(2);
  log(
    `${mode.padEnd(9)} ${String(result.updatesPerCpuSecond).padStart(8)} updates/CPU-s ` +
      `(main thread ${result.updatesPerMainThreadCpuSecond}` +
      `${Number.isNaN(result.updatesPerCpuSecondAllIn) ? "" : `, all-in ${result.updatesPerCpuSecondAllIn}`}) ` +
      `${String(result.updatesPerWallSecond).padStart(8)} updates/wall-s | ` +
      `CPU ms/block median ${f(result.cpuMsPerBlock.median)} p90 ${f(result.cpuMsPerBlock.p90)} | ` +
      `wall median ${f(result.wallMsPerBlock.median)} p90 ${f(result.wallMsPerBlock.p90)} | ` +
      `${result.nodesPerBlock} nodes, ${(result.bytesPerBlock / 1024).toFixed(0)} KiB, ` +
      `${result.storeReadsPerBlock} store reads per block (read ${f(result.readCpuMsPerBlock)} ms CPU)` +
      (result.hashFloorRatio === undefined
        ? ""
        : ` | ${f(result.hashFloorRatio)}× the hash floor (${f(result.hashFloorMsPerBlock ?? 0)} ms)`) +
      ` | load ${f(result.load[0])}→${f(result.load[1])} | heap ${result.heapMiB} MiB`,
  );
}
if (profiler !== undefined && args.profile !== undefined) {
  const { profile } = await profiler.post("Profiler.stop");
  await writeFile(args.profile, JSON.stringify(profile));
  profiler.disconnect();
  log(`CPU profile of the timed phases written to ${args.profile}`);
}
// Proof size at this tree size: what a client downloads to check one address.
let proofBytes = 0;
let proofNodes = 0;
const samples = 50;
for (let i = 0; i < samples; i++) {
  const proof = await tree.prove(root, baseAddress(Math.floor(Math.random() * leaves)));
  proofNodes += proof.nodes.length;
  proofBytes += proof.nodes.reduce((sum, node) => sum + node.length / 2, 0);
}
log(
  `proofs: ${(proofNodes / samples).toFixed(1)} nodes, ${Math.round(proofBytes / samples)} bytes of nodes on average`,
);

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? "?"} x ${cpus().length}`,
      node: process.version,
      leaves,
      blockSize,
      radix,
      hash: hashName,
      cacheMiB: Number(args["cache-mb"]),
      cold: args.cold,
      compression: args.compression !== "false",
      insertRatio,
      results,
      proof: { nodes: proofNodes / samples, bytes: Math.round(proofBytes / samples) },
    })}\n`,
  );
}

await level.close();
await rm(dir, { recursive: true, force: true });
