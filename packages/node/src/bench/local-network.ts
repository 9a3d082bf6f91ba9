/**
 * A throw-away local network for a benchmark run: `govchain up --json` in a fresh temporary
 * directory (so the benchmark exercises exactly what operators run — the same child processes,
 * genesis and defaults), on ports the OS picks, stopped and deleted afterwards.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { networkLayout } from "../cli/network.js";
import { GOVCHAIN_BIN } from "../cli/up.js";
import type { SuiteId } from "../crypto/interface.js";

/** One running node of the network. */
export interface LocalNode {
  readonly id: string;
  /** REST API base URL. */
  readonly rest: string;
  readonly pid: number;
}

/** A running local network. */
export interface LocalNetwork {
  readonly nodes: readonly LocalNode[];
  /** The genesis system administrator's key file (sets up the traceability workload). */
  readonly adminKeyPath: string;
  /** Stops every node and deletes the network's directory. */
  stop(): Promise<void>;
}

/** Options of `startLocalNetwork`. */
export interface LocalNetworkOptions {
  readonly nodes: number;
  readonly suite: SuiteId;
  /** Bound on start-up; default 180 s (four nodes on a busy 2-core machine take ~10 s). */
  readonly startTimeoutMs?: number;
}

const NETWORK_DIR = "nets";
const STOP_DEADLINE_MS = 30_000;

interface ReadyEvent {
  readonly status: "ready";
  readonly nodes: readonly { id: string; rest: string; pid: number | null }[];
}

function isReadyEvent(value: unknown): value is ReadyEvent {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { status?: unknown }).status === "ready" &&
    Array.isArray((value as { nodes?: unknown }).nodes)
  );
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_DEADLINE_MS);
  await exited;
  clearTimeout(timer);
}

/** Creates and starts a network of `nodes` validators; resolves once all agree and are ready. */
export async function startLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  const cwd = await mkdtemp(join(tmpdir(), "govchain-bench-net-"));
  const args = [
    GOVCHAIN_BIN,
    "--json",
    "up",
    "--nodes",
    String(options.nodes),
    "--suite",
    options.suite,
    "--dir",
    NETWORK_DIR,
    "--port",
    "0",
    "--p2p-port",
    "0",
  ];
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 10) stderrTail.shift();
  });
  const cleanup = async (): Promise<void> => {
    await stopProcess(child, exited);
    await rm(cwd, { recursive: true, force: true });
  };
  try {
    const ready = await new Promise<ReadyEvent>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the local network did not start within the deadline`)),
        options.startTimeoutMs ?? 180_000,
      );
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          return;
        }
        if (isReadyEvent(parsed)) {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(`govchain up exited with ${code} during start-up: ${stderrTail.join(" | ")}`),
        );
      });
    });
    const nodes = ready.nodes.map((n) => {
      if (n.pid === null) throw new Error(`${n.id} has no process`);
      return { id: n.id, rest: n.rest, pid: n.pid };
    });
    let stopped: Promise<void> | undefined;
    return {
      nodes,
      adminKeyPath: networkLayout(join(cwd, NETWORK_DIR, "local")).adminKeyPath,
      stop: () => {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
