/**
 * `govchain up`: a local network in one command. It creates the network on first use
 * (`network init`: one devmode validator, or N PBFT validators whose peer endpoints are
 * 127.0.0.1 ports), starts each node as a child process running `govchain node start` (the same
 * command a user or a supervisor would run, recorded in `network.json` so any node can be
 * restarted as it was), waits until every node answers, is connected to its peers and agrees
 * on the head, loads demo data on request (through node0, confirmed on every node), and stays
 * in the foreground until SIGINT/SIGTERM, then stops the children.
 *
 * Child processes rather than in-process nodes: a node's crash cannot take the others down,
 * each validator is its own process as in production, and the recorded command is exactly
 * what ran. For the same reason a child that dies is reported but does not end `up` while
 * other nodes still run: killing a validator and restarting it from `network.json` is how one
 * watches PBFT tolerate a fault. `up` ends (exit 1) only when no node is left.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type Command, Option } from "commander";
import { z } from "zod";
import { systemClock } from "../common/clock.js";
import type { SuiteId } from "../crypto/interface.js";
import type { GenesisConfig } from "../genesis/genesis.js";
import { parseEndpoint } from "../network/endpoint.js";
import { createApiClient } from "./client.js";
import { type CliContext, DEFAULT_HOME, DEFAULT_NETWORK, integerIn } from "./context.js";
import { type DemoSummary, loadDemoData } from "./demo.js";
import { CliErrorCode, cliError } from "./errors.js";
import { readGenesisFile } from "./files.js";
import {
  DEFAULT_P2P_BASE_PORT,
  defaultEngine,
  initNetwork,
  type NetworkLayout,
  type NodeLayout,
  networkLayout,
} from "./network.js";
import { API_READY_PREFIX } from "./node-command.js";
import type { Output } from "./output.js";
import { exitSoonAfterStop, watchShutdown } from "./shutdown.js";
import { waitForBatches } from "./submit.js";

/** The `govchain` executable, run with `process.execPath` for child nodes. */
export const GOVCHAIN_BIN = fileURLToPath(new URL("../../bin/govchain.js", import.meta.url));

/** Bound on a node's start-up (tsx compile, LevelDB open, genesis) before `up` gives up. */
const START_DEADLINE_MS = 90_000;
/** Bound on every node being connected to all its peers once all answer. */
const CONNECT_DEADLINE_MS = 60_000;
/**
 * How long `up` waits for equal heads before going on with a warning. A node that was behind
 * when the network stopped catches up with the next committed block, not while it is idle.
 */
const SAME_HEAD_DEADLINE_MS = 15_000;
/** Bound on the demo's batches being committed on every node, not only on node0. */
const DEMO_EVERYWHERE_SECONDS = 60;
/** Bound on a node's clean stop before it is killed. */
const STOP_DEADLINE_MS = 20_000;
/** Pause between `/v1/status` polls while nodes start. */
const STATUS_POLL_MS = 250;
/** Lines of a child's stderr kept to explain a failed start. */
const STDERR_TAIL_LINES = 20;

/** One entry of `network.json`. */
export interface NetworkNodeEntry {
  readonly id: string;
  /** REST API base URL. */
  readonly rest: string;
  /** Validator transport endpoint (`host:port`), PBFT networks only. */
  readonly p2p?: string;
  /** Process id while running; null once stopped (by `up`, or when it died). */
  readonly pid: number | null;
  readonly dataDir: string;
  /** argv that restarts the node as it ran (`command[0]` is the Node executable). */
  readonly command: readonly string[];
  readonly cwd: string;
}

/** The content of `network.json`. */
export interface NetworkFile {
  readonly nodes: readonly NetworkNodeEntry[];
}

/** A node started as a child process. */
interface RunningNode {
  readonly layout: NodeLayout;
  readonly child: ChildProcess;
  readonly command: readonly string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly log: WriteStream;
  url: string | undefined;
  stderrTail: string[];
}

/** The parts of `/v1/status` that `up` watches. */
const clusterStatus = z.looseObject({
  nodeId: z.string(),
  height: z.union([z.string(), z.number()]).transform(String),
  head: z.string(),
  view: z.number().optional(),
  primary: z.string().optional(),
  peers: z.array(z.looseObject({ id: z.string(), connected: z.boolean() })).default([]),
});
type ClusterStatus = z.infer<typeof clusterStatus>;

/** A port `up` needs, named for the error message when it is taken. */
interface PortClaim {
  readonly host: string;
  readonly port: number;
  readonly what: string;
  /** How to get another port. */
  readonly remedy: string;
}

/** Binds `host:port` exclusively and closes it again; resolves false when it is taken. */
async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") resolve(false);
      else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Fails with `PORT_IN_USE` naming every taken port (port 0 claims are skipped). */
async function assertPortsFree(claims: readonly PortClaim[]): Promise<void> {
  const taken: PortClaim[] = [];
  for (const claim of claims) {
    if (claim.port !== 0 && !(await portFree(claim.host, claim.port))) taken.push(claim);
  }
  const first = taken[0];
  if (first === undefined) return;
  const list = taken.map((c) => `${c.port} (${c.what})`).join(", ");
  const remedies = [...new Set(taken.map((c) => c.remedy))].join("; ");
  throw cliError(
    CliErrorCode.PORT_IN_USE,
    `port${taken.length > 1 ? "s" : ""} ${list} on ${first.host} ${taken.length > 1 ? "are" : "is"} already in use (is govchain already running?); stop that process, or ${remedies}`,
    { ports: taken.map((c) => c.port) },
  );
}

/**
 * `count` distinct ports the OS reports free on `host`, for a new network's P2P endpoints
 * with `--p2p-port 0`. All are held open together so they differ; another process may still
 * take one before the node binds it, which then fails with `PORT_IN_USE` (run `up` again).
 */
async function pickFreePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen({ host, port: 0, exclusive: true }, () => {
            const address = server.address();
            if (address !== null && typeof address === "object") resolve(address.port);
            else reject(new Error("no port"));
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readNetworkFile(path: string): Promise<NetworkFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as NetworkFile;
    return Array.isArray(parsed.nodes) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function writeNetworkFile(path: string, file: NetworkFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
}

function startChild(
  ctx: CliContext,
  layout: NetworkLayout,
  node: NodeLayout,
  host: string,
  port: number,
): RunningNode {
  const command = [
    process.execPath,
    GOVCHAIN_BIN,
    "node",
    "start",
    "--data-dir",
    node.dataDir,
    "--genesis",
    layout.genesisPath,
    "--key",
    node.keyPath,
    "--api-host",
    host,
    "--api-port",
    String(port),
    "--node-id",
    node.id,
  ];
  const [executable, ...args] = command as [string, ...string[]];
  const child = spawn(executable, args, {
    cwd: ctx.io.cwd,
    env: { ...ctx.io.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(node.logPath, { flags: "a" });
  const running: RunningNode = {
    layout: node,
    child,
    command,
    log,
    url: undefined,
    stderrTail: [],
    exited: new Promise((resolve) => {
      child.once("close", (code, signal) => resolve({ code, signal }));
    }),
  };
  if (child.stdout) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      log.write(`${line}\n`);
      if (running.url === undefined && line.startsWith(API_READY_PREFIX)) {
        running.url = line.slice(API_READY_PREFIX.length).trim();
      }
    });
  }
  if (child.stderr) {
    createInterface({ input: child.stderr }).on("line", (line) => {
      log.write(`${line}\n`);
      running.stderrTail.push(line);
      if (running.stderrTail.length > STDERR_TAIL_LINES) running.stderrTail.shift();
    });
  }
  return running;
}

/**
 * The command with `--api-port 0` replaced by the port the node actually bound, so that
 * re-running it brings the node back at the URL clients already know.
 */
function withBoundPort(command: readonly string[], url: string | undefined): string[] {
  const port = url === undefined ? "" : new URL(url).port;
  const index = command.indexOf("--api-port");
  if (index < 0 || command[index + 1] !== "0" || port === "") return [...command];
  return command.map((arg, i) => (i === index + 1 ? port : arg));
}

/** The child's own last error line, or its last stderr line. */
function lastError(node: RunningNode): string | undefined {
  const tail = node.stderrTail.filter((l) => l.trim() !== "");
  // The child prints its own one-line `error [CODE]: …`; pass that on rather than wrapping it.
  return tail.find((l) => l.startsWith("error [")) ?? tail.at(-1);
}

function failedStart(node: RunningNode, why: string): Error {
  const error = lastError(node);
  return cliError(
    CliErrorCode.NODE_FAILED,
    `${node.layout.id} ${why}${error ? `: ${error}` : ""} (log: ${node.layout.logPath})`,
    { node: node.layout.id },
  );
}

/** Tracks whether a promise has settled, for polling loops. */
function settled(promise: Promise<unknown>): () => boolean {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  return () => done;
}

/** Waits until the node prints its URL and `/v1/status` answers there. */
async function waitUntilReady(node: RunningNode, stop: Promise<string>): Promise<string> {
  const clock = systemClock;
  const deadline = clock.monotonic() + START_DEADLINE_MS;
  const exited = settled(node.exited);
  const interrupted = settled(stop);
  for (;;) {
    if (interrupted())
      throw cliError(CliErrorCode.INTERRUPTED, "interrupted while the nodes were starting");
    if (exited()) throw failedStart(node, "exited during start-up");
    if (clock.monotonic() > deadline) {
      throw failedStart(node, `did not answer within ${START_DEADLINE_MS / 1000} s`);
    }
    if (node.url !== undefined) {
      try {
        await createApiClient({ url: node.url, timeoutMs: 2_000 }).status();
        return node.url;
      } catch {
        // Not answering yet: poll again until the deadline.
      }
    }
    await clock.sleep(STATUS_POLL_MS);
  }
}

/** `/v1/status` of every node, or the first node that does not answer. */
async function statusesOf(
  nodes: readonly RunningNode[],
): Promise<{ statuses: ClusterStatus[] } | { silent: RunningNode }> {
  const statuses: ClusterStatus[] = [];
  for (const node of nodes) {
    try {
      const raw = await createApiClient({ url: node.url ?? "", timeoutMs: 5_000 }).status();
      statuses.push(clusterStatus.parse(raw));
    } catch {
      return { silent: node };
    }
  }
  return { statuses };
}

/**
 * Waits until every node is connected to all its peers (a network that cannot connect is
 * broken, so this fails after its deadline), then until all report the same head (which only
 * warns: a node that stopped behind the others catches up with the next committed block).
 */
async function waitUntilConverged(
  nodes: readonly RunningNode[],
  stop: Promise<string>,
  output: Output,
): Promise<ClusterStatus[]> {
  const clock = systemClock;
  const interrupted = settled(stop);
  const exits = nodes.map((n) => ({ node: n, exited: settled(n.exited) }));
  const progress = output.progress("connecting validators");
  let phase: "connect" | "head" = "connect";
  let deadline = clock.monotonic() + CONNECT_DEADLINE_MS;
  try {
    for (;;) {
      if (interrupted())
        throw cliError(CliErrorCode.INTERRUPTED, "interrupted while the nodes were starting");
      const dead = exits.find((e) => e.exited());
      if (dead) throw failedStart(dead.node, "exited during start-up");
      const polled = await statusesOf(nodes);
      const now = clock.monotonic();
      if ("statuses" in polled) {
        const { statuses } = polled;
        const unconnected = statuses.flatMap((s) =>
          s.peers.filter((p) => !p.connected).map((p) => `${s.nodeId} → ${p.id}`),
        );
        if (phase === "connect") {
          if (unconnected.length === 0) {
            phase = "head";
            deadline = now + SAME_HEAD_DEADLINE_MS;
            progress.update("comparing heads");
          } else if (now > deadline) {
            throw cliError(
              CliErrorCode.NODE_FAILED,
              `validators are not connected after ${CONNECT_DEADLINE_MS / 1000} s (${unconnected.join(", ")}); see the nodes' logs`,
            );
          } else {
            progress.update(`${unconnected.length} links down`);
          }
        }
        if (phase === "head") {
          if (new Set(statuses.map((s) => s.head)).size <= 1) return statuses;
          if (now > deadline) {
            const top = statuses.reduce((a, b) => (BigInt(b.height) > BigInt(a.height) ? b : a));
            const behind = statuses.filter((s) => s.head !== top.head);
            output.warn(
              `${behind.map((s) => `${s.nodeId} is at height ${s.height}`).join(", ")}, behind height ${top.height}: ` +
                "a node catches up when the next block is committed",
            );
            return statuses;
          }
        }
      } else if (now > deadline) {
        throw failedStart(polled.silent, "stopped answering /v1/status");
      }
      await clock.sleep(STATUS_POLL_MS);
    }
  } finally {
    progress.done();
  }
}

async function stopChild(node: RunningNode): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) {
    node.child.kill("SIGTERM");
    const timer = systemClock.setTimer(STOP_DEADLINE_MS, () => node.child.kill("SIGKILL"));
    await node.exited;
    timer.cancel();
  } else {
    await node.exited;
  }
  await new Promise<void>((resolve) => node.log.end(resolve));
}

function summaryLines(
  ctx: CliContext,
  layout: NetworkLayout,
  nodes: readonly NetworkNodeEntry[],
  demo: DemoSummary | undefined,
  chain: { chainId: string; suite: string; engine: string; primary: string | undefined },
): string[] {
  const rel = (p: string): string => relative(ctx.io.cwd, p) || ".";
  const url = nodes[0]?.rest ?? "";
  const urlFlag = url === "http://127.0.0.1:8008" ? "" : ` --url ${url}`;
  const defaultDir = join(ctx.io.cwd, DEFAULT_HOME, DEFAULT_NETWORK) === layout.dir;
  const keyFlag = defaultDir ? "" : ` --key ${rel(layout.adminKeyPath)}`;
  const genesisFlag = defaultDir ? "" : ` --genesis ${rel(layout.genesisPath)}`;
  const many = nodes.length > 1;
  return [
    "",
    `govchain is running: chain ${chain.chainId}, ${chain.suite} suite, ${nodes.length} node${many ? "s" : ""} (${chain.engine}${chain.primary !== undefined && many ? `, primary ${chain.primary}` : ""})`,
    "",
    ...nodes.map(
      (n) =>
        `  ${n.id}  REST API  ${n.rest}${n.p2p !== undefined ? `   P2P ${n.p2p}` : ""}   (pid ${n.pid}, log ${rel(join(layout.dir, "nodes", n.id, "node.log"))})`,
    ),
    `  status        ${url}/v1/status`,
    `  blocks        ${url}/blocks`,
    `  state         ${url}/state`,
    `  data          ${rel(layout.dir)}/  (genesis.json, keys/, nodes/, network.json)`,
    "",
    ...(demo
      ? [
          demo.loaded
            ? `Demo data loaded${many ? " and committed on every node" : ""}: organisation ${demo.organisation}, intkey ${Object.entries(
                demo.intkey,
              )
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}, setting ${demo.setting.key}.`
            : "Demo data was already loaded.",
          ...(demo.trace.flourEast
            ? [
                `Supply chain: npx govchain trace ${demo.trace.flourEast.gtin} --lot ${demo.trace.flourEast.lot}${urlFlag}  (a retailer's lot, traced to the farm)`,
              ]
            : []),
          "",
        ]
      : []),
    "Try (in another terminal, from this directory):",
    `  npx govchain block list${urlFlag}`,
    `  npx govchain intkey list${urlFlag}`,
    `  npx govchain intkey inc apples 1${urlFlag}${keyFlag}`,
    `  npx govchain identity org show ${demo?.organisation ?? "demo-dept"}${urlFlag}`,
    `  npx govchain settings list${urlFlag}`,
    `  npx govchain proof get ${demo?.addresses.apples ?? "<address>"}${urlFlag} --out apples.proof.json`,
    `  npx govchain proof verify apples.proof.json${genesisFlag}`,
    ...(many
      ? [
          "",
          `Fault tolerance: ${faultsText(nodes.length)}.`,
          `Restart it with its "command" from ${rel(layout.networkPath)} (run in its "cwd").`,
        ]
      : []),
    "",
    "Press Ctrl-C to stop.",
  ];
}

function faultsText(n: number): string {
  const f = Math.floor((n - 1) / 3);
  return f === 0
    ? `${n} validators tolerate no fault: with one down, nothing commits until it is back`
    : `${n} validators tolerate ${f} faulty node${f === 1 ? "" : "s"}: kill ${f === 1 ? "one" : `up to ${f}`} (kill -9 <pid>) and the others go on`;
}

/** Options of `govchain up`. */
interface UpOptions {
  readonly dir: string;
  readonly network: string;
  readonly suite: SuiteId;
  readonly host: string;
  readonly port: number;
  readonly p2pPort: number;
  readonly nodes?: number;
  readonly demo?: boolean;
  readonly reset?: boolean;
  /** True when --suite was given on the command line (not the default). */
  readonly suiteGiven: boolean;
  /** True when --p2p-port was given on the command line. */
  readonly p2pPortGiven: boolean;
}

/** Genesis of an existing network, or undefined when `dir` has none. */
async function existingGenesis(path: string): Promise<GenesisConfig | undefined> {
  return existsSync(path) ? readGenesisFile(path) : undefined;
}

async function up(ctx: CliContext, opts: UpOptions): Promise<void> {
  const { output } = ctx;
  const dir = ctx.path(join(opts.dir, opts.network));
  const rel = (p: string): string => relative(ctx.io.cwd, p) || p;
  const genesisPath = networkLayout(dir).genesisPath;
  const previous = await readNetworkFile(join(dir, "network.json"));
  const live = previous?.nodes.find((n) => n.pid !== null && isAlive(n.pid));
  if (live) {
    throw cliError(
      CliErrorCode.NETWORK_EXISTS,
      `network ${opts.network} is already running (${live.id}, pid ${live.pid}, ${live.rest}); stop it first`,
      { pid: live.pid },
    );
  }

  // What will run: the existing network as it is, or a new one (after --reset, or on first use).
  const existing = opts.reset ? undefined : await existingGenesis(genesisPath);
  const nodeCount = existing?.validators.length ?? opts.nodes ?? 1;
  if (existing && opts.nodes !== undefined && opts.nodes !== nodeCount) {
    throw cliError(
      CliErrorCode.NETWORK_EXISTS,
      `${rel(dir)} holds a network of ${nodeCount} validator${nodeCount === 1 ? "" : "s"} (${existing.consensus.engine}), not ${opts.nodes}; ` +
        `run it with --nodes ${nodeCount}, replace it with --reset (its keys and data are deleted), or choose another --network`,
      { dir, nodes: nodeCount },
    );
  }
  const layout = networkLayout(dir, nodeCount);
  if (existing) {
    const ids = existing.validators.map((v) => v.id);
    const expected = layout.nodes.map((n) => n.id);
    if (ids.join(",") !== expected.join(",")) {
      throw cliError(
        CliErrorCode.FILE_INVALID,
        `${rel(genesisPath)} names validators ${ids.join(", ")}; up runs networks made by \`network init\` (${expected.join(", ")})`,
      );
    }
  }
  const engine = existing?.consensus.engine ?? defaultEngine(nodeCount);

  // Before touching any file: a taken port is the most common reason `up` cannot work.
  const claims: PortClaim[] = layout.nodes.map((n, i) => ({
    host: opts.host,
    port: opts.port === 0 ? 0 : opts.port + i,
    what: `REST API of ${n.id}`,
    remedy: "choose other REST ports with --port",
  }));
  if (existing) {
    for (const v of existing.validators) {
      const endpoint = v.endpoint === undefined ? undefined : parseEndpoint(v.endpoint);
      if (endpoint) {
        claims.push({
          ...endpoint,
          what: `P2P of ${v.id}`,
          remedy:
            "P2P ports are fixed in genesis.json: recreate the network with --reset --p2p-port <port>",
        });
      }
    }
    if (opts.p2pPortGiven && engine === "pbft") {
      output.warn(
        "the existing network's P2P ports are fixed in its genesis; --p2p-port applies to new networks only",
      );
    }
  } else if (engine === "pbft" && opts.p2pPort !== 0) {
    if (opts.p2pPort + nodeCount - 1 > 65_535) {
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        `--p2p-port ${opts.p2pPort} leaves no room for ${nodeCount} ports`,
      );
    }
    for (const [i, n] of layout.nodes.entries()) {
      claims.push({
        host: "127.0.0.1",
        port: opts.p2pPort + i,
        what: `P2P of ${n.id}`,
        remedy: "choose other P2P ports with --p2p-port",
      });
    }
  }
  if (opts.port !== 0 && opts.port + nodeCount - 1 > 65_535) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `--port ${opts.port} leaves no room for ${nodeCount} ports`,
    );
  }
  await assertPortsFree(claims);

  if (opts.reset && existsSync(dir)) {
    await rm(dir, { recursive: true, force: true });
    output.info(`reset: removed ${rel(dir)}`);
  }
  if (!existing) {
    const hosts =
      engine === "pbft" && opts.p2pPort === 0
        ? (await pickFreePorts("127.0.0.1", nodeCount)).map((port) => `127.0.0.1:${port}`)
        : undefined;
    const created = await initNetwork({
      dir,
      nodes: nodeCount,
      suite: opts.suite,
      chainId: `govchain-${opts.network}`,
      engine,
      ...(hosts !== undefined ? { hosts } : {}),
      ...(engine === "pbft" ? { p2pBasePort: opts.p2pPort || DEFAULT_P2P_BASE_PORT } : {}),
    });
    output.info(
      `created network ${created.genesis.chainId} (${opts.suite} suite, ${engine}, ${nodeCount} node${nodeCount === 1 ? "" : "s"}) in ${rel(dir)}`,
    );
  } else {
    output.info(`using the existing network in ${rel(dir)} (--reset starts afresh)`);
  }
  const genesis = await readGenesisFile(layout.genesisPath);
  if (opts.suiteGiven && existing && genesis.suite !== opts.suite) {
    output.warn(
      `the existing network uses the ${genesis.suite} suite; --suite ${opts.suite} applies to new networks only`,
    );
  }

  const shutdown = watchShutdown(ctx.io);
  const nodes: RunningNode[] = [];
  /** Children that died while `up` ran (a user may have restarted them by hand). */
  const died = new Set<RunningNode>();
  let entries: NetworkNodeEntry[] = [];
  let failure: unknown;
  try {
    for (const [i, nodeLayout] of layout.nodes.entries()) {
      nodes.push(
        startChild(ctx, layout, nodeLayout, opts.host, opts.port === 0 ? 0 : opts.port + i),
      );
    }
    const progress = output.progress(
      `starting ${nodes.length} node${nodes.length === 1 ? "" : "s"}`,
    );
    try {
      await Promise.all(nodes.map((n) => waitUntilReady(n, shutdown.requested)));
    } finally {
      progress.done();
    }
    let statuses =
      nodes.length > 1 ? await waitUntilConverged(nodes, shutdown.requested, output) : [];
    entries = nodes.map((n) => {
      const endpoint = genesis.validators.find((v) => v.id === n.layout.id)?.endpoint;
      return {
        id: n.layout.id,
        rest: n.url ?? "",
        ...(engine === "pbft" && endpoint !== undefined ? { p2p: endpoint } : {}),
        pid: n.child.pid ?? null,
        dataDir: n.layout.dataDir,
        command: withBoundPort(n.command, n.url),
        cwd: ctx.io.cwd,
      };
    });
    await writeNetworkFile(layout.networkPath, { nodes: entries });
    const first = entries[0];
    let demo: DemoSummary | undefined;
    if (opts.demo && first) {
      // Ctrl-C while the demo loads should stop `up` now, not after the last commit.
      const interrupt = new AbortController();
      void shutdown.requested.then(() => interrupt.abort());
      demo = await loadDemoData(
        createApiClient({ url: first.rest, signal: interrupt.signal }),
        layout,
        output,
      );
      if (demo.loaded && entries.length > 1) {
        await confirmEverywhere(entries, demo.batchIds, interrupt.signal, output);
        statuses = (await statusesOrEmpty(nodes)) ?? statuses;
      }
    }
    const primary = statuses[0]?.primary;
    output.event(
      summaryLines(ctx, layout, entries, demo, {
        chainId: genesis.chainId,
        suite: genesis.suite,
        engine,
        primary,
      }),
      {
        status: "ready",
        network: opts.network,
        dir,
        chainId: genesis.chainId,
        suite: genesis.suite,
        engine,
        ...(primary !== undefined ? { primary } : {}),
        genesis: layout.genesisPath,
        nodes: entries,
        ...(demo ? { demo } : {}),
      },
    );
    failure = await supervise(nodes, died, entries, layout, shutdown.requested, output);
  } catch (err) {
    failure = err;
  } finally {
    if (nodes.length > 0) {
      const progress = output.progress("stopping");
      await Promise.all(nodes.map(stopChild));
      progress.done();
      await reportOutsiders([...died], output);
      if (entries.length > 0) {
        const stopped: NetworkFile = { nodes: entries.map((e) => ({ ...e, pid: null })) };
        await writeNetworkFile(layout.networkPath, stopped).catch(() => {});
      }
    }
    shutdown.dispose();
  }
  if (failure !== undefined) throw failure;
  output.info("stopped");
  exitSoonAfterStop(ctx.io, 0);
}

/** Statuses of every node, or undefined when one does not answer (only for the summary). */
async function statusesOrEmpty(
  nodes: readonly RunningNode[],
): Promise<ClusterStatus[] | undefined> {
  const polled = await statusesOf(nodes);
  return "statuses" in polled ? polled.statuses : undefined;
}

/** Waits until the demo's batches are COMMITTED on every node, not only the one that took them. */
async function confirmEverywhere(
  entries: readonly NetworkNodeEntry[],
  batchIds: readonly string[],
  signal: AbortSignal,
  output: Output,
): Promise<void> {
  for (const entry of entries) {
    const client = createApiClient({ url: entry.rest, signal });
    const statuses = await waitForBatches(
      client,
      batchIds,
      DEMO_EVERYWHERE_SECONDS,
      output,
      `demo data on ${entry.id}`,
    );
    const missing = statuses.filter((s) => s.status !== "COMMITTED");
    if (missing.length > 0) {
      throw cliError(
        CliErrorCode.NODE_FAILED,
        `${entry.id} has not committed ${missing.length} of the demo's batches within ${DEMO_EVERYWHERE_SECONDS} s (${missing.map((s) => s.status).join(", ")}); see ${entry.id}'s log`,
        { node: entry.id },
      );
    }
  }
}

/**
 * Runs until a stop is requested (resolves undefined) or no node is left (resolves the error
 * to exit with). A node that dies while others run is reported, marked stopped in
 * `network.json` (pid null), and left for the user to restart with its recorded command.
 */
async function supervise(
  nodes: readonly RunningNode[],
  died: Set<RunningNode>,
  entries: NetworkNodeEntry[],
  layout: NetworkLayout,
  stop: Promise<string>,
  output: Output,
): Promise<unknown> {
  const alive = new Set(nodes);
  for (;;) {
    const outcome = await Promise.race([
      stop.then(() => undefined),
      ...[...alive].map((n) => n.exited.then(() => n)),
    ]);
    if (outcome === undefined) return undefined;
    alive.delete(outcome);
    died.add(outcome);
    const { code, signal } = await outcome.exited;
    const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
    if (alive.size === 0) {
      return failedStart(
        outcome,
        nodes.length === 1 ? `stopped unexpectedly (${how})` : `stopped (${how}); no node is left`,
      );
    }
    const index = entries.findIndex((e) => e.id === outcome.layout.id);
    const entry = entries[index];
    if (entry !== undefined) entries[index] = { ...entry, pid: null };
    await writeNetworkFile(layout.networkPath, { nodes: entries }).catch(() => {});
    const error = lastError(outcome);
    output.warn(
      `${outcome.layout.id} stopped (${how})${error ? `: ${error}` : ""}; the other ${alive.size} node${alive.size === 1 ? "" : "s"} keep running. ` +
        `Restart it with its "command" in ${layout.networkPath} (a node restarted by hand is not stopped by up).`,
    );
  }
}

/**
 * Warns about nodes that died under `up` and answer again at their URL: someone restarted
 * them by hand, so they are not `up`'s children and keep running after it stops.
 */
async function reportOutsiders(died: readonly RunningNode[], output: Output): Promise<void> {
  for (const node of died) {
    if (node.url === undefined) continue;
    try {
      const status = await createApiClient({ url: node.url, timeoutMs: 1_000 }).status();
      if (status.nodeId === node.layout.id) {
        output.warn(
          `${node.layout.id} still runs at ${node.url}: it was restarted outside up, so up did not stop it`,
        );
      }
    } catch {
      // Not answering: nothing is left running there.
    }
  }
}

/** Registers `govchain up`. */
export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command("up")
    .summary("run a local network (creating it on first use) until Ctrl-C")
    .description(
      "Creates .govchain/<network>/ on first use (one devmode validator, or --nodes N PBFT " +
        "validators), starts each node as a child process (`govchain node start …`, recorded in " +
        "network.json), waits until all answer, are connected and agree on the head, optionally " +
        "loads demo data (committed on every node), and stays in the foreground until SIGINT/SIGTERM, " +
        "then stops the nodes. A node that dies is reported; up ends when none is left.",
    )
    .option("--dir <dir>", "directory of networks", DEFAULT_HOME)
    .option("--network <name>", "network name", DEFAULT_NETWORK)
    .option(
      "--nodes <n>",
      "validators of a new network (PBFT when more than 1) [default: the existing network's, else 1]",
      integerIn(1, 64),
    )
    .addOption(
      new Option("--suite <suite>", "crypto suite of a new network")
        .choices(["standard", "gm"])
        .default("standard"),
    )
    .option("--host <host>", "REST API listen address", "127.0.0.1")
    .option(
      "--port <port>",
      "REST API port of node0; node i gets port + i (0: any free ports)",
      integerIn(0, 65_535),
      8008,
    )
    .option(
      "--p2p-port <port>",
      "P2P port of node0 in a new PBFT network; node i gets port + i (0: free ports, chosen once)",
      integerIn(0, 65_535),
      DEFAULT_P2P_BASE_PORT,
    )
    .option("--demo", "load demo data (organisations, agents, intkey, a setting)")
    .option("--reset", "delete the network's keys and data first and start afresh")
    .action(async (opts: Omit<UpOptions, "suiteGiven" | "p2pPortGiven">, command: Command) => {
      await up(ctx, {
        ...opts,
        suiteGiven: command.getOptionValueSource("suite") === "cli",
        p2pPortGiven: command.getOptionValueSource("p2pPort") === "cli",
      });
    });
}
