/**
 * Four PBFT validators and one observer in one process, each with its own store, chain and TLS
 * transport on 127.0.0.1: batches submitted to any node commit on all of them with the same
 * heads and state roots (the observer follows without voting); with the primary stopped the
 * other three change view and keep committing; certificates are stored with every block.
 */
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { verifyProofDocument } from "../../src/cli/proof.js";
import { toHex } from "../../src/common/bytes.js";
import { silentLogger } from "../../src/common/logger.js";
import { decodeCertificate } from "../../src/consensus/pbft/messages.js";
import { getSuite } from "../../src/crypto/index.js";
import type { PrivateKey } from "../../src/crypto/interface.js";
import { decodeIntkeyState, intkeyAddress } from "../../src/families/index.js";
import { type GenesisConfig, signGenesis } from "../../src/genesis/genesis.js";
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

const started: GovchainNode[] = [];
afterAll(async () => {
  await Promise.all(started.map((n) => n.stop()));
});

function start(nodeId: string, genesis: GenesisConfig, key: PrivateKey): GovchainNode {
  const node = createNode({
    nodeId,
    dataDir: "",
    genesis,
    key,
    store: createMemoryStore(),
    api: false,
    logger: silentLogger,
  });
  started.push(node);
  return node;
}

describe("PBFT cluster (in-process, real TLS transport)", () => {
  it("commits on all validators and the observer, then survives losing the primary", async () => {
    const keys = Array.from({ length: 4 }, () => suite.generateKey());
    const observerKey = suite.generateKey();
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const scratch = createMemoryStore();
    await scratch.open();
    const genesis = await signGenesis(
      {
        format: "govchain-genesis/1",
        chainId: "cluster-test",
        suite: "standard",
        timestampMs: 1_700_000_000_000,
        consensus: { engine: "pbft", viewChangeTimeoutMs: 800, checkpointInterval: 10 },
        validators: keys.map((k, i) => ({
          id: `node${i}`,
          publicKey: suite.createSigner(k).publicKeyHex,
          endpoint: `127.0.0.1:${ports[i]}`,
        })),
        observers: [{ id: "observer", publicKey: suite.createSigner(observerKey).publicKeyHex }],
        settings: { "govchain.family.intkey.policy": "any" },
      },
      newSigner(),
      suite,
      createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
    );
    const validators = keys.map((key, i) => start(`node${i}`, genesis, key));
    const observer = start("observer", genesis, observerKey);
    const everyone = [...validators, observer];
    await Promise.all(everyone.map((n) => n.start()));
    await until("all peers connected", () =>
      validators.every((n) => n.status().peers.filter((p) => p.connected).length === 4),
    );

    const client = newSigner();
    const submit = async (node: GovchainNode, names: string[]): Promise<string[]> => {
      const batches = names.map((name) => createBatch(client, [intkeyTx(client, "set", name, 7)]));
      await node.admission.submit(encodeBatchList(batches));
      return batches.map((b) => b.headerSignature);
    };
    const committedOn = async (nodes: GovchainNode[], ids: string[]): Promise<boolean> => {
      const statuses = await Promise.all(nodes.map((n) => n.chain.batchStatuses(ids)));
      return statuses.every((list) => list.every((s) => s.status === "COMMITTED"));
    };

    const first = await submit(validators[1] as GovchainNode, ["a1", "a2", "a3"]);
    await until("first batches committed everywhere", () => committedOn(everyone, first));
    await until("equal heads", () => new Set(everyone.map((n) => n.chain.head().id)).size === 1);
    expect(new Set(everyone.map((n) => n.chain.head().stateRoot)).size).toBe(1);
    const head = observer.chain.head();
    expect(head.height).toBeGreaterThanOrEqual(1n);
    const value = await observer.state.get(head.stateRoot, intkeyAddress("a2"));
    expect(value && decodeIntkeyState(value).get("a2")).toBe(7);
    const certificate = await validators[2]?.blocks.getCertificate(head.id);
    expect(certificate && decodeCertificate(certificate).signatures.length).toBeGreaterThanOrEqual(
      3,
    );
    expect(observer.status().validators).toEqual(["node0", "node1", "node2", "node3"]);

    // A proof served by one node verifies with nothing but the genesis file: the header
    // signature and the quorum certificate; a forged certificate does not.
    const served = (await observer.blocks.getBlock(head.id)) as NonNullable<
      Awaited<ReturnType<typeof observer.blocks.getBlock>>
    >;
    const document = {
      address: intkeyAddress("a2"),
      block: {
        id: served.id,
        height: served.height.toString(),
        header: toHex(served.block.header),
        headerSignature: served.id,
        signerPublicKey: served.header.signerPublicKey,
        stateRoot: served.header.stateRootHash,
        certificate: toHex(certificate as Uint8Array),
      },
      proof: await observer.state.prove(head.stateRoot, intkeyAddress("a2")),
    };
    const verified = verifyProofDocument(JSON.parse(JSON.stringify(document)), genesis);
    expect(verified.included).toBe(true);
    expect(verified.certifiedBy?.length).toBeGreaterThanOrEqual(3);
    const forged = {
      ...document,
      block: {
        ...document.block,
        certificate: toHex(
          (certificate as Uint8Array).map((b, i) =>
            i === (certificate as Uint8Array).length - 3 ? b ^ 1 : b,
          ),
        ),
      },
    };
    expect(() => verifyProofDocument(JSON.parse(JSON.stringify(forged)), genesis)).toThrow(
      /certificate/,
    );

    // A batch submitted to the observer reaches the validators and commits everywhere.
    const viaObserver = await submit(observer, ["o1"]);
    await until("batch via observer committed", () => committedOn(everyone, viaObserver));

    // Stop the primary of view 0; the rest must change view and go on.
    expect(validators[0]?.status().primary).toBe("node0");
    await validators[0]?.stop();
    const rest = validators.slice(1);
    const second = await submit(validators[2] as GovchainNode, ["b1", "b2"]);
    await until(
      "commits after the primary stopped",
      () => committedOn([...rest, observer], second),
      45_000,
    );
    expect(rest.every((n) => n.status().view >= 1)).toBe(true);
    expect(new Set([...rest, observer].map((n) => n.chain.head().stateRoot)).size).toBe(1);
  });
});
