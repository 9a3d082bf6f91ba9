/**
 * `govchain up`: a local network in one command. It creates the network on first use
 * (`network init`, one devmode validator), starts each node as a child process running
 * `govchain node start` (the same command a user or a supervisor would run, recorded in
 * `network.json` so any node can be restarted as it was), waits until the node answers, loads
 * demo data on request, and stays in the foreground until SIGINT/SIGTERM, then stops the
 * children.
 *
 * Child processes rather than in-process nodes: a node's crash cannot take the others down,
 * several nodes (PBFT) will be several processes, and the recorded command is exactly what
 * ran.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type Command, Option } from "commander";
import { systemClock } from "../common/clock.js";
import type { SuiteId } from "../crypto/interface.js";
import { createApiClient } from "./client.js";
import { type CliContext, DEFAULT_HOME, DEFAULT_NETWORK, integerIn } from "./context.js";
import { type DemoSummary, loadDemoData } from "./demo.js";
import { CliErrorCode, cliError } from "./errors.js";
import { initNetwork, type NetworkLayout, type NodeLayout, networkLayout } from "./network.js";
import { API_READY_PREFIX } from "./node-command.js";
import type { Output } from "./output.js";
import { exitSoonAfterStop, watchShutdown } from "./shutdown.js";

/** The `govchain` executable, run with `process.execPath` for child nodes. */
export const GOVCHAIN_BIN = fileURLToPath(new URL("../../bin/govchain.js", import.meta.url));

/** Bound on a node's start-up (tsx compile, LevelDB open, genesis) before `up` gives up. */
const START_DEADLINE_MS = 90_000;
/** Bound on a node's clean stop before it is killed. */
const STOP_DEADLINE_MS = 20_000;
/** Pause between `/v1/status` polls while a node starts. */
const STATUS_POLL_MS = 250;
/** Lines of a child's stderr kept to explain a failed start. */
const STDERR_TAIL_LINES = 20;

/** One entry of `network.json`. */
export interface NetworkNodeEntry {
  readonly id: string;
  /** REST API base URL. */
  readonly rest: string;
  /** Process id while running; null once stopped by `up`. */
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

async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        reject(
          cliError(
            CliErrorCode.PORT_IN_USE,
            `port ${port} on ${host} is already in use (is govchain already running?); stop that process or choose another port with --port`,
            { port },
          ),
        );
      } else {
        reject(err);
      }
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
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

function failedStart(node: RunningNode, why: string): Error {
  const tail = node.stderrTail.filter((l) => l.trim() !== "");
  // The child prints its own one-line `error [CODE]: …`; pass that on rather than wrapping it.
  const childError = tail.find((l) => l.startsWith("error ["));
  return cliError(
    CliErrorCode.NODE_FAILED,
    `${node.layout.id} ${why}${childError ? `: ${childError}` : tail.length > 0 ? `: ${tail.at(-1)}` : ""} (log: ${node.layout.logPath})`,
    { node: node.layout.id },
  );
}

/** Waits until the node prints its URL and `/v1/status` answers there. */
async function waitUntilReady(
  node: RunningNode,
  stop: Promise<string>,
  output: Output,
): Promise<string> {
  const clock = systemClock;
  const deadline = clock.monotonic() + START_DEADLINE_MS;
  let exited = false;
  void node.exited.then(() => {
    exited = true;
  });
  let interrupted = false;
  void stop.then(() => {
    interrupted = true;
  });
  const progress = output.progress(`starting ${node.layout.id}`);
  try {
    for (;;) {
      if (interrupted)
        throw cliError(CliErrorCode.INTERRUPTED, "interrupted while the node was starting");
      if (exited) throw failedStart(node, "exited during start-up");
      if (clock.monotonic() > deadline) {
        throw failedStart(node, `did not answer within ${START_DEADLINE_MS / 1000} s`);
      }
      if (node.url !== undefined) {
        try {
          const status = await createApiClient({ url: node.url, timeoutMs: 2_000 }).status();
          progress.update(`height ${status.height}`);
          return node.url;
        } catch {
          // Not answering yet: poll again until the deadline.
        }
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
  chain: { chainId: string; suite: string },
): string[] {
  const rel = (p: string): string => relative(ctx.io.cwd, p) || ".";
  const url = nodes[0]?.rest ?? "";
  const urlFlag = url === "http://127.0.0.1:8008" ? "" : ` --url ${url}`;
  const defaultDir = join(ctx.io.cwd, DEFAULT_HOME, DEFAULT_NETWORK) === layout.dir;
  const keyFlag = defaultDir ? "" : ` --key ${rel(layout.adminKeyPath)}`;
  const genesisFlag = defaultDir ? "" : ` --genesis ${rel(layout.genesisPath)}`;
  return [
    "",
    `govchain is running: chain ${chain.chainId}, ${chain.suite} suite, ${nodes.length} node${nodes.length === 1 ? "" : "s"} (devmode)`,
    "",
    ...nodes.map(
      (n) =>
        `  ${n.id}  REST API  ${n.rest}   (pid ${n.pid}, log ${rel(join(layout.dir, "nodes", n.id, "node.log"))})`,
    ),
    `  status        ${url}/v1/status`,
    `  blocks        ${url}/blocks`,
    `  state         ${url}/state`,
    `  data          ${rel(layout.dir)}/  (genesis.json, keys/, nodes/, network.json)`,
    "",
    ...(demo
      ? [
          demo.loaded
            ? `Demo data loaded: organisation ${demo.organisation}, intkey ${Object.entries(
                demo.intkey,
              )
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}, setting ${demo.setting.key}.`
            : "Demo data was already loaded.",
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
    "",
    "Press Ctrl-C to stop.",
  ];
}

/** Options of `govchain up`. */
interface UpOptions {
  readonly dir: string;
  readonly network: string;
  readonly suite: SuiteId;
  readonly host: string;
  readonly port: number;
  readonly demo?: boolean;
  readonly reset?: boolean;
  /** True when --suite was given on the command line (not the default). */
  readonly suiteGiven: boolean;
}

async function up(ctx: CliContext, opts: UpOptions): Promise<void> {
  const { output } = ctx;
  const dir = ctx.path(join(opts.dir, opts.network));
  const layout = networkLayout(dir, 1);
  const previous = await readNetworkFile(layout.networkPath);
  const live = previous?.nodes.find((n) => n.pid !== null && isAlive(n.pid));
  if (live) {
    throw cliError(
      CliErrorCode.NETWORK_EXISTS,
      `network ${opts.network} is already running (${live.id}, pid ${live.pid}, ${live.rest}); stop it first`,
      { pid: live.pid },
    );
  }
  // Before touching any file: a taken port is the most common reason `up` cannot work.
  await assertPortFree(opts.host, opts.port);
  if (opts.reset && existsSync(dir)) {
    await rm(dir, { recursive: true, force: true });
    output.info(`reset: removed ${relative(ctx.io.cwd, dir) || dir}`);
  }
  if (!existsSync(layout.genesisPath)) {
    const created = await initNetwork({
      dir,
      nodes: 1,
      suite: opts.suite,
      chainId: `govchain-${opts.network}`,
      engine: "devmode",
    });
    output.info(
      `created network ${created.genesis.chainId} (${opts.suite} suite) in ${relative(ctx.io.cwd, dir) || dir}`,
    );
  } else {
    output.info(
      `using the existing network in ${relative(ctx.io.cwd, dir) || dir} (--reset starts afresh)`,
    );
  }
  const genesis = JSON.parse(await readFile(layout.genesisPath, "utf8")) as {
    chainId?: string;
    suite?: string;
  };
  if (opts.suiteGiven && genesis.suite !== undefined && genesis.suite !== opts.suite) {
    output.warn(
      `the existing network uses the ${genesis.suite} suite; --suite ${opts.suite} applies to new networks only`,
    );
  }

  const shutdown = watchShutdown(ctx.io);
  const nodes: RunningNode[] = [];
  let entries: NetworkNodeEntry[] = [];
  let failure: unknown;
  try {
    for (const [i, nodeLayout] of layout.nodes.entries()) {
      nodes.push(
        startChild(ctx, layout, nodeLayout, opts.host, opts.port === 0 ? 0 : opts.port + i),
      );
    }
    for (const node of nodes) await waitUntilReady(node, shutdown.requested, output);
    entries = nodes.map((n) => ({
      id: n.layout.id,
      rest: n.url ?? "",
      pid: n.child.pid ?? null,
      dataDir: n.layout.dataDir,
      command: withBoundPort(n.command, n.url),
      cwd: ctx.io.cwd,
    }));
    await writeFile(
      layout.networkPath,
      `${JSON.stringify({ nodes: entries } satisfies NetworkFile, null, 2)}\n`,
    );
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
    }
    output.event(
      summaryLines(ctx, layout, entries, demo, {
        chainId: genesis.chainId ?? "",
        suite: genesis.suite ?? "",
      }),
      {
        status: "ready",
        network: opts.network,
        dir,
        chainId: genesis.chainId,
        suite: genesis.suite,
        genesis: layout.genesisPath,
        nodes: entries,
        ...(demo ? { demo } : {}),
      },
    );

    const firstExit = Promise.race(nodes.map((n) => n.exited.then(() => n)));
    const outcome = await Promise.race([shutdown.requested.then(() => undefined), firstExit]);
    if (outcome !== undefined) failure = failedStart(outcome, "stopped unexpectedly");
  } catch (err) {
    failure = err;
  } finally {
    if (nodes.length > 0) {
      const progress = output.progress("stopping");
      await Promise.all(nodes.map(stopChild));
      progress.done();
      if (entries.length > 0) {
        const stopped: NetworkFile = { nodes: entries.map((e) => ({ ...e, pid: null })) };
        await writeFile(layout.networkPath, `${JSON.stringify(stopped, null, 2)}\n`).catch(
          () => {},
        );
      }
    }
    shutdown.dispose();
  }
  if (failure !== undefined) throw failure;
  output.info("stopped");
  exitSoonAfterStop(ctx.io, 0);
}

/** Registers `govchain up`. */
export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command("up")
    .summary("run a local network (creating it on first use) until Ctrl-C")
    .description(
      "Creates .govchain/<network>/ on first use (one devmode validator), starts each node as a child " +
        "process (`govchain node start …`, recorded in network.json), waits until it answers, optionally " +
        "loads demo data, and stays in the foreground until SIGINT/SIGTERM, then stops the nodes.",
    )
    .option("--dir <dir>", "directory of networks", DEFAULT_HOME)
    .option("--network <name>", "network name", DEFAULT_NETWORK)
    .addOption(
      new Option("--suite <suite>", "crypto suite of a new network")
        .choices(["standard", "gm"])
        .default("standard"),
    )
    .option("--host <host>", "REST API listen address", "127.0.0.1")
    .option(
      "--port <port>",
      "REST API port of the first node (0: any free port)",
      integerIn(0, 65_535),
      8008,
    )
    .option("--demo", "load demo data (organisations, agents, intkey, a setting)")
    .option("--reset", "delete the network's keys and data first and start afresh")
    .action(async (opts: Omit<UpOptions, "suiteGiven">, command: Command) => {
      await up(ctx, { ...opts, suiteGiven: command.getOptionValueSource("suite") === "cli" });
    });
}
