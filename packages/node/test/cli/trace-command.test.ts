/**
 * `govchain trace` against a real node loaded with the demo that `up --demo` loads: the
 * retailer's lot traces upstream to the farm, the farm's lot downstream to both retailers
 * through the distributor's split; the CLI's `--json` output is exactly what the REST API
 * serves; a Digital Link from a QR code traces the same lot; the QR code is saved.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/cli/client.js";
import { loadDemoData } from "../../src/cli/demo.js";
import { networkLayout } from "../../src/cli/network.js";
import { createOutput } from "../../src/cli/output.js";
import { silentLogger } from "../../src/common/logger.js";
import { readKeyFile } from "../../src/crypto/index.js";
import { parseGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode } from "../../src/node.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { runCli, tempDir } from "./run-cli.js";

describe("govchain trace", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let node: GovchainNode;
  let url: string;
  let lots: Record<string, { gtin: string; lot: string; digitalLink: string }>;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
    expect((await runCli(["network", "init"], { cwd: dir })).code).toBe(0);
    const layout = networkLayout(join(dir, ".govchain/local"), 1);
    const nodeLayout = layout.nodes[0];
    if (!nodeLayout) throw new Error("no node");
    node = createNode({
      nodeId: "node0",
      dataDir: nodeLayout.dataDir,
      genesis: parseGenesis(JSON.parse(await readFile(layout.genesisPath, "utf8"))),
      key: await readKeyFile(nodeLayout.keyPath),
      store: createMemoryStore(),
      api: { host: "127.0.0.1", port: 0 },
      logger: silentLogger,
    });
    await node.start();
    url = node.apiUrl ?? "";
    const sink = { isTTY: false, write: () => true };
    const output = createOutput(
      { stdout: sink, stderr: sink, env: {}, cwd: dir, ownsProcess: false },
      { json: true, verbose: false },
    );
    const summary = await loadDemoData(createApiClient({ url }), layout, output);
    expect(summary.loaded).toBe(true);
    lots = summary.trace;
  });

  afterAll(async () => {
    await node?.stop();
    await remove?.();
  });

  it("traces a retailer's lot upstream to the farm", async () => {
    const east = lots.flourEast as { gtin: string; lot: string };
    const run = await runCli(["trace", east.gtin, "--lot", east.lot, "--url", url], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Upstream");
    expect(run.stdout).toMatch(/split .*demo-distributor/);
    expect(run.stdout).toContain((lots.wheat as { lot: string }).lot); // the farm's lot
    expect(run.stdout).toMatch(/create_lot .*demo-farm/);
  });

  it("traces the farm's lot downstream to both retailers through the split", async () => {
    const wheat = lots.wheat as { gtin: string; lot: string };
    const run = await runCli(
      [
        "trace",
        wheat.gtin,
        "--lot",
        wheat.lot,
        "--direction",
        "down",
        "--steps",
        "none",
        "--url",
        url,
      ],
      {
        cwd: dir,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain((lots.flourEast as { lot: string }).lot);
    expect(run.stdout).toContain((lots.flourWest as { lot: string }).lot);
    expect(run.stdout).toMatch(/demo-retail-east/);
    expect(run.stdout).toMatch(/demo-retail-west/);
  });

  it("prints exactly what the REST API serves with --json, and resolves Digital Links", async () => {
    const west = lots.flourWest as { gtin: string; lot: string; digitalLink: string };
    const cli = await runCli(["trace", west.gtin, "--lot", west.lot, "--json", "--url", url], {
      cwd: dir,
    });
    expect(cli.code, cli.stderr).toBe(0);
    const rest = await (
      await fetch(`${url}/v1/trace/${west.gtin}?lot=${encodeURIComponent(west.lot)}&direction=both`)
    ).json();
    expect(cli.json()).toEqual(rest);

    const viaLink = await runCli(["trace", "--uri", west.digitalLink, "--json", "--url", url], {
      cwd: dir,
    });
    expect(viaLink.code, viaLink.stderr).toBe(0);
    expect((viaLink.json() as { origin: unknown }).origin).toEqual(
      (cli.json() as { origin: unknown }).origin,
    );
  });

  it("saves the lot's QR code and refuses a bad check digit with a clear reason", async () => {
    const east = lots.flourEast as { gtin: string; lot: string };
    const file = join(dir, "lot.svg");
    const run = await runCli(["trace", east.gtin, "--lot", east.lot, "--qr", file, "--url", url], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toMatch(/^<svg/);

    const badGtin = `${east.gtin.slice(0, 13)}${(Number(east.gtin.slice(13)) + 1) % 10}`;
    const bad = await runCli(["trace", badGtin, "--lot", east.lot, "--url", url], { cwd: dir });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/check digit/i);
  });
});
