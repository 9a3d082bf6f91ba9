/**
 * `govchain up --nodes 4 --demo` as `npm start` runs it, in an empty directory on free ports:
 * it creates a PBFT network, starts four validator processes, loads the demo through node0 and
 * reports ready only once the demo is committed on all four; network.json records every node
 * and the command that restarts it. While it runs, a second `up` on the same ports refuses with
 * PORT_IN_USE naming the port, and a validator killed with SIGKILL is reported while the others
 * keep running. SIGTERM stops every child and exits 0.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { NetworkFile } from "../../src/cli/up.js";
import { decodeIntkeyState, intkeyAddress } from "../../src/families/index.js";
import { tempDir } from "../cli/run-cli.js";
import {
  freePortRange,
  GOVCHAIN_BIN,
  type GovchainProcess,
  getJson,
  isAlive,
  runGovchain,
  startGovchain,
  stopAll,
  until,
} from "./processes.js";

interface Ready {
  status: "ready";
  engine: string;
  primary?: string;
  nodes: { id: string; rest: string; p2p?: string; pid: number }[];
  demo?: { loaded: boolean; batchIds: string[] };
}

interface Status {
  readonly nodeId: string;
  readonly head: string;
  readonly stateRoot: string;
  readonly primary?: string;
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

describe("govchain up --nodes 4", () => {
  const pids = new Set<number>();
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    // Node children of an `up` that a failed test killed with SIGKILL would outlive it.
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("runs four validators with the demo committed on all, and stops them all", {
    timeout: 300_000,
  }, async () => {
    const { dir, remove } = await tempDir("govchain-up4-");
    cleanups.push(remove);
    // Consecutive free ports, found by binding (a small race: see freePortRange).
    const restBase = await freePortRange(4);
    const p2pBase = await freePortRange(4);
    const up = startGovchain(
      [
        "up",
        "--nodes",
        "4",
        "--demo",
        "--port",
        String(restBase),
        "--p2p-port",
        String(p2pBase),
        "--json",
      ],
      dir,
    );
    const report = await ready(up);
    for (const n of report.nodes) pids.add(n.pid);
    expect(report.engine).toBe("pbft");
    expect(report.demo?.loaded).toBe(true);
    expect(report.nodes.map((n) => [n.id, n.rest, n.p2p])).toEqual(
      [0, 1, 2, 3].map((i) => [
        `node${i}`,
        `http://127.0.0.1:${restBase + i}`,
        `127.0.0.1:${p2pBase + i}`,
      ]),
    );
    expect(report.nodes.every((n) => isAlive(n.pid))).toBe(true);

    // Ready means committed everywhere: every node holds the demo data and the same head.
    const statuses = await Promise.all(
      report.nodes.map((n) => getJson<Status>(`${n.rest}/v1/status`)),
    );
    expect(new Set(statuses.map((s) => `${s.head}/${s.stateRoot}`)).size).toBe(1);
    expect(report.primary).toBe(statuses[0]?.primary);
    for (const n of report.nodes) {
      expect(await intkey(n.rest, "apples"), n.id).toBe(15);
      const ids = report.demo?.batchIds ?? [];
      const body = await getJson<{ data: { status: string }[] }>(
        `${n.rest}/batch_statuses?id=${ids.join(",")}`,
      );
      expect(body.data.map((s) => s.status)).toEqual(ids.map(() => "COMMITTED"));
    }

    // network.json: one entry per node, with the command that restarts it as it ran.
    const networkPath = join(dir, ".govchain/local/network.json");
    const recorded = JSON.parse(await readFile(networkPath, "utf8")) as NetworkFile;
    expect(recorded.nodes).toHaveLength(4);
    for (const [i, entry] of recorded.nodes.entries()) {
      const id = `node${i}`;
      expect(entry).toMatchObject({ id, rest: `http://127.0.0.1:${restBase + i}`, cwd: dir });
      expect(entry.pid).toBe(report.nodes[i]?.pid);
      expect(existsSync(entry.dataDir)).toBe(true);
      expect(entry.command.slice(0, 4)).toEqual([process.execPath, GOVCHAIN_BIN, "node", "start"]);
      const arg = (flag: string): string | undefined =>
        entry.command[entry.command.indexOf(flag) + 1];
      expect(arg("--node-id")).toBe(id);
      expect(arg("--api-port")).toBe(String(restBase + i));
      expect(arg("--data-dir")).toBe(entry.dataDir);
    }

    // The ports are taken now: another network on them is refused, naming the port.
    const clash = await runGovchain(
      ["up", "--network", "other", "--nodes", "4", "--port", String(restBase)],
      dir,
    );
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(
      new RegExp(`^error \\[PORT_IN_USE\\]: ports? ${restBase} \\(REST API of node0\\)`),
    );
    expect(existsSync(join(dir, ".govchain/other"))).toBe(false);

    // A validator killed under `up` is reported; the others keep running.
    const victim = report.nodes[3];
    if (victim === undefined) throw new Error("no node3");
    process.kill(victim.pid, "SIGKILL");
    await until("up to report node3's death", () =>
      up.stderr().includes("node3 stopped (signal SIGKILL)"),
    );
    await until("network.json to mark node3 stopped", async () => {
      const file = JSON.parse(await readFile(networkPath, "utf8")) as NetworkFile;
      return file.nodes[3]?.pid === null && file.nodes[0]?.pid !== null;
    });
    expect(report.nodes.slice(0, 3).every((n) => isAlive(n.pid))).toBe(true);
    expect(up.child.exitCode).toBeNull();

    // SIGTERM stops every child.
    expect(await up.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    for (const n of report.nodes) expect(isAlive(n.pid), n.id).toBe(false);
    const stopped = JSON.parse(await readFile(networkPath, "utf8")) as NetworkFile;
    expect(stopped.nodes.map((n) => n.pid)).toEqual([null, null, null, null]);
  });
});
