/**
 * The CLI end to end with real processes, as a user drives it: `network init` in an empty
 * directory, `node start` on a free port (learning the port from its `API listening at` line),
 * intkey writes and reads through separate CLI processes, the block list, and a state proof
 * fetched from the node and verified offline — a tampered copy fails with exit code 1. Once
 * per crypto suite. The node stops cleanly (exit 0) on SIGTERM.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { intkeyAddress } from "../../src/families/index.js";
import { tempDir } from "../cli/run-cli.js";
import { runGovchain, startNode, stopAll } from "./processes.js";

const NET = ".govchain/local";

describe.each(["standard", "gm"] as const)("govchain CLI processes (%s suite)", (suite) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("initialises, runs a node, writes, reads, proves and verifies", {
    timeout: 180_000,
  }, async () => {
    const { dir, remove } = await tempDir(`govchain-e2e-${suite}-`);
    cleanups.push(remove);

    const init = await runGovchain(["network", "init", "--suite", suite], dir);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`created network govchain-local (${suite} suite, devmode)`);

    const { proc: node, url } = await startNode(
      [
        "--data-dir",
        `${NET}/nodes/node0/data`,
        "--genesis",
        `${NET}/genesis.json`,
        "--key",
        `${NET}/nodes/node0/validator.key`,
        "--api-port",
        "0",
      ],
      dir,
    );
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = (await (await fetch(`${url}/v1/status`)).json()) as {
      suite: string;
      chainId: string;
    };
    expect(status).toMatchObject({ suite, chainId: "govchain-local" });

    const set = await runGovchain(
      ["intkey", "set", "apples", "10", "--url", url, "--key", `${NET}/keys/operator.key`],
      dir,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/COMMITTED/);
    const inc = await runGovchain(["intkey", "inc", "apples", "32", "--url", url], dir);
    expect(inc.code, inc.stderr).toBe(0);

    const show = await runGovchain(["intkey", "show", "apples", "--url", url, "--json"], dir);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: "apples", value: 42 });

    const blocks = await runGovchain(["block", "list", "--url", url], dir);
    expect(blocks.code, blocks.stderr).toBe(0);
    const rows = blocks.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/HEIGHT/);
    // Genesis plus at least one block per committed write.
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.at(-1)).toMatch(/^\s+0\s/);

    const address = intkeyAddress("apples");
    const proof = await runGovchain(
      ["proof", "get", address, "--url", url, "--out", "apples.proof.json"],
      dir,
    );
    expect(proof.code, proof.stderr).toBe(0);

    // Verification needs no node: only the proof and the genesis file.
    const stopped = await node.stop("SIGTERM");
    expect(stopped).toEqual({ code: 0, signal: null });

    const verify = await runGovchain(
      ["proof", "verify", "apples.proof.json", "--genesis", `${NET}/genesis.json`],
      dir,
    );
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^valid: ${address} = \\{"apples":42\\}$`, "m"));

    const document = JSON.parse(await readFile(join(dir, "apples.proof.json"), "utf8")) as {
      proof: { value: string };
    };
    document.proof.value = document.proof.value.replace(/..$/, (byte) =>
      byte === "00" ? "01" : "00",
    );
    await writeFile(join(dir, "tampered.json"), JSON.stringify(document));
    const tampered = await runGovchain(
      ["proof", "verify", "tampered.json", "--genesis", `${NET}/genesis.json`],
      dir,
    );
    expect(tampered.code).toBe(1);
    expect(tampered.stderr.trim()).toMatch(/^error \[PROOF_INVALID\]: /);
    expect(tampered.stdout).toBe("");
  });
});
