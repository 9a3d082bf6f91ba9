/**
 * Real `govchain` processes for end-to-end tests: the binary started with `process.execPath`
 * exactly as a user runs it. Tests react to what a process prints (a line, its exit), never to
 * the clock; every process started here is tracked so `stopAll` can kill what a failing test
 * left behind.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The CLI binary, resolved from this file so tests run from any working directory. */
export const GOVCHAIN_BIN = fileURLToPath(new URL("../../bin/govchain.js", import.meta.url));

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `govchain` process. */
export interface GovchainProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly args: readonly string[];
  /** stdout lines so far. */
  readonly lines: readonly string[];
  /** Everything on stderr so far. */
  stderr(): string;
  /** Resolves with the first stdout line (past or future) matching `predicate`; rejects if the process ends first. */
  waitForLine(predicate: (line: string) => boolean): Promise<string>;
  /** Resolves once the process has exited and its output is read. */
  readonly exited: Promise<Exit>;
  /** Sends a signal if still running, then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const running = new Set<GovchainProcess>();

/** Starts `govchain <args>` in `cwd`. */
export function startGovchain(args: readonly string[], cwd: string): GovchainProcess {
  const child = spawn(process.execPath, [GOVCHAIN_BIN, ...args], {
    cwd,
    env: { ...process.env, GOVCHAIN_URL: "", GOVCHAIN_KEY: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  let ended = false;
  const waiters = new Set<{
    predicate: (line: string) => boolean;
    resolve: (line: string) => void;
    reject: (err: Error) => void;
  }>();
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const waiter of waiters) {
      if (waiter.predicate(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      ended = true;
      for (const waiter of waiters) {
        waiter.reject(
          new Error(
            `govchain ${args.join(" ")} ended (code ${code}, signal ${signal}) before the expected line; stderr:\n${stderr}\nstdout:\n${lines.join("\n")}`,
          ),
        );
      }
      waiters.clear();
      resolve({ code, signal });
    });
  });
  const proc: GovchainProcess = {
    child,
    args,
    lines,
    stderr: () => stderr,
    waitForLine(predicate) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      if (ended)
        return Promise.reject(
          new Error(`govchain ${args.join(" ")} already ended; stderr:\n${stderr}`),
        );
      return new Promise((resolve, reject) => waiters.add({ predicate, resolve, reject }));
    },
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** What a finished `govchain` run printed. */
export interface Completed {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `govchain <args>` to completion. */
export async function runGovchain(args: readonly string[], cwd: string): Promise<Completed> {
  const proc = startGovchain(args, cwd);
  proc.child.stdin.end();
  const { code } = await proc.exited;
  return {
    code,
    stdout: `${proc.lines.join("\n")}${proc.lines.length > 0 ? "\n" : ""}`,
    stderr: proc.stderr(),
  };
}

/** Kills every process still running (afterAll / finally). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")));
}

/** The prefix `node start` prints before its API URL. */
export const API_READY = "API listening at ";
/** The prefix a PBFT `node start` prints before its P2P endpoint. */
export const P2P_READY = "P2P listening at ";

/** Starts `govchain node start <args>` and resolves with the process and its API URL. */
export async function startNode(
  args: readonly string[],
  cwd: string,
): Promise<{ proc: GovchainProcess; url: string }> {
  const proc = startGovchain(["node", "start", ...args], cwd);
  const line = await proc.waitForLine((l) => l.startsWith(API_READY));
  return { proc, url: line.slice(API_READY.length).trim() };
}

/**
 * A base port `b` such that `b … b + count − 1` are all free on 127.0.0.1, for PBFT networks
 * whose peers must know each other's ports before any node starts (so `--p2p-port 0` cannot
 * work): a candidate base is chosen, the following ports are checked by binding them, and all
 * are released together. Another process may take one of them before the node binds it — a
 * small race, which ends in a clear `PORT_IN_USE` from the node rather than a hang.
 *
 * By default the OS picks the base (an ephemeral port). `belowEphemeral` picks it at random in
 * 20000–31999, under Linux's ephemeral range (32768+), for networks whose validators restart
 * long after they were set up (benchmarks): an ephemeral port may meanwhile be taken by any
 * outgoing connection on a busy machine.
 */
export async function freePortRange(
  count: number,
  options: { readonly attempts?: number; readonly belowEphemeral?: boolean } = {},
): Promise<number> {
  for (let attempt = 0; attempt < (options.attempts ?? 50); attempt++) {
    const servers: Server[] = [];
    try {
      const base = options.belowEphemeral
        ? await listenOn(servers, 20_000 + Math.floor(Math.random() * (12_000 - count)))
        : await listenOn(servers, 0);
      if (base === 0 || base + count - 1 > 65_535) continue;
      let ok = true;
      for (let i = 1; i < count && ok; i++) ok = (await listenOn(servers, base + i)) > 0;
      if (ok) return base;
    } finally {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    }
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Listens on 127.0.0.1:`port` and keeps the server in `servers`; the bound port, or 0 if taken. */
async function listenOn(servers: Server[], port: number): Promise<number> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(0));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      servers.push(server);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

/** GET a JSON document; throws with the status and body on anything but 2xx. */
export async function getJson<T>(url: string, timeoutMs = 30_000): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Polls `check` until it returns a value other than undefined or false, failing after
 * `timeoutMs` with `what` and the last error seen. Polling with a deadline, not a sleep: the
 * pause only spaces out the questions.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
