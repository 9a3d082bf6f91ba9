/**
 * `keygen` and `network init` write valid files — keys that load, a genesis that a node accepts
 * (its block-0 signature checks out) with the administrators, organisation and policies the
 * local network relies on — and refuse to overwrite what exists.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { networkLayout } from "../../src/cli/network.js";
import { getSuite, readKeyFile, suiteIdOf } from "../../src/crypto/index.js";
import { AUTHORIZED_KEYS_SETTING, familyPolicyKey } from "../../src/families/index.js";
import { genesisBlock, parseGenesis } from "../../src/genesis/genesis.js";
import { createStateTree } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { runCli, tempDir } from "./run-cli.js";

async function publicKeyOf(path: string): Promise<string> {
  const key = await readKeyFile(path);
  return getSuite(suiteIdOf(key.algorithm)).createSigner(key).publicKeyHex;
}

describe("govchain keygen", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async () => remove());

  it("writes a usable key file and .pub, and prints the public key", async () => {
    const run = await runCli(["keygen", "alice"], { cwd: dir });
    expect(run.code).toBe(0);
    const path = join(dir, ".govchain/keys/alice.key");
    const publicKey = await publicKeyOf(path);
    expect(run.stdout).toContain(publicKey);
    expect((await readFile(join(dir, ".govchain/keys/alice.pub"), "utf8")).trim()).toBe(publicKey);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readKeyFile(path)).algorithm).toBe("ed25519");
  });

  it("picks the algorithm from the suite, or takes it explicitly", async () => {
    const gm = await runCli(["keygen", "g", "--suite", "gm", "--dir", "k", "--json"], { cwd: dir });
    expect(gm.code).toBe(0);
    expect(gm.json()).toMatchObject({ algorithm: "sm2", suite: "gm" });
    expect((await readKeyFile(join(dir, "k/g.key"))).algorithm).toBe("sm2");

    const secp = await runCli(["keygen", "s", "--algorithm", "secp256k1", "--dir", "k", "--json"], {
      cwd: dir,
    });
    expect(secp.code).toBe(0);
    const { publicKey } = secp.json<{ publicKey: string }>();
    expect(publicKey).toMatch(/^0[23][0-9a-f]{64}$/);

    const mismatch = await runCli(["keygen", "x", "--suite", "gm", "--algorithm", "ed25519"], {
      cwd: dir,
    });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: /);
  });

  it("refuses to overwrite an existing key unless --force", async () => {
    expect((await runCli(["keygen", "bob"], { cwd: dir })).code).toBe(0);
    const path = join(dir, ".govchain/keys/bob.key");
    const before = await readFile(path, "utf8");

    const again = await runCli(["keygen", "bob"], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[KEY_FILE_EXISTS\]: .*bob\.key/);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(await readFile(path, "utf8")).toBe(before);

    const forced = await runCli(["keygen", "bob", "--force"], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(await readFile(path, "utf8")).not.toBe(before);
    expect((await readFile(join(dir, ".govchain/keys/bob.pub"), "utf8")).trim()).toBe(
      await publicKeyOf(path),
    );
  });

  it("rejects a key name that is not a file name", async () => {
    const run = await runCli(["keygen", "../escape"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[INVALID_ARGUMENT\]/);
  });
});

describe("govchain network init", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async () => remove());

  for (const suiteId of ["standard", "gm"] as const) {
    it(`creates keys and a signed genesis a node accepts (${suiteId})`, async () => {
      const run = await runCli(["network", "init", "--suite", suiteId, "--json"], { cwd: dir });
      expect(run.code, run.stderr).toBe(0);
      const layout = networkLayout(join(dir, ".govchain/local"), 1);
      const genesis = parseGenesis(JSON.parse(await readFile(layout.genesisPath, "utf8")));
      expect(genesis).toMatchObject({
        chainId: "govchain-local",
        suite: suiteId,
        consensus: { engine: "devmode" },
      });

      const admin = await publicKeyOf(layout.adminKeyPath);
      const orgAdmin = await publicKeyOf(layout.orgAdminKeyPath);
      const operator = await publicKeyOf(layout.operatorKeyPath);
      const node = layout.nodes[0];
      if (node === undefined) throw new Error("no node in layout");
      expect(genesis.validators).toEqual([
        { id: "node0", publicKey: await publicKeyOf(node.keyPath) },
      ]);
      expect(genesis.block.signerPublicKey).toBe(admin);
      expect(genesis.settings[AUTHORIZED_KEYS_SETTING]).toBe(admin);
      expect(genesis.settings[familyPolicyKey("intkey")]).toBe("any");
      expect(genesis.settings[familyPolicyKey("identity")]).toBe("roles:system_admin,org_admin");
      expect(genesis.identity.organisations).toEqual([
        expect.objectContaining({ id: "demo-dept" }),
      ]);
      expect(genesis.identity.agents).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ publicKey: admin, roles: ["system_admin"] }),
          expect.objectContaining({
            publicKey: orgAdmin,
            organisationId: "demo-dept",
            roles: ["org_admin"],
          }),
          expect.objectContaining({
            publicKey: operator,
            organisationId: "demo-dept",
            roles: ["operator"],
          }),
        ]),
      );
      expect(run.json()).toMatchObject({
        chainId: "govchain-local",
        publicKeys: { admin, node0: genesis.validators[0]?.publicKey },
      });

      // A node recomputes block 0 from the file and checks the admin's signature over it.
      const suite = getSuite(suiteId);
      const store = createMemoryStore();
      await store.open();
      const block = await genesisBlock(
        genesis,
        suite,
        createStateTree({ store, hash: suite.hash, hashName: suite.hashName }),
      );
      expect(block.id).toBe(genesis.block.signature);
    });
  }

  it("refuses to overwrite an existing network unless --force", async () => {
    expect((await runCli(["network", "init", "--name", "n1"], { cwd: dir })).code).toBe(0);
    const layout = networkLayout(join(dir, ".govchain/n1"), 1);
    const genesis = await readFile(layout.genesisPath, "utf8");
    const adminKey = await readFile(layout.adminKeyPath, "utf8");

    const again = await runCli(["network", "init", "--name", "n1"], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[NETWORK_EXISTS\]: /);
    expect(await readFile(layout.genesisPath, "utf8")).toBe(genesis);
    expect(await readFile(layout.adminKeyPath, "utf8")).toBe(adminKey);

    const forced = await runCli(["network", "init", "--name", "n1", "--force"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(layout.adminKeyPath, "utf8")).not.toBe(adminKey);
    expect(parseGenesis(JSON.parse(await readFile(layout.genesisPath, "utf8"))).chainId).toBe(
      "govchain-n1",
    );
  });

  it("takes a directory and chain id, and refuses what devmode cannot run", async () => {
    const run = await runCli(["network", "init", "--dir", "nets/x", "--chain-id", "test-chain"], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(
      parseGenesis(JSON.parse(await readFile(join(dir, "nets/x/genesis.json"), "utf8"))).chainId,
    ).toBe("test-chain");

    const many = await runCli(
      ["network", "init", "--dir", "nets/y", "--nodes", "4", "--engine", "devmode"],
      { cwd: dir },
    );
    expect(many.code).toBe(1);
    expect(many.stderr).toMatch(/^error \[UNSUPPORTED\]: /);

    const badId = await runCli(["network", "init", "--dir", "nets/z", "--chain-id", "no spaces"], {
      cwd: dir,
    });
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: /);
  });
});
