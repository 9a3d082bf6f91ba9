/**
 * Recovery figures of a 4-validator PBFT network run as real `govchain node start` processes
 * (issue 5 item 6; targets P6 and P7 of the performance design).
 *
 * P6 — primary killed under load. Open-loop intkey load at a fixed rate (pre-signed, sent by
 * this process to the three validators that will survive), `kill -9` of the current primary
 * (from `/v1/status`), and, from the `block-commit` events of the survivors' `/v1/events`
 * streams (arrival time at this process), the time from the kill to
 *   - the first block committed after it (often a block the dead primary had proposed),
 *   - the first block committed in the new view (commits resume; a re-proposal of the dead
 *     primary's block, or the new primary's), and the first block the new primary proposed,
 *   - the moment the backlog built up during the outage is committed: commits are back at the
 *     offered rate (offered minus committed since the kill back inside its pre-kill band).
 * The killed node is restarted and caught up between rounds; the survivors' logs give when
 * their view-change timers fired and when the new view started.
 *
 * P7 — a wiped validator rejoining far behind. One validator is stopped while the other three
 * commit a history as fast as they can (closed loop, large pre-signed intkey batches); its data
 * directory is then deleted and it is started again: it catches up by state snapshot (ADR 0010)
 * and the time to the others' head is measured, with the node's `govchain_state_sync_*`
 * metrics. For comparison the same is done at a smaller history with `--no-state-sync`
 * (replaying every block), and with state sync at that smaller history too.
 *
 * Every network lives in a temporary directory, removed afterwards; every process started is
 * killed at the end, on error and on SIGINT/SIGTERM. Consensus settings are the node defaults
 * unless `--view-change-timeout-ms` / `--checkpoint-interval` say otherwise.
 *
 * Run from the repository root:
 *   npx tsx packages/node/bench/recovery.ts [--json] [--only p6,p7] [--rate 300] [--kills 3]
 *       [--transactions 1000000] [--replay-transactions 100000] [--batch-size 256]
 *       [--compare-view-change-timeout-ms 500] [--view-change-timeout-ms N]
 *       [--checkpoint-interval N] [--p7-view-change-timeout-ms N] [--skip-replay]
 *       [--logs-dir DIR]
 * Progress goes to stderr; `--json` prints one JSON object with the figures and conditions.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, rmSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { type DriveResult, drive } from "../src/bench/driver.js";
import { type PromSample, parsePrometheusText, sampleValue } from "../src/bench/prometheus.js";
import { createIntkeyWorkload, type PreparedList } from "../src/bench/workload.js";
import { initNetwork, type PbftInitOptions } from "../src/cli/network.js";
import { getSuite } from "../src/crypto/index.js";
import { API_READY, freePortRange, getJson, until } from "../test/e2e/processes.js";
import { gitCommit, median } from "./support.js";

const BIN = fileURLToPath(new URL("../bin/govchain.js", import.meta.url));
const NODES = 4;

// --- options --------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    only: { type: "string", default: "p6,p7" },
    rate: { type: "string", default: "300" },
    kills: { type: "string", default: "3" },
    "steady-seconds": { type: "string", default: "8" },
    "after-seconds": { type: "string", default: "10" },
    transactions: { type: "string", default: "1000000" },
    "replay-transactions": { type: "string", default: "100000" },
    "batch-size": { type: "string", default: "256" },
    "view-change-timeout-ms": { type: "string" },
    "checkpoint-interval": { type: "string" },
    "compare-view-change-timeout-ms": { type: "string" },
    "p7-view-change-timeout-ms": { type: "string" },
    "logs-dir": { type: "string" },
    "skip-replay": { type: "boolean", default: false },
  },
  strict: true,
});

const positive = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const only = new Set((flags.only ?? "").split(",").map((s) => s.trim()));
const RATE = positive("rate", flags.rate) as number;
const KILLS = Math.round(positive("kills", flags.kills) as number);
const STEADY_S = positive("steady-seconds", flags["steady-seconds"]) as number;
const AFTER_S = positive("after-seconds", flags["after-seconds"]) as number;
const TRANSACTIONS = Math.round(positive("transactions", flags.transactions) as number);
const REPLAY_TRANSACTIONS = Math.round(
  positive("replay-transactions", flags["replay-transactions"]) as number,
);
const BATCH_SIZE = Math.round(positive("batch-size", flags["batch-size"]) as number);
const pbftSettings: PbftInitOptions = {
  ...(flags["view-change-timeout-ms"] !== undefined
    ? { viewChangeTimeoutMs: positive("view-change-timeout-ms", flags["view-change-timeout-ms"]) }
    : {}),
  ...(flags["checkpoint-interval"] !== undefined
    ? { checkpointInterval: positive("checkpoint-interval", flags["checkpoint-interval"]) }
    : {}),
} as PbftInitOptions;
const COMPARE_TIMEOUT = positive(
  "compare-view-change-timeout-ms",
  flags["compare-view-change-timeout-ms"],
);
/** The P7 network's settings: `--p7-view-change-timeout-ms` speeds up building the history only. */
const p7Settings: PbftInitOptions = {
  ...pbftSettings,
  ...(flags["p7-view-change-timeout-ms"] !== undefined
    ? {
        viewChangeTimeoutMs: positive(
          "p7-view-change-timeout-ms",
          flags["p7-view-change-timeout-ms"],
        ) as number,
      }
    : {}),
};
const LOGS_DIR = flags["logs-dir"];
const suite = getSuite("standard");

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const r2 = (n: number): number => Math.round(n * 100) / 100;
const r3 = (n: number): number => Math.round(n * 1000) / 1000;
const load = (): number[] => loadavg().map(r2);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// --- processes and cleanup ------------------------------------------------------------------

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Kills every process this script started and removes its directories (also on signals). */
function cleanupSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    say(`\n${signal}: stopping the nodes and removing the networks`);
    cleanupSync();
    process.exit(130);
  });
}
process.on("exit", cleanupSync);

interface Status {
  readonly nodeId: string;
  readonly height: string;
  readonly head: string;
  readonly view: number;
  readonly primary?: string;
  readonly peers: readonly { readonly id: string; readonly connected: boolean }[];
}

/** One validator process of a benchmark network and how to start it again. */
interface Validator {
  readonly id: string;
  readonly publicKey: string;
  readonly dataDir: string;
  readonly keyPath: string;
  readonly logPath: string;
  url: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
}

/** A temporary four-validator PBFT network. */
interface Network {
  readonly label: string;
  readonly dir: string;
  readonly genesisPath: string;
  readonly operatorKeyPath: string;
  readonly validators: Validator[];
  readonly settings: PbftInitOptions;
}

async function createNetwork(label: string, settings: PbftInitOptions): Promise<Network> {
  const dir = await mkdtemp(join(tmpdir(), "govchain-recovery-"));
  tempDirs.add(dir);
  // P2P ports are fixed in genesis and a validator restarted half an hour later must find its
  // port again.
  const base = await freePortRange(NODES, { belowEphemeral: true });
  const { layout, publicKeys } = await initNetwork({
    dir: join(dir, "net"),
    nodes: NODES,
    suite: "standard",
    chainId: `bench-recovery-${label}`,
    engine: "pbft",
    p2pBasePort: base,
    ...(Object.keys(settings).length > 0 ? { pbft: settings } : {}),
  });
  const validators = layout.nodes.map(
    (n): Validator => ({
      id: n.id,
      publicKey: publicKeys[n.id] ?? "",
      dataDir: n.dataDir,
      keyPath: n.keyPath,
      logPath: n.logPath,
      url: "",
      child: undefined,
      exited: undefined,
    }),
  );
  return {
    label,
    dir,
    genesisPath: layout.genesisPath,
    operatorKeyPath: layout.operatorKeyPath,
    validators,
    settings,
  };
}

/** Starts `govchain node start` for `v` (output appended to its log); resolves when the API listens. */
async function startValidator(
  net: Network,
  v: Validator,
  extra: readonly string[] = [],
): Promise<{ spawnedAtMs: number; readyAtMs: number }> {
  const args = [
    BIN,
    "node",
    "start",
    "--data-dir",
    v.dataDir,
    "--genesis",
    net.genesisPath,
    "--key",
    v.keyPath,
    "--node-id",
    v.id,
    // A new REST port at each start: an old one may have been taken meanwhile (only the P2P
    // endpoints are fixed, in genesis).
    "--api-port",
    "0",
    "--log-level",
    "info",
    ...extra,
  ];
  const spawnedAtMs = Date.now();
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, GOVCHAIN_URL: "", GOVCHAIN_KEY: "" },
  });
  children.add(child);
  const log = createWriteStream(v.logPath, { flags: "a" });
  child.stderr.pipe(log, { end: false });
  v.child = child;
  v.exited = new Promise((resolve) => {
    child.on("close", () => {
      children.delete(child);
      log.end();
      resolve();
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      log.write(`${line}\n`);
      if (line.startsWith(API_READY)) resolve(line.slice(API_READY.length).trim());
    });
    child.on("close", (code, signal) =>
      reject(new Error(`${v.id} ended (code ${code}, signal ${signal}) before its API listened`)),
    );
  });
  v.url = url;
  return { spawnedAtMs, readyAtMs: Date.now() };
}

async function stopValidator(v: Validator, signal: NodeJS.Signals): Promise<void> {
  const child = v.child;
  if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  await v.exited;
  v.child = undefined;
}

async function stopNetwork(net: Network): Promise<void> {
  await Promise.all(net.validators.map((v) => stopValidator(v, "SIGKILL")));
  if (LOGS_DIR) {
    await mkdir(LOGS_DIR, { recursive: true });
    for (const v of net.validators) {
      await copyFile(v.logPath, join(LOGS_DIR, `${net.label}-${v.id}.log`)).catch(() => {});
    }
  }
  await rm(net.dir, { recursive: true, force: true });
  tempDirs.delete(net.dir);
}

/**
 * `work`, tried again after a connection error: the API closes idle keep-alive connections, and
 * a request sent on one as it closes fails without reaching the node.
 */
async function retrying<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await sleep(100);
    }
  }
}

const status = (v: Validator): Promise<Status> =>
  retrying(() => getJson<Status>(`${v.url}/v1/status`, 5_000));
const heightOf = async (v: Validator): Promise<number> => Number((await status(v)).height);
const running = (net: Network): Validator[] => net.validators.filter((v) => v.child !== undefined);

async function waitConnected(vs: readonly Validator[], timeoutMs = 90_000): Promise<void> {
  await until(
    "every running validator connected to the other running ones",
    async () => {
      const ids = new Set(vs.map((v) => v.id));
      const statuses = await Promise.all(vs.map(status));
      return statuses.every(
        (s) => s.peers.filter((p) => p.connected && ids.has(p.id)).length === vs.length - 1,
      );
    },
    timeoutMs,
  );
}

async function metricsOf(v: Validator): Promise<PromSample[]> {
  return retrying(async () => {
    const response = await fetch(`${v.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return parsePrometheusText(await response.text());
  });
}

/** Pino JSON lines of a node's log with a `msg` in `messages`, at or after `sinceMs`. */
async function logEvents(
  v: Validator,
  messages: readonly string[],
  sinceMs: number,
): Promise<{ time: number; msg: string; fields: Record<string, unknown> }[]> {
  const text = await readFile(v.logPath, "utf8").catch(() => "");
  const out: { time: number; msg: string; fields: Record<string, unknown> }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const { time, msg } = record;
    if (typeof time !== "number" || typeof msg !== "string") continue;
    if (time >= sinceMs && messages.includes(msg)) out.push({ time, msg, fields: record });
  }
  return out;
}

// --- commit events --------------------------------------------------------------------------

interface CommitSeen {
  /** performance.now() at arrival. */
  readonly at: number;
  readonly node: string;
  readonly height: number;
  readonly id: string;
  readonly transactions: number;
}

/** Records every `block-commit` event of `vs` with its arrival time. */
async function recordCommits(
  vs: readonly Validator[],
): Promise<{ seen: CommitSeen[]; close(): void }> {
  const seen: CommitSeen[] = [];
  const sockets = await Promise.all(
    vs.map(
      (v) =>
        new Promise<WebSocket>((resolve, reject) => {
          const url = new URL("/v1/events?types=sawtooth/block-commit", v.url);
          url.protocol = "ws:";
          const socket = new WebSocket(url);
          socket.on("open", () => resolve(socket));
          socket.on("error", reject);
          socket.on("message", (data) => {
            const at = performance.now();
            const m = JSON.parse(String(data)) as {
              type?: string;
              height?: string;
              id?: string;
              transactionCount?: number;
            };
            if (m.type !== "block-commit") return;
            seen.push({
              at,
              node: v.id,
              height: Number(m.height),
              id: m.id ?? "",
              transactions: m.transactionCount ?? 0,
            });
          });
        }),
    ),
  );
  return {
    seen,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
}

/** Each height once, at the earliest arrival on any recorded node, in height order. */
function firstArrivals(seen: readonly CommitSeen[]): CommitSeen[] {
  const byHeight = new Map<number, CommitSeen>();
  for (const c of seen) {
    const prior = byHeight.get(c.height);
    if (!prior || c.at < prior.at) byHeight.set(c.height, c);
  }
  return [...byHeight.values()].sort((a, b) => a.height - b.height);
}

// --- workloads ------------------------------------------------------------------------------

let chunk = 0;
/** Pre-signed intkey lists; a fresh name prefix per call so no two calls collide. */
function workload(transactions: number, batchSize: number, listSize: number): PreparedList[] {
  const prefix = `r${(chunk++).toString(36).padStart(3, "0")}`;
  return createIntkeyWorkload({
    suite,
    transactions,
    batchSize,
    listSize,
    signers: 8,
    namePrefix: prefix,
  });
}

// --- P6 -------------------------------------------------------------------------------------

interface P6Round {
  readonly round: number;
  readonly killed: string;
  readonly viewBefore: number;
  readonly loadavgAtKill: number[];
  /** Kill → first block committed on a survivor (any block; often one decided before the kill). */
  readonly firstCommitS: number | null;
  /** Kill → first block committed in the new view (after the first survivor entered it): P6. */
  readonly resumeS: number | null;
  /** Kill → first committed block the new primary proposed (not a re-proposal of the dead one's). */
  readonly newPrimaryBlockS: number | null;
  /** Kill → committed volume back in line with the offered volume (backlog of the outage cleared). */
  readonly backToRateS: number | null;
  /** Longest time without any commit on the survivors around the kill. */
  readonly longestGapS: number | null;
  /** Blocks of the dead primary committed after the kill (decided in flight, or re-proposed). */
  readonly blocksFromOldView: number;
  /** From the survivors' logs: kill → first "view change started", → first "new view". */
  readonly viewChangeStartedS: number | null;
  readonly newViewS: number | null;
  readonly viewAfter: number | null;
  readonly viewChangesLogged: number;
  /** Time since the last decision before the kill (the view timer restarts on each decision). */
  readonly lastCommitBeforeKillMsAgo: number | null;
  /** Committed transactions per second over the 3 s before the kill (steady state: the rate). */
  readonly preKillCommittedTps: number;
  readonly load: {
    readonly committedTps: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
    readonly refused: number;
    readonly successRate: number;
  };
  /** Restart of the killed node: start → its head at the survivors' height. */
  readonly rejoinS: number | null;
}

interface P6Series {
  readonly label: string;
  readonly settings: PbftInitOptions;
  readonly rate: number;
  readonly steadySeconds: number;
  readonly afterSeconds: number;
  readonly loadavgAtStart: number[];
  readonly rounds: P6Round[];
  readonly median: {
    readonly firstCommitS: number | null;
    readonly resumeS: number | null;
    readonly newPrimaryBlockS: number | null;
    readonly backToRateS: number | null;
    readonly viewChangeStartedS: number | null;
  };
}

async function blockSigner(v: Validator, id: string): Promise<string | undefined> {
  const body = await retrying(() =>
    getJson<{ data: { header: { signer_public_key: string } } }>(`${v.url}/blocks/${id}`, 10_000),
  );
  return body.data.header.signer_public_key;
}

/**
 * The view most validators report, and its primary. A validator restarted a moment ago reports
 * view 0 until it hears of the current view, so one node's word is not enough: wait (bounded)
 * until all agree, else take the majority's.
 */
async function agreedView(vs: readonly Validator[]): Promise<{ view: number; primary: string }> {
  let statuses: Status[] = [];
  try {
    await until(
      "every validator in the same view",
      async () => {
        statuses = await Promise.all(vs.map(status));
        return new Set(statuses.map((s) => s.view)).size === 1;
      },
      20_000,
      200,
    );
  } catch {
    say(`    validators disagree on the view: ${statuses.map((s) => `${s.nodeId}@${s.view}`)}`);
  }
  const votes = new Map<number, Status[]>();
  for (const s of statuses) votes.set(s.view, [...(votes.get(s.view) ?? []), s]);
  const [view, holders] = [...votes.entries()].sort(
    (a, b) => b[1].length - a[1].length || b[0] - a[0],
  )[0] as [number, Status[]];
  return { view, primary: holders[0]?.primary ?? "" };
}

async function runP6(label: string, settings: PbftInitOptions): Promise<P6Series> {
  const loadavgAtStart = load();
  say(`\nP6 [${label}]: 4 validators, load ${RATE} tx/s open loop, ${KILLS} kills of the primary`);
  say(`  load average at start: ${loadavgAtStart.join(" ")}`);
  const net = await createNetwork(`p6-${label}`, settings);
  const rounds: P6Round[] = [];
  try {
    await Promise.all(net.validators.map((v) => startValidator(net, v)));
    await waitConnected(net.validators);
    // Warm up: JIT, connections, caches.
    say("  warming up (3 s of load)…");
    await drive({
      targets: net.validators.map((v) => v.url),
      lists: workload(RATE * 3, 1, 10),
      mode: { kind: "open", ratePerSecond: RATE },
    });

    for (let round = 1; round <= KILLS; round++) {
      const before = await agreedView(net.validators);
      const primary = net.validators.find((v) => v.id === before.primary);
      if (!primary) throw new Error(`no primary in ${JSON.stringify(before)}`);
      const survivors = net.validators.filter((v) => v !== primary);
      say(`  round ${round}: view ${before.view}, primary ${primary.id}; load on the other three`);
      const lists = workload(Math.round(RATE * (STEADY_S + AFTER_S)), 1, 10);
      const recorder = await recordCommits(survivors);
      const driving = drive({
        targets: survivors.map((v) => v.url),
        lists,
        mode: { kind: "open", ratePerSecond: RATE },
        drainTimeoutMs: 30_000,
      });
      await sleep(STEADY_S * 1000);
      const loadAtKill = load();
      const killedAt = performance.now();
      const killedAtMs = Date.now();
      primary.child?.kill("SIGKILL");
      await stopValidator(primary, "SIGKILL");
      say(`    killed ${primary.id} (kill -9) after ${STEADY_S} s of load`);
      const result: DriveResult = await driving;
      await sleep(300);
      recorder.close();

      const arrivals = firstArrivals(recorder.seen);
      const beforeKill = arrivals.filter((c) => c.at <= killedAt);
      const afterKill = arrivals.filter((c) => c.at > killedAt);
      const first = afterKill[0];
      let newPrimaryBlock: CommitSeen | undefined;
      let oldViewBlocks = 0;
      for (const c of afterKill) {
        const signer = await blockSigner(survivors[0] as Validator, c.id);
        if (signer !== primary.publicKey) {
          newPrimaryBlock = c;
          break;
        }
        oldViewBlocks++;
      }
      const vc = (
        await Promise.all(
          survivors.map((v) =>
            logEvents(v, ["view change started", "new view", "view changed"], killedAtMs),
          ),
        )
      ).flat();
      const started = vc.filter((e) => e.msg === "view change started").map((e) => e.time);
      const newView = vc
        .filter((e) => e.msg === "new view" || e.msg === "view changed")
        .map((e) => e.time);
      // The nodes' wall clock, on this machine, to this process's monotonic one.
      const toPerf = (wallMs: number): number => killedAt + (wallMs - killedAtMs);
      const firstNewView = newView.length > 0 ? toPerf(Math.min(...newView)) : undefined;
      const resume =
        firstNewView === undefined ? newPrimaryBlock : afterKill.find((c) => c.at >= firstNewView);
      // Offered minus committed since the kill, X(t) = R·(t − kill) − committed(kill, t]; in a
      // steady state it stays in a band (block granularity); the band is measured over the 3 s
      // before the kill, and the rate is back once X returns into it after commits resumed.
      const committedBetween = (from: number, to: number): number =>
        arrivals
          .filter((c) => c.at > from && c.at <= to)
          .reduce((sum, c) => sum + c.transactions, 0);
      let band = 0;
      for (const c of beforeKill.filter((c) => c.at > killedAt - 3_000)) {
        for (const t of [c.at - 0.001, c.at]) {
          const x = -RATE * ((killedAt - t) / 1000) + committedBetween(t, killedAt);
          band = Math.max(band, Math.abs(x));
        }
      }
      band = Math.max(band, RATE * 0.1);
      let backToRate: CommitSeen | undefined;
      if (resume) {
        for (const c of afterKill.filter((c) => c.at >= (resume as CommitSeen).at)) {
          const x = RATE * ((c.at - killedAt) / 1000) - committedBetween(killedAt, c.at);
          if (x <= band) {
            backToRate = c;
            break;
          }
        }
      }
      let longestGap = 0;
      const around = arrivals.filter((c) => c.at > killedAt - 2_000);
      for (let i = 1; i < around.length; i++) {
        longestGap = Math.max(
          longestGap,
          (around[i] as CommitSeen).at - (around[i - 1] as CommitSeen).at,
        );
      }
      const lastBefore = beforeKill.at(-1);
      const preKillTps = committedBetween(killedAt - 3_000, killedAt) / 3;

      const after = await status(survivors[0] as Validator);

      // Restart the killed node and let it catch up before the next round.
      const target = Math.max(...(await Promise.all(survivors.map(heightOf))));
      const restart = await startValidator(net, primary);
      await until(
        `${primary.id} caught up to ${target}`,
        async () => (await heightOf(primary)) >= target,
        120_000,
        50,
      );
      const rejoinS = (Date.now() - restart.spawnedAtMs) / 1000;
      await waitConnected(net.validators);

      const sec = (t: number | undefined): number | null =>
        t === undefined ? null : r3((t - killedAt) / 1000);
      const row: P6Round = {
        round,
        killed: primary.id,
        viewBefore: before.view,
        loadavgAtKill: loadAtKill,
        firstCommitS: sec(first?.at),
        resumeS: sec(resume?.at),
        newPrimaryBlockS: sec(newPrimaryBlock?.at),
        backToRateS: sec(backToRate?.at),
        longestGapS: around.length > 1 ? r3(longestGap / 1000) : null,
        blocksFromOldView: oldViewBlocks,
        viewChangeStartedS:
          started.length > 0 ? r3((Math.min(...started) - killedAtMs) / 1000) : null,
        newViewS: newView.length > 0 ? r3((Math.min(...newView) - killedAtMs) / 1000) : null,
        viewAfter: after.view,
        viewChangesLogged: started.length,
        lastCommitBeforeKillMsAgo: lastBefore ? Math.round(killedAt - lastBefore.at) : null,
        preKillCommittedTps: Math.round(preKillTps),
        load: {
          committedTps: Math.round(result.tps),
          p50Ms: Math.round(result.latencyMs.p50),
          p99Ms: Math.round(result.latencyMs.p99),
          maxMs: Math.round(result.latencyMs.max),
          refused: result.refusedTransactions,
          successRate: r3(result.successRate),
        },
        rejoinS: r2(rejoinS),
      };
      rounds.push(row);
      say(
        `    first commit after ${row.firstCommitS} s, first in the new view after ${row.resumeS} s, ` +
          `first of the new primary after ${row.newPrimaryBlockS} s, ` +
          `back at the offered rate after ${row.backToRateS} s; view-change timer fired after ` +
          `${row.viewChangeStartedS} s, new view after ${row.newViewS} s (view ${row.viewAfter}); ` +
          `${primary.id} rejoined in ${row.rejoinS} s`,
      );
    }
  } finally {
    await stopNetwork(net);
  }
  const med = (pick: (r: P6Round) => number | null): number | null => {
    const xs = rounds.map(pick).filter((x): x is number => x !== null);
    return xs.length > 0 ? r3(median(xs)) : null;
  };
  return {
    label,
    settings,
    rate: RATE,
    steadySeconds: STEADY_S,
    afterSeconds: AFTER_S,
    loadavgAtStart,
    rounds,
    median: {
      firstCommitS: med((r) => r.firstCommitS),
      resumeS: med((r) => r.resumeS),
      newPrimaryBlockS: med((r) => r.newPrimaryBlockS),
      backToRateS: med((r) => r.backToRateS),
      viewChangeStartedS: med((r) => r.viewChangeStartedS),
    },
  };
}

// --- P7 -------------------------------------------------------------------------------------

interface BuildResult {
  readonly transactions: number;
  readonly committed: number;
  readonly refused: number;
  readonly signSeconds: number;
  readonly commitSeconds: number;
  readonly tps: number;
  readonly blocks: number;
  /** View changes one of the running validators went through while the history was built. */
  readonly viewChanges: number;
  readonly loadavgAtStart: number[];
}

interface CatchUp {
  readonly mode: "state-sync" | "replay";
  /** How it actually caught up: a snapshot was installed, or every block was replayed. */
  readonly method: "state snapshot" | "block replay";
  /** `node start` flags beyond the defaults. */
  readonly flags: readonly string[];
  readonly historyTransactions: number;
  readonly targetHeight: number;
  readonly loadavgAtStart: number[];
  /** Process spawn → REST API listening. */
  readonly startupS: number;
  /** Process spawn → height at the others' head. */
  readonly caughtUpS: number;
  /** REST API listening → height at the others' head. */
  readonly caughtUpAfterApiS: number;
  readonly blocksPerS: number;
  readonly transactionsPerS: number;
  /** From the node's log: spawn → snapshot started / state transferred / installed. */
  readonly phases: Record<string, number | null>;
  /** The node's /metrics after catching up. */
  readonly metrics: Record<string, number | null>;
}

/** Commits `transactions` more through the running validators as fast as they go. */
async function buildHistory(
  net: Network,
  transactions: number,
  committedSoFar: number,
): Promise<BuildResult> {
  const targets = running(net);
  const loadavgAtStart = load();
  say(`  signing ${transactions.toLocaleString("en")} transactions (${BATCH_SIZE} per batch)…`);
  const signStarted = performance.now();
  const lists = workload(transactions, BATCH_SIZE, 4);
  const signSeconds = (performance.now() - signStarted) / 1000;
  say(`  signed in ${signSeconds.toFixed(1)} s; committing through ${targets.length} validators…`);
  const heightBefore = await heightOf(targets[0] as Validator);
  const viewChanges = async (): Promise<number> =>
    sampleValue(
      await metricsOf(targets[0] as Validator),
      "govchain_consensus_view_changes_total",
    ) ?? 0;
  const viewChangesBefore = await viewChanges();
  let lastReport = 0;
  const result = await drive({
    targets: targets.map((v) => v.url),
    lists,
    mode: { kind: "closed", concurrency: 4 },
    onProgress: (committed) => {
      const now = performance.now();
      if (now - lastReport < 10_000) return;
      lastReport = now;
      say(`    ${(committedSoFar + committed).toLocaleString("en")} committed`);
    },
  });
  const heightAfter = await heightOf(targets[0] as Validator);
  const viewChangesDuring = (await viewChanges()) - viewChangesBefore;
  say(
    `  committed ${result.committedTransactions.toLocaleString("en")} in ${result.durationSeconds.toFixed(1)} s ` +
      `(${Math.round(result.tps)} tx/s, ${heightAfter - heightBefore} blocks, ${viewChangesDuring} view changes on ${targets[0]?.id}, ${result.refusedTransactions} refused)`,
  );
  return {
    transactions,
    committed: Math.round(result.committedTransactions),
    refused: Math.round(result.refusedTransactions),
    signSeconds: r2(signSeconds),
    commitSeconds: r2(result.durationSeconds),
    tps: Math.round(result.tps),
    blocks: heightAfter - heightBefore,
    viewChanges: viewChangesDuring,
    loadavgAtStart,
  };
}

/** Wipes `v`, starts it (with `extra` flags) and measures the time to the others' head. */
async function rejoin(
  net: Network,
  v: Validator,
  mode: CatchUp["mode"],
  historyTransactions: number,
  flags: readonly string[] = [],
): Promise<CatchUp> {
  const others = net.validators.filter((o) => o !== v);
  await stopValidator(v, "SIGTERM");
  await rm(v.dataDir, { recursive: true, force: true });
  const targetHeight = Math.max(...(await Promise.all(others.map(heightOf))));
  const loadavgAtStart = load();
  say(
    `  ${v.id} wiped; starting it ${flags.length > 0 ? `with ${flags.join(" ")}` : "with the default flags"} — target height ${targetHeight}`,
  );
  const started = await startValidator(net, v, flags);
  let lastSay = Date.now();
  await until(
    `${v.id} at height ${targetHeight}`,
    async () => {
      const h = await heightOf(v);
      if (Date.now() - lastSay > 10_000) {
        lastSay = Date.now();
        say(`    ${v.id} at height ${h}`);
      }
      return h >= targetHeight;
    },
    3_600_000,
    100,
  );
  const doneMs = Date.now();
  const caughtUpS = (doneMs - started.spawnedAtMs) / 1000;
  const events = await logEvents(
    v,
    ["catching up by state snapshot", "state snapshot transferred", "state snapshot installed"],
    started.spawnedAtMs,
  );
  const phase = (msg: string): number | null => {
    const e = events.find((x) => x.msg === msg);
    return e ? r3((e.time - started.spawnedAtMs) / 1000) : null;
  };
  const installed = events.find((x) => x.msg === "state snapshot installed")?.fields;
  const samples = await metricsOf(v);
  const m = (name: string, labels: Record<string, string> = {}): number | null =>
    sampleValue(samples, name, labels) ?? null;
  const metrics = {
    state_syncs_installed: m("govchain_state_syncs_total", { outcome: "installed" }),
    state_syncs_failed: m("govchain_state_syncs_total", { outcome: "failed" }),
    state_sync_nodes_transferred: m("govchain_state_sync_nodes_total", { result: "transferred" }),
    state_sync_nodes_present: m("govchain_state_sync_nodes_total", { result: "present" }),
    state_sync_nodes_rejected: m("govchain_state_sync_nodes_total", { result: "rejected" }),
    state_sync_bytes: m("govchain_state_sync_bytes_total"),
    state_sync_blocks_stored: m("govchain_state_sync_blocks_total"),
    state_sync_seconds_sum: m("govchain_state_sync_seconds_sum"),
    state_sync_checkpoint_height: m("govchain_state_sync_checkpoint_height"),
    history_block_bytes:
      typeof installed?.blockBytes === "number" ? (installed.blockBytes as number) : null,
    blocks_executed: m("govchain_blocks_committed_total"),
    transactions_executed: m("govchain_transactions_committed_total"),
  };
  const row: CatchUp = {
    mode,
    method: (metrics.state_syncs_installed ?? 0) > 0 ? "state snapshot" : "block replay",
    flags,
    historyTransactions,
    targetHeight,
    loadavgAtStart,
    startupS: r3((started.readyAtMs - started.spawnedAtMs) / 1000),
    caughtUpS: r3(caughtUpS),
    caughtUpAfterApiS: r3((doneMs - started.readyAtMs) / 1000),
    blocksPerS: r2(targetHeight / caughtUpS),
    transactionsPerS: Math.round(historyTransactions / caughtUpS),
    phases: {
      snapshotStartedS: phase("catching up by state snapshot"),
      stateTransferredS: phase("state snapshot transferred"),
      snapshotInstalledS: phase("state snapshot installed"),
    },
    metrics,
  };
  say(
    `  ${v.id} caught up in ${row.caughtUpS} s from spawn (${row.caughtUpAfterApiS} s after its API listened): ` +
      `${row.blocksPerS} blocks/s, ${row.transactionsPerS.toLocaleString("en")} tx/s; ` +
      `phases ${JSON.stringify(row.phases)}; metrics ${JSON.stringify(metrics)}`,
  );
  return row;
}

interface P7Result {
  readonly settings: PbftInitOptions;
  readonly batchSize: number;
  readonly builds: BuildResult[];
  readonly smaller: CatchUp[];
  readonly full: CatchUp | undefined;
  readonly historyTransactions: number;
  readonly historyBlocks: number;
}

async function runP7(): Promise<P7Result> {
  say(
    `\nP7: 4 validators; one stopped while the others commit ${TRANSACTIONS.toLocaleString("en")} transactions; then wiped and restarted`,
  );
  say(`  load average at start: ${load().join(" ")}`);
  const net = await createNetwork("p7", p7Settings);
  const builds: BuildResult[] = [];
  const smaller: CatchUp[] = [];
  let full: CatchUp | undefined;
  let history = 0;
  try {
    await Promise.all(net.validators.map((v) => startValidator(net, v)));
    await waitConnected(net.validators);
    const { primary } = await status(net.validators[0] as Validator);
    const wiped = [...net.validators].reverse().find((v) => v.id !== primary) as Validator;
    await stopValidator(wiped, "SIGTERM");
    say(`  ${wiped.id} stopped`);

    const first = Math.min(REPLAY_TRANSACTIONS, TRANSACTIONS);
    if (!flags["skip-replay"] && first < TRANSACTIONS) {
      builds.push(await buildHistory(net, first, history));
      history += builds.at(-1)?.committed ?? 0;
      // The smaller history: replay every block, then the same by snapshot (whatever the gap:
      // the default gap of 4 checkpoint intervals may exceed a small history's blocks).
      smaller.push(await rejoin(net, wiped, "replay", history, ["--no-state-sync"]));
      const interval = p7Settings.checkpointInterval ?? 50;
      if ((smaller[0]?.targetHeight ?? 0) >= interval) {
        smaller.push(
          await rejoin(net, wiped, "state-sync", history, ["--state-sync-min-gap", "1"]),
        );
      } else {
        say(`  (no checkpoint in ${smaller[0]?.targetHeight} blocks: no snapshot to compare with)`);
      }
      await stopValidator(wiped, "SIGTERM");
      await rm(wiped.dataDir, { recursive: true, force: true });
      say(`  ${wiped.id} stopped and wiped again`);
    }
    builds.push(await buildHistory(net, TRANSACTIONS - history, history));
    history += builds.at(-1)?.committed ?? 0;
    full = await rejoin(net, wiped, "state-sync", history);
    const heads = await Promise.all(net.validators.map(status));
    say(`  heads: ${heads.map((s) => `${s.nodeId}@${s.height}`).join(", ")}`);
    return {
      settings: p7Settings,
      batchSize: BATCH_SIZE,
      builds,
      smaller,
      full,
      historyTransactions: history,
      historyBlocks: full.targetHeight,
    };
  } finally {
    await stopNetwork(net);
  }
}

// --- main -----------------------------------------------------------------------------------

const conditions = {
  date: new Date().toISOString(),
  commit: gitCommit(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  cores: cpus().length,
  node: process.version,
  loadavgAtStart: load(),
  validators: NODES,
  suite: "standard (Ed25519)",
  consensus:
    Object.keys(pbftSettings).length === 0
      ? "node defaults (view-change timeout 1,000 ms doubling to 8,000 ms, checkpoint every 50 blocks, 4 blocks in flight)"
      : pbftSettings,
  p7Consensus:
    Object.keys(p7Settings).length === 0
      ? "node defaults"
      : { ...p7Settings, note: "set for the P7 network only, to build its history faster" },
  storage: "LevelDB (classic-level), one synced write per block",
  client: "this process, on the same cores; every transaction signed before its timed window",
  p6Load: `intkey set on distinct names, 1 tx per batch, 10 batches per POST, open loop at ${RATE} tx/s to the three validators that survive; ${STEADY_S} s before the kill, ${AFTER_S} s after`,
  p6Observation:
    "block-commit events of the survivors' /v1/events WebSockets, arrival time at this process (each height counted once, at its first arrival); the view-change times from the survivors' pino logs (their wall clock, same machine)",
  p7Load: `intkey set on distinct names, ${BATCH_SIZE} tx per batch, 4 batches per POST, closed loop with 4 POSTs in flight, to the three running validators`,
  p7Observation:
    "/v1/status of the rejoining node polled every 100 ms until its height reaches the others' (idle) head; times from process spawn",
};

const report: Record<string, unknown> = { conditions };
try {
  if (only.has("p6")) {
    const series: P6Series[] = [await runP6("default", pbftSettings)];
    if (COMPARE_TIMEOUT !== undefined) {
      series.push(
        await runP6(`vc${COMPARE_TIMEOUT}ms`, {
          ...pbftSettings,
          viewChangeTimeoutMs: COMPARE_TIMEOUT,
        }),
      );
    }
    report.p6 = series;
  }
  if (only.has("p7")) report.p7 = await runP7();
} finally {
  cleanupSync();
}
report.loadavgAtEnd = load();
if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else say(`\n${JSON.stringify(report, null, 2)}`);
