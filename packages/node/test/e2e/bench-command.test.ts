/**
 * `govchain bench` as users run it: a real process that starts a fresh local network in a
 * temporary directory, drives a pre-signed workload, prints one JSON report and removes the
 * network. Only what the report must contain and count is checked — never speed (figures are
 * for benchmarks, not tests).
 */
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../cli/run-cli.js";
import { API_READY, getJson, runGovchain, startGovchain, stopAll } from "./processes.js";

interface Report {
  tps: number;
  p50_ms: number;
  p99_ms: number;
  success_rate: number;
  cpu_us_per_tx: number | null;
  rss_mb: number | null;
  committed: number;
  submitted: number;
  refused: number;
  invalid_batches: number;
  conditions: Record<string, unknown>;
  ceiling: { one_core_tps: number; network_tps: number; ratio: number } | null;
  phases: { phase: string; p50_ms: number | null }[];
  per_node: { id: string; cpu_us_per_tx: number | null; rss_mb: number | null }[];
}

async function benchNetworkDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith("govchain-bench-net-"));
}

afterAll(stopAll);

describe("govchain bench", () => {
  it("drives the traceability workload through 4 validators and reports it", {
    timeout: 300_000,
  }, async () => {
    const { dir, remove } = await tempDir("govchain-bench-cmd-");
    const dirsBefore = await benchNetworkDirs();
    try {
      const run = await runGovchain(
        [
          "--json",
          "bench",
          "--nodes",
          "4",
          "--workload",
          "trace",
          "--transactions",
          "120",
          "--list-size",
          "4",
          "--commit",
          "all",
          "--no-ceiling",
        ],
        dir,
      );
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as Report;
      // Every timed lot committed on all four nodes, none refused or invalid.
      expect(report.submitted).toBe(120);
      expect(report.committed).toBe(120);
      expect(report.success_rate).toBe(1);
      expect(report.refused + report.invalid_batches).toBe(0);
      expect(report.tps).toBeGreaterThan(0);
      expect(report.p99_ms).toBeGreaterThanOrEqual(report.p50_ms);
      expect(report.conditions.nodes).toBe(4);
      expect(String(report.conditions.commit)).toContain("4 of 4");
      expect(report.ceiling).toBeNull();
      expect(report.per_node.map((n) => n.id).sort()).toEqual(["node0", "node1", "node2", "node3"]);
      for (const node of report.per_node) {
        expect(node.cpu_us_per_tx).toBeGreaterThan(0);
        expect(node.rss_mb).toBeGreaterThan(0);
      }
      expect(report.cpu_us_per_tx).toBeGreaterThan(0);
      // PBFT nodes time their phases; the window saw blocks decided.
      expect(report.phases.find((p) => p.phase === "decided")?.p50_ms).toBeGreaterThan(0);
      // The network it started is gone.
      expect((await benchNetworkDirs()).filter((d) => !dirsBefore.includes(d))).toEqual([]);
    } finally {
      await remove();
    }
  });

  it("drives running nodes with --target in open loop and measures the ceiling", {
    timeout: 300_000,
  }, async () => {
    const { dir, remove } = await tempDir("govchain-bench-target-");
    try {
      const init = await runGovchain(["network", "init", "--nodes", "1", "--dir", "net"], dir);
      expect(init.code, init.stderr).toBe(0);
      const node = startGovchain(
        [
          "node",
          "start",
          "--data-dir",
          "net/nodes/node0/data",
          "--genesis",
          "net/genesis.json",
          "--key",
          "net/nodes/node0/validator.key",
          "--api-port",
          "0",
        ],
        dir,
      );
      const ready = await node.waitForLine((line) => line.includes(API_READY));
      const url = ready.slice(ready.indexOf(API_READY) + API_READY.length).trim();
      expect(url).toBeDefined();
      const heightBefore = Number((await getJson<{ height: string }>(`${url}/v1/status`)).height);
      const run = await runGovchain(
        [
          "--json",
          "bench",
          "--target",
          String(url),
          "--rate",
          "200",
          "--duration",
          "2",
          "--commit",
          "first",
        ],
        dir,
      );
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as Report;
      expect(report.submitted).toBe(400);
      expect(report.committed).toBe(400);
      expect(String(report.conditions.mode)).toContain("open loop, 200 tx/s");
      expect(report.conditions.network).toBe("running network (--target)");
      expect(report.ceiling?.one_core_tps).toBeGreaterThan(0);
      expect(report.ceiling?.ratio).toBeGreaterThan(0);
      // The node it drove is still there, with the load committed.
      const after = await getJson<{ height: string }>(`${url}/v1/status`);
      expect(Number(after.height)).toBeGreaterThan(heightBefore);
      await node.stop("SIGTERM");
    } finally {
      await remove();
    }
  });

  it("refuses a trace workload on --target nodes without an administrator key", async () => {
    const { dir, remove } = await tempDir("govchain-bench-usage-");
    try {
      const run = await runGovchain(
        ["--json", "bench", "--workload", "trace", "--target", "http://127.0.0.1:9"],
        dir,
      );
      expect(run.code).toBe(2);
      expect(JSON.parse(run.stdout).error.code).toBe("USAGE_ERROR");
    } finally {
      await remove();
    }
  });
});
