/**
 * The client commands against a real node in this process (memory store, REST API on a free
 * port): every command the CLI offers, in the order a user would try them, through the same
 * `main` the binary runs. Real-process runs are in test/e2e/.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { networkLayout } from "../../src/cli/network.js";
import { silentLogger } from "../../src/common/logger.js";
import { readKeyFile } from "../../src/crypto/index.js";
import { agentAddress, intkeyAddress, organisationAddress } from "../../src/families/index.js";
import { parseGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode } from "../../src/node.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { type CliRun, runCli, tempDir } from "./run-cli.js";

describe("govchain client commands against a node", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let node: GovchainNode;
  let url: string;
  const cli = (...args: string[]): Promise<CliRun> => runCli([...args, "--url", url], { cwd: dir });
  const cliJson = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const run = await cli(...args, "--json");
    expect(run.code, run.stderr + run.stdout).toBe(0);
    return run.json<T>();
  };

  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
    const init = await runCli(["network", "init"], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    const layout = networkLayout(join(dir, ".govchain/local"), 1);
    const nodeLayout = layout.nodes[0];
    if (nodeLayout === undefined) throw new Error("no node");
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
  });

  afterAll(async () => {
    await node?.stop();
    await remove?.();
  });

  it("writes and reads intkey values, signing with the local admin key by default", async () => {
    const set = await cli("intkey", "set", "apples", "10");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^batch [0-9a-f]{128} COMMITTED$/m);
    expect(set.stdout).toContain("apples = 10");

    const inc = await cliJson<{ batches: { status: string }[]; value: number }>(
      "intkey",
      "inc",
      "apples",
      "5",
    );
    expect(inc.batches[0]?.status).toBe("COMMITTED");
    expect(inc.value).toBe(15);

    const dec = await cli(
      "intkey",
      "dec",
      "apples",
      "2",
      "--key",
      ".govchain/local/keys/operator.key",
    );
    expect(dec.code, dec.stderr).toBe(0);

    expect((await cli("intkey", "show", "apples")).stdout.trim()).toBe("apples = 13");
    expect(await cliJson("intkey", "show", "apples")).toEqual({
      name: "apples",
      value: 13,
      address: intkeyAddress("apples"),
    });
    expect((await cliJson<{ values: unknown[] }>("intkey", "list")).values).toEqual([
      { name: "apples", value: 13 },
    ]);
  });

  it("reports an INVALID batch with its reason and exit code 1", async () => {
    const again = await cli("intkey", "set", "apples", "1");
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(
      /^error \[BATCH_INVALID\]: batch [0-9a-f]{16}… is INVALID: Verb is 'set', but already exists/,
    );
    expect(again.stderr.trim().split("\n")).toHaveLength(1);

    const missing = await cli("intkey", "show", "nothing");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \[NOT_FOUND\]: /);

    const tooBig = await cli("intkey", "set", "big", "4294967296");
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toMatch(/^error \[USAGE_ERROR\]: /);
  });

  it("reports an admission refusal with the node's reason", async () => {
    // The operator is not allowed to create organisations: admission checks the identity
    // family's policy (roles:system_admin,org_admin) before the batch is queued.
    const run = await cli(
      "identity",
      "org",
      "create",
      "rogue",
      "Rogue",
      "--key",
      ".govchain/local/keys/operator.key",
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[[A-Z_]+\]: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("manages organisations and agents", async () => {
    const created = await cli(
      "identity",
      "org",
      "create",
      "acme",
      "Acme Ltd",
      "--kind",
      "enterprise",
    );
    expect(created.code, created.stderr).toBe(0);
    expect(await cliJson("identity", "org", "show", "acme")).toMatchObject({
      id: "acme",
      name: "Acme Ltd",
      kind: "enterprise",
      active: true,
      address: organisationAddress("acme"),
    });

    const keygen = await runCli(["keygen", "clerk", "--json"], { cwd: dir });
    const { publicKey } = keygen.json<{ publicKey: string }>();
    const registered = await cli(
      "identity",
      "agent",
      "register",
      ".govchain/keys/clerk.key",
      "Clerk",
      "--roles",
      "operator",
      "--org",
      "acme",
    );
    expect(registered.code, registered.stderr).toBe(0);
    expect(await cliJson("identity", "agent", "show", publicKey)).toMatchObject({
      publicKey,
      name: "Clerk",
      organisationId: "acme",
      roles: ["operator"],
      active: true,
      address: agentAddress(publicKey),
    });

    const updated = await cli(
      "identity",
      "agent",
      "update",
      publicKey,
      "--name",
      "Senior clerk",
      "--active",
      "false",
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(await cliJson("identity", "agent", "show", publicKey)).toMatchObject({
      name: "Senior clerk",
      active: false,
    });

    // The demo department's administrator cannot manage agents of another organisation.
    const foreign = await cli(
      "identity",
      "agent",
      "update",
      publicKey,
      "--name",
      "x",
      "--key",
      ".govchain/local/keys/org-admin.key",
    );
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/^error \[BATCH_INVALID\]: .*administrator of acme/);

    const badRole = await cli("identity", "agent", "register", publicKey, "x", "--roles", "king");
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/unknown role king/);
  });

  it("proposes settings and lists them", async () => {
    const proposed = await cliJson<{ proposalId: string; batches: { status: string }[] }>(
      "settings",
      "propose",
      "govchain.chain.name",
      "CLI test chain",
    );
    expect(proposed.proposalId).toMatch(/^[0-9a-f]{64}$/);
    expect(proposed.batches[0]?.status).toBe("COMMITTED");
    const listed = await cliJson<{
      settings: { key: string; value: string }[];
      proposals: unknown[];
    }>("settings", "list");
    expect(listed.settings).toContainEqual({ key: "govchain.chain.name", value: "CLI test chain" });
    expect(listed.proposals).toEqual([]);

    const unknownVote = await cli("settings", "vote", "ab".repeat(32), "accept");
    expect(unknownVote.code).toBe(1);
    expect(unknownVote.stderr).toMatch(/^error \[NOT_FOUND\]: no pending proposal/);

    const refused = await cli(
      "settings",
      "propose",
      "govchain.chain.name",
      "x",
      "--key",
      ".govchain/local/keys/operator.key",
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not authorized/);
  });

  it("reads state by address and prefix", async () => {
    const address = intkeyAddress("apples");
    const got = await cliJson<{ base64: string; decoded: unknown; kind: string }>(
      "state",
      "get",
      address,
    );
    expect(got).toMatchObject({ kind: "intkey", decoded: { apples: 13 } });
    const human = await cli("state", "get", address);
    expect(human.stdout).toContain(`address  ${address}`);
    expect(human.stdout).toContain("base64   ");

    const listed = await cliJson<{ entries: { address: string }[] }>("state", "list", "1cf126");
    expect(listed.entries.map((e) => e.address)).toEqual([address]);
    const all = await cliJson<{ entries: unknown[]; more: boolean }>(
      "state",
      "list",
      "--limit",
      "2",
    );
    expect(all.entries).toHaveLength(2);
    expect(all.more).toBe(true);

    const bad = await cli("state", "get", "xyz");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \[INVALID_ARGUMENT\]/);
    const absent = await cli("state", "get", `1cf126${"0".repeat(64)}`);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/^error \[NOT_FOUND\]/);
  });

  it("lists and shows blocks by height and id", async () => {
    const { blocks } = await cliJson<{ blocks: { id: string; height: string }[] }>(
      "block",
      "list",
      "--limit",
      "3",
    );
    expect(blocks).toHaveLength(3);
    const heights = blocks.map((b) => BigInt(b.height));
    expect(heights[0]).toBe(BigInt(node.status().height));
    expect(heights).toEqual([...heights].sort((a, b) => (a > b ? -1 : 1)));

    const genesis = await cliJson<{ id: string; height: string; previousId: string }>(
      "block",
      "show",
      "0",
    );
    expect(genesis.height).toBe("0");
    expect(genesis.previousId).toBe("0000000000000000");
    const byId = await cliJson<{ height: string }>("block", "show", blocks[1]?.id ?? "");
    expect(byId.height).toBe(blocks[1]?.height);

    const table = await cli("block", "list");
    expect(table.stdout.split("\n")[0]).toMatch(/HEIGHT\s+BLOCK ID/);
    const beyond = await cli("block", "show", "999999");
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toMatch(/^error \[NOT_FOUND\]/);
  });

  it("submits a BatchList file and follows batch statuses", async () => {
    // Build a batch with the library and hand its bytes to `batch submit`, as a file from
    // another Sawtooth client would be.
    const { buildBatch } = await import("../../src/cli/submit.js");
    const { intkeyTransaction } = await import("../../src/cli/intkey.js");
    const { loadKey } = await import("../../src/cli/context.js");
    const { encodeBatchList } = await import("../../src/wire/index.js");
    const key = await loadKey(join(dir, ".govchain/local/keys/operator.key"));
    const good = buildBatch(key, [intkeyTransaction("set", "pears", 4)]);
    const bad = buildBatch(key, [intkeyTransaction("inc", "never-set", 1)]);
    await writeFile(join(dir, "good.batch"), encodeBatchList([good]));
    await writeFile(join(dir, "mixed.batch"), encodeBatchList([bad]));

    const submitted = await cli("batch", "submit", "good.batch");
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout.trim()).toBe(`${good.headerSignature}  COMMITTED`);

    const rejected = await cli("batch", "submit", "mixed.batch", "--json");
    expect(rejected.code).toBe(1);
    expect(rejected.json()).toMatchObject({
      batches: [{ id: bad.headerSignature, status: "INVALID" }],
    });

    const status = await cliJson<{ batches: { id: string; status: string }[] }>(
      "batch",
      "status",
      good.headerSignature,
      bad.headerSignature,
    );
    expect(status.batches.map((b) => b.status)).toEqual(["COMMITTED", "INVALID"]);

    await writeFile(join(dir, "junk.batch"), "not a batch list");
    const junk = await cli("batch", "submit", "junk.batch");
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/^error \[FILE_INVALID\]/);
  });

  it("gets proofs that verify offline, and rejects tampered ones", async () => {
    const address = intkeyAddress("apples");
    const got = await cli("proof", "get", address, "--out", "apples.proof.json");
    expect(got.code, got.stderr).toBe(0);
    const verified = await runCli(["proof", "verify", "apples.proof.json", "--json"], { cwd: dir });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.json()).toMatchObject({
      valid: true,
      included: true,
      value: { decoded: { apples: 13 } },
      signer: { id: "node0" },
    });

    const document = JSON.parse(await readFile(join(dir, "apples.proof.json"), "utf8")) as {
      block: { height: string; stateRoot: string; signerPublicKey: string };
      proof: { value: string };
    };
    const tamper = async (name: string, edit: (d: typeof document) => void): Promise<CliRun> => {
      const copy = structuredClone(document);
      edit(copy);
      await writeFile(join(dir, name), JSON.stringify(copy));
      return runCli(["proof", "verify", name], { cwd: dir });
    };
    const value = await tamper("t-value.json", (d) => {
      d.proof.value = d.proof.value.replace(/..$/, "ff");
    });
    expect(value.code).toBe(1);
    expect(value.stderr).toMatch(/^error \[PROOF_INVALID\]: /);
    const height = await tamper("t-height.json", (d) => {
      d.block.height = "1";
    });
    expect(height.code).toBe(1);
    const signer = await tamper("t-signer.json", (d) => {
      d.block.signerPublicKey = "00".repeat(32);
    });
    expect(signer.code).toBe(1);
    expect(signer.stderr).toMatch(/signature does not verify/);

    // Absence is proved too, also at the genesis block (signed by the genesis signer).
    const absentAddress = `1cf126${"0".repeat(64)}`;
    const genesisId = (await cliJson<{ id: string }>("block", "show", "0")).id;
    expect(
      (await cli("proof", "get", absentAddress, "--head", genesisId, "--out", "absent.json")).code,
    ).toBe(0);
    const absent = await runCli(["proof", "verify", "absent.json"], { cwd: dir });
    expect(absent.code, absent.stderr).toBe(0);
    expect(absent.stdout).toMatch(/^valid: 1cf1260+ is absent$/m);
    expect(absent.stdout).toContain("the genesis signer");

    // Another chain's genesis does not vouch for this chain's blocks.
    const other = await tempDir();
    try {
      expect((await runCli(["network", "init"], { cwd: other.dir })).code).toBe(0);
      const foreign = await runCli(
        [
          "proof",
          "verify",
          join(dir, "apples.proof.json"),
          "--genesis",
          join(other.dir, ".govchain/local/genesis.json"),
        ],
        { cwd: dir },
      );
      expect(foreign.code).toBe(1);
      expect(foreign.stderr).toMatch(/not a validator in the genesis file/);
    } finally {
      await other.remove();
    }
  });

  it("prints the proof document to stdout without --out", async () => {
    const run = await cli("proof", "get", intkeyAddress("apples"));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      address: intkeyAddress("apples"),
      block: { signerPublicKey: expect.any(String) },
    });
  });
});

describe("govchain errors", () => {
  it("prints one line with the code when no node answers, and the stack with --verbose", async () => {
    const { dir, remove } = await tempDir();
    try {
      // A port nothing listens on: bind one, then close it.
      const { createServer } = await import("node:net");
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      await new Promise<void>((resolve) => server.close(() => resolve()));

      const url = `http://127.0.0.1:${port}`;
      const run = await runCli(["intkey", "show", "x", "--url", url], { cwd: dir });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(
        /^error \[API_UNREACHABLE\]: cannot reach the govchain API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
      );

      const verbose = await runCli(["intkey", "show", "x", "--url", url, "--verbose"], {
        cwd: dir,
      });
      expect(verbose.stderr).toMatch(/\n\s+at /);

      const json = await runCli(["intkey", "show", "x", "--url", url, "--json"], { cwd: dir });
      expect(json.code).toBe(1);
      expect(json.json()).toMatchObject({ error: { code: "API_UNREACHABLE" } });

      const usage = await runCli(["intkey", "frobnicate"], { cwd: dir });
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^error \[USAGE_ERROR\]: unknown command 'frobnicate'/);

      const noKey = await runCli(["intkey", "set", "a", "1", "--url", url], { cwd: dir });
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toMatch(/^error \[KEY_REQUIRED\]/);

      const help = await runCli(["intkey", "set", "--help"], { cwd: dir });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("--wait <seconds>");

      // `up` checks its port before touching anything.
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
      const busyAddress = busy.address();
      const busyPort =
        typeof busyAddress === "object" && busyAddress !== null ? busyAddress.port : 0;
      try {
        const up = await runCli(["up", "--port", String(busyPort)], { cwd: dir });
        expect(up.code).toBe(1);
        expect(up.stderr).toMatch(new RegExp(`^error \\[PORT_IN_USE\\]: port ${busyPort} `));
      } finally {
        await new Promise<void>((resolve) => busy.close(() => resolve()));
      }
    } finally {
      await remove();
    }
  });
});
