/**
 * Four PBFT validators in one process, each with its own store, chain and TLS transport on
 * 127.0.0.1: batches submitted to any node commit on all four with the same heads and state
 * roots; with the primary stopped the other three change view and keep committing.
 */
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.js";
import { getSuite } from "../../src/crypto/index.js";
import { decodeIntkeyState, intkeyAddress } from "../../src/families/index.js";
import { signGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode } from "../../src/node.js";
import { createStateTree } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { createBatch, encodeBatchList } from "../../src/wire/index.js";
import { intkeyTx, newSigner } from "../support/fixtures.js";

const suite = getSuite("standard");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const nodes: GovchainNode[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

describe("PBFT cluster (in-process, real TLS transport)", () => {
  it("commits on all validators, then survives losing the primary", async () => {
    const keys = Array.from({ length: 4 }, () => suite.generateKey());
    const signers = keys.map((k) => suite.createSigner(k));
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const admin = newSigner();
    const scratch = createMemoryStore();
    await scratch.open();
    const genesis = await signGenesis(
      {
        format: "govchain-genesis/1",
        chainId: "cluster-test",
        suite: "standard",
        timestampMs: 1_700_000_000_000,
        consensus: { engine: "pbft", viewChangeTimeoutMs: 800, checkpointInterval: 10 },
        validators: signers.map((s, i) => ({
          id: `node${i}`,
          publicKey: s.publicKeyHex,
          endpoint: `127.0.0.1:${ports[i]}`,
        })),
        settings: { "govchain.family.intkey.policy": "any" },
      },
      admin,
      suite,
      createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
    );
    for (const [i, key] of keys.entries()) {
      const node = createNode({
        nodeId: `node${i}`,
        dataDir: "",
        genesis,
        key,
        store: createMemoryStore(),
        api: false,
        logger: silentLogger,
      });
      nodes.push(node);
    }
    await Promise.all(nodes.map((n) => n.start()));
    await until("all peers connected", () =>
      nodes.every((n) => n.status().peers.filter((p) => p.connected).length === 3),
    );

    const client = newSigner();
    const submit = async (node: GovchainNode, names: string[]) => {
      const batches = names.map((name) => createBatch(client, [intkeyTx(client, "set", name, 7)]));
      await node.admission.submit(encodeBatchList(batches));
      return batches.map((b) => b.headerSignature);
    };

    const first = await submit(nodes[1] as GovchainNode, ["a1", "a2", "a3"]);
    await until("first batches committed everywhere", async () => {
      const statuses = await Promise.all(nodes.map((n) => n.chain.batchStatuses(first)));
      return statuses.every((list) => list.every((s) => s.status === "COMMITTED"));
    });
    const heads = nodes.map((n) => n.chain.head());
    await until("equal heads", () => new Set(nodes.map((n) => n.chain.head().id)).size === 1);
    expect(new Set(nodes.map((n) => n.chain.head().stateRoot)).size).toBe(1);
    expect(heads[0]?.height).toBeGreaterThanOrEqual(1n);
    const value = await nodes[3]?.state.get(nodes[3].chain.head().stateRoot, intkeyAddress("a2"));
    expect(value && decodeIntkeyState(value).get("a2")).toBe(7);
    expect(nodes[0]?.blocks.head()).toBeDefined();
    const certificate = await nodes[2]?.blocks.getCertificate(nodes[2].chain.head().id);
    expect(certificate?.length).toBeGreaterThan(0);

    // Stop the primary of view 0; the rest must change view and go on.
    const primary = nodes[0]?.status().primary;
    expect(primary).toBe("node0");
    await nodes[0]?.stop();
    const rest = nodes.slice(1);
    const second = await submit(nodes[2] as GovchainNode, ["b1", "b2"]);
    await until(
      "commits after the primary stopped",
      async () => {
        const statuses = await Promise.all(rest.map((n) => n.chain.batchStatuses(second)));
        return statuses.every((list) => list.every((s) => s.status === "COMMITTED"));
      },
      45_000,
    );
    expect(rest.every((n) => n.status().view >= 1)).toBe(true);
    expect(new Set(rest.map((n) => n.chain.head().stateRoot)).size).toBe(1);
  });
});
