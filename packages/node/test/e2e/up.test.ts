/**
 * `govchain up --demo` as `npm start` runs it, in an empty directory: it creates the network,
 * starts the node as a child process, loads the demo data until COMMITTED, records how to
 * restart the node in network.json, and on SIGTERM stops the child and exits 0. A second `up`
 * reuses the network and its data, and the recorded command restarts the node as it was.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { NetworkFile } from "../../src/cli/up.js";
import { decodeIntkeyState, intkeyAddress, organisationAddress } from "../../src/families/index.js";
import { tempDir } from "../cli/run-cli.js";
import { API_READY, type GovchainProcess, startGovchain, stopAll } from "./processes.js";

interface Ready {
  status: "ready";
  nodes: { id: string; rest: string; pid: number }[];
  demo?: { loaded: boolean };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ready(proc: GovchainProcess): Promise<Ready> {
  return JSON.parse(
    await proc.waitForLine((line) => line.startsWith('{"status":"ready"')),
  ) as Ready;
}

async function intkey(url: string, name: string): Promise<number | undefined> {
  const response = await fetch(`${url}/state/${intkeyAddress(name)}`);
  if (response.status === 404) return undefined;
  const body = (await response.json()) as { data: string };
  return decodeIntkeyState(new Uint8Array(Buffer.from(body.data, "base64"))).get(name);
}

describe("govchain up", () => {
  const pids = new Set<number>();
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    // Node children of an `up` that a failed test killed with SIGKILL would outlive it.
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("creates a network, loads demo data, and stops cleanly", { timeout: 240_000 }, async () => {
    const { dir, remove } = await tempDir("govchain-up-");
    cleanups.push(remove);
    const networkPath = join(dir, ".govchain/local/network.json");

    const up = startGovchain(["up", "--demo", "--port", "0", "--json"], dir);
    const first = await ready(up);
    const node = first.nodes[0];
    if (node === undefined) throw new Error("no node reported");
    pids.add(node.pid);
    expect(first.demo?.loaded).toBe(true);
    expect(isAlive(node.pid)).toBe(true);
    // The demo data is committed by the time `up` says it is ready.
    expect(await intkey(node.rest, "apples")).toBe(15);
    expect(
      (await fetch(`${node.rest}/state/${organisationAddress("demo-enterprise")}`)).status,
    ).toBe(200);

    const recorded = JSON.parse(await readFile(networkPath, "utf8")) as NetworkFile;
    const entry = recorded.nodes[0];
    expect(entry).toMatchObject({ id: "node0", rest: node.rest, pid: node.pid, cwd: dir });
    expect(entry?.command).toContain("start");
    // The recorded command names the bound port, not 0, so a restart keeps the URL.
    expect(entry?.command.join(" ")).toContain(`--api-port ${new URL(node.rest).port}`);

    expect(await up.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(isAlive(node.pid)).toBe(false);
    expect(
      (JSON.parse(await readFile(networkPath, "utf8")) as NetworkFile).nodes[0]?.pid,
    ).toBeNull();
    const height = await (async () => {
      // Restarting with the recorded command brings the node back at the same URL with its data.
      const [executable, ...args] = entry?.command ?? [];
      expect(executable).toBe(process.execPath);
      const restarted = startGovchain(args.slice(1), entry?.cwd ?? dir);
      const line = await restarted.waitForLine((l) => l.startsWith(API_READY));
      expect(line.slice(API_READY.length)).toBe(node.rest);
      expect(await intkey(node.rest, "apples")).toBe(15);
      const status = (await (await fetch(`${node.rest}/v1/status`)).json()) as { height: string };
      expect(await restarted.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      return BigInt(status.height);
    })();

    // A second `up` reuses the network: the demo data is found, not loaded again.
    const again = startGovchain(["up", "--demo", "--port", "0", "--json"], dir);
    const second = await ready(again);
    const secondNode = second.nodes[0];
    if (secondNode === undefined) throw new Error("no node reported");
    pids.add(secondNode.pid);
    expect(second.demo?.loaded).toBe(false);
    const status = (await (await fetch(`${secondNode.rest}/v1/status`)).json()) as {
      height: string;
    };
    expect(BigInt(status.height)).toBe(height);
    expect(await again.stop("SIGINT")).toEqual({ code: 0, signal: null });
    expect(isAlive(secondNode.pid)).toBe(false);
  });
});
