/**
 * `network init` for PBFT networks and the P2P options of `node start`: per-node keys and
 * endpoints in a signed genesis that a node accepts, `--hosts` in its forms, the consensus
 * options, the copy instructions for several hosts, and the refusals. `node start` on a
 * one-validator PBFT chain with `--p2p-port 0` prints where its transport listens.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { isLoopbackHost, networkLayout, validatorEndpoints } from "../../src/cli/network.js";
import { p2pListenAddress } from "../../src/cli/node-command.js";
import type { CliIo } from "../../src/cli/output.js";
import { getSuite, readKeyFile, suiteIdOf } from "../../src/crypto/index.js";
import { type GenesisConfig, genesisBlock, parseGenesis } from "../../src/genesis/genesis.js";
import { createStateTree } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { runCli, tempDir } from "./run-cli.js";

async function readGenesis(path: string): Promise<GenesisConfig> {
  return parseGenesis(JSON.parse(await readFile(path, "utf8")));
}

describe("govchain network init (PBFT)", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async () => remove());

  it("makes a PBFT network by default for several nodes, with one key and endpoint each", async () => {
    const run = await runCli(["network", "init", "--nodes", "4", "--json"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const layout = networkLayout(join(dir, ".govchain/local"), 4);
    const genesis = await readGenesis(layout.genesisPath);
    expect(genesis.consensus).toEqual({ engine: "pbft" });
    const keys = await Promise.all(
      layout.nodes.map(async (n) => {
        const key = await readKeyFile(n.keyPath);
        return getSuite(suiteIdOf(key.algorithm)).createSigner(key).publicKeyHex;
      }),
    );
    expect(new Set(keys).size).toBe(4);
    expect(genesis.validators).toEqual(
      keys.map((publicKey, i) => ({
        id: `node${i}`,
        publicKey,
        endpoint: `127.0.0.1:${8800 + i}`,
      })),
    );
    expect(run.json()).toMatchObject({
      engine: "pbft",
      nodes: [{ id: "node0", endpoint: "127.0.0.1:8800" }, {}, {}, { endpoint: "127.0.0.1:8803" }],
    });

    // Every node recomputes the same block 0 and accepts the admin's signature over it.
    const suite = getSuite(genesis.suite);
    const store = createMemoryStore();
    await store.open();
    const block = await genesisBlock(
      genesis,
      suite,
      createStateTree({ store, hash: suite.hash, hashName: suite.hashName }),
    );
    expect(block.id).toBe(genesis.block.signature);
  });

  it("takes hosts, a base port and consensus options, and says what to copy where", async () => {
    const run = await runCli(
      [
        "network",
        "init",
        "--nodes",
        "4",
        "--hosts",
        "node0,node1,10.0.0.7:9100,[fd00::4]",
        "--p2p-base-port",
        "9000",
        "--view-change-timeout-ms",
        "1500",
        "--checkpoint-interval",
        "20",
      ],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    const genesis = await readGenesis(join(dir, ".govchain/local/genesis.json"));
    expect(genesis.validators.map((v) => v.endpoint)).toEqual([
      "node0:9000",
      "node1:9001",
      "10.0.0.7:9100",
      "[fd00::4]:9003",
    ]);
    expect(genesis.consensus).toEqual({
      engine: "pbft",
      viewChangeTimeoutMs: 1500,
      checkpointInterval: 20,
    });
    expect(run.stdout).toContain("created network govchain-local (standard suite, pbft)");
    expect(run.stdout).toMatch(/copy \.govchain\/local\/genesis\.json to every host/);
    expect(run.stdout).toMatch(
      /copy \.govchain\/local\/nodes\/node2\/validator\.key to 10\.0\.0\.7 only/,
    );
    expect(run.stdout).toMatch(/--node-id node3 .*--p2p-host 0\.0\.0\.0/);
    expect(run.stdout).toMatch(/keep \.govchain\/local\/keys\/ .* off the validator hosts/);
  });

  it("raises the view-change cap with a long first timeout; one-node PBFT is allowed", async () => {
    const run = await runCli(
      ["network", "init", "--engine", "pbft", "--view-change-timeout-ms", "20000"],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    const genesis = await readGenesis(join(dir, ".govchain/local/genesis.json"));
    expect(genesis.consensus).toEqual({
      engine: "pbft",
      viewChangeTimeoutMs: 20_000,
      maxViewChangeTimeoutMs: 20_000,
    });
    expect(genesis.validators).toEqual([
      expect.objectContaining({ id: "node0", endpoint: "127.0.0.1:8800" }),
    ]);
    // Loopback only: no copy instructions, a local start hint instead.
    expect(run.stdout).not.toContain("copy ");
  });

  it("refuses wrong host lists and options that do not fit the engine", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--nodes", "4", "--hosts", "a,b"],
        /^error \[INVALID_ARGUMENT\]: --hosts lists 2 hosts for 4 nodes/,
      ],
      [
        ["--nodes", "2", "--hosts", "a:9000,a:9000"],
        /^error \[INVALID_ARGUMENT\]: two validators would listen on a:9000/,
      ],
      [["--nodes", "2", "--hosts", "a,b c"], /^error \[INVALID_ARGUMENT\]: --hosts entry 2/],
      [["--nodes", "2", "--hosts", "a,b:70000"], /^error \[INVALID_ARGUMENT\]: --hosts entry 2/],
      [
        ["--nodes", "2", "--p2p-base-port", "65535"],
        /^error \[INVALID_ARGUMENT\]: --p2p-base-port 65535 leaves no port for node1/,
      ],
      [
        ["--nodes", "4", "--engine", "devmode"],
        /^error \[UNSUPPORTED\]: the devmode engine runs exactly one validator/,
      ],
      [
        ["--hosts", "a"],
        /^error \[INVALID_ARGUMENT\]: --hosts, --p2p-base-port and the consensus options apply to PBFT/,
      ],
      [["--checkpoint-interval", "5"], /^error \[INVALID_ARGUMENT\]: .*apply to PBFT/],
      [["--p2p-base-port", "9000"], /^error \[INVALID_ARGUMENT\]: --p2p-base-port applies to PBFT/],
    ];
    for (const [args, expected] of cases) {
      const run = await runCli(["network", "init", "--dir", "n", ...args], { cwd: dir });
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr, args.join(" ")).toMatch(expected);
    }
    // Nothing was written by the refused runs.
    const again = await runCli(["network", "init", "--dir", "n", "--nodes", "4"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
  });
});

describe("endpoint helpers", () => {
  it("derives endpoints from hosts and a base port", () => {
    expect(validatorEndpoints(3, undefined, 8800)).toEqual([
      "127.0.0.1:8800",
      "127.0.0.1:8801",
      "127.0.0.1:8802",
    ]);
    expect(validatorEndpoints(3, ["::1", "[::1]:7000", "h.example.org"], 100)).toEqual([
      "[::1]:100",
      "[::1]:7000",
      "h.example.org:102",
    ]);
  });

  it("tells loopback hosts from others", () => {
    expect(["127.0.0.1", "127.1.2.3", "localhost", "::1"].every(isLoopbackHost)).toBe(true);
    expect(["10.0.0.1", "node0", "0.0.0.0", "govchain-0.govchain"].some(isLoopbackHost)).toBe(
      false,
    );
  });

  it("overrides the genesis endpoint's host or port for the listening socket", () => {
    const genesis = {
      validators: [{ id: "node1", publicKey: "", endpoint: "node1:8801" }],
    } as unknown as GenesisConfig;
    expect(p2pListenAddress(genesis, "node1", undefined, undefined)).toBeUndefined();
    expect(p2pListenAddress(genesis, "node1", "0.0.0.0", undefined)).toEqual({
      host: "0.0.0.0",
      port: 8801,
    });
    expect(p2pListenAddress(genesis, "node1", undefined, 0)).toEqual({ host: "node1", port: 0 });
    expect(p2pListenAddress(genesis, "observer", undefined, 9000)).toEqual({
      host: "127.0.0.1",
      port: 9000,
    });
  });
});

describe("govchain node start (PBFT)", () => {
  it("prints where the validator transport listens, before the API line", {
    timeout: 60_000,
  }, async () => {
    const { dir, remove } = await tempDir();
    try {
      const init = await runCli(["network", "init", "--engine", "pbft"], { cwd: dir });
      expect(init.code, init.stderr).toBe(0);
      let stdout = "";
      let stderr = "";
      // Resolved by the API line (or by the command ending early, which the checks then report).
      let markReady = (): void => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      const stop = new AbortController();
      const io: CliIo = {
        stdout: {
          write(chunk: string) {
            stdout += chunk;
            if (stdout.includes("API listening at ")) markReady();
            return true;
          },
        },
        stderr: {
          write(chunk: string) {
            stderr += chunk;
            return true;
          },
        },
        env: {},
        cwd: dir,
        ownsProcess: false,
        signal: stop.signal,
      };
      const net = ".govchain/local";
      const running = main(
        [
          "node",
          "govchain",
          "node",
          "start",
          "--data-dir",
          `${net}/nodes/node0/data`,
          "--genesis",
          `${net}/genesis.json`,
          "--key",
          `${net}/nodes/node0/validator.key`,
          "--api-port",
          "0",
          "--p2p-port",
          "0",
          "--log-level",
          "silent",
        ],
        io,
      );
      void running.then(markReady);
      await ready;
      const lines = stdout.split("\n");
      const p2p = lines.findIndex((l) => /^P2P listening at 127\.0\.0\.1:\d+$/.test(l));
      const api = lines.findIndex((l) => l.startsWith("API listening at http://127.0.0.1:"));
      expect(p2p, stdout + stderr).toBeGreaterThanOrEqual(0);
      expect(api).toBe(p2p + 1);
      expect(lines[p2p]).not.toMatch(/:8800$/);
      stop.abort();
      expect(await running).toBe(0);
    } finally {
      await remove();
    }
  });
});
