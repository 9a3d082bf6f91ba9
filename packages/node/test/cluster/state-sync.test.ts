/**
 * Catch-up by state snapshot (ADR 0010) on a live in-process PBFT network: four validators
 * over TLS on 127.0.0.1, memory stores, a checkpoint every 5 blocks (a snapshot from 20 blocks
 * behind). A wiped validator installs the state at the peers' latest checkpoint instead of
 * re-executing every block, ends on the same head and state root, refuses transactions
 * committed before the checkpoint, and votes on new blocks again; a validator restarted after
 * a shorter absence transfers only the nodes it lacks; a peer whose store hands out corrupted
 * state nodes is not trusted. A validator down across a validator-set change takes a snapshot
 * past the change, proving the new set from the boundary block's state, and votes in the new set.
 */
import { createServer } from "node:net";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import { createMemoryLogger, type LogRecord } from "../../src/common/logger.js";
import { MEMBERS_SETTING } from "../../src/consensus/pbft/membership.js";
import { getSuite } from "../../src/crypto/index.js";
import type { PrivateKey, Signer } from "../../src/crypto/interface.js";
import {
  APPROVAL_THRESHOLD_SETTING,
  AUTHORIZED_KEYS_SETTING,
  decodeIntkeyState,
  intkeyAddress,
  PROPOSALS_SETTING,
  SETTINGS_FAMILY,
  settingAddress,
} from "../../src/families/index.js";
import { type GenesisConfig, signGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode } from "../../src/node.js";
import { createStateTree, decodeNode, NodeKind } from "../../src/state/index.js";
import type { KvStore } from "../../src/storage/interface.js";
import { createMemoryStore, type MemoryStore } from "../../src/storage/memory-store.js";
import { KeyPrefix } from "../../src/storage/prefixes.js";
import {
  createBatch,
  encodeBatchList,
  encodeSettingProposal,
  encodeSettingsPayload,
} from "../../src/wire/index.js";
import type { Batch } from "../../src/wire/types.js";
import { intkeyTx, newSigner, tx } from "../support/fixtures.js";

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
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A memory store whose state-node reads can be switched to return corrupted bytes. */
function corruptibleStore(): MemoryStore & { corrupt: boolean } {
  const inner = createMemoryStore();
  const store = Object.create(inner) as MemoryStore & { corrupt: boolean };
  store.corrupt = false;
  store.getMany = async (keys) => {
    const values = await inner.getMany(keys);
    if (!store.corrupt || !keys.every((k) => k[0] === KeyPrefix.STATE_NODE)) return values;
    return values.map((v) => {
      if (!v) return v;
      const bad = v.slice();
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x5a;
      return bad;
    });
  };
  return store;
}

/** Nodes of the state tree at `root`, read from `store`. */
async function treeSize(store: KvStore, root: string): Promise<number> {
  let count = 0;
  let level: Buffer[] = [Buffer.from(root, "hex")];
  while (level.length > 0) {
    const values = await store.getMany(level.map((h) => Buffer.concat([Buffer.of(2), h])));
    const next: Buffer[] = [];
    for (const bytes of values) {
      if (!bytes) throw new Error("a node is missing");
      count++;
      const node = decodeNode(bytes);
      if (node.kind !== NodeKind.BRANCH_16) continue;
      for (let i = 0; i < node.slots.length; i++) {
        const at = node.childOffset + i * 32;
        next.push(Buffer.from(bytes.subarray(at, at + 32)));
      }
    }
    level = next;
  }
  return count;
}

async function metricValue(node: GovchainNode, name: string, labels: Record<string, string> = {}) {
  const metric = await node.metrics.registry.getSingleMetric(name)?.get();
  const wanted = Object.entries(labels);
  return (
    metric?.values.find((v) =>
      wanted.every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value),
    )?.value ?? 0
  );
}

const running: GovchainNode[] = [];
const records: LogRecord[] = [];
afterAll(async () => {
  await Promise.all(running.map((n) => n.stop()));
});

describe("catch-up by state snapshot (in-process PBFT, real TLS)", () => {
  it("rebuilds a wiped validator from a snapshot, restarts one with only the missing nodes, ignores a corrupt peer", {
    timeout: 180_000,
  }, async () => {
    // The nodes' logs (info and up) help explain a failure; they are printed only then.
    onTestFailed(() => {
      for (const r of records)
        if (r.level !== "debug" && r.level !== "trace")
          console.log(r.level, r.module, r.msg, JSON.stringify(r.fields));
    });
    const keys = Array.from({ length: 4 }, () => suite.generateKey());
    const ports = await Promise.all(keys.map(() => freePort()));
    const scratch = createMemoryStore();
    await scratch.open();
    const genesis: GenesisConfig = await signGenesis(
      {
        format: "govchain-genesis/1",
        chainId: "state-sync-test",
        suite: "standard",
        timestampMs: 1_700_000_000_000,
        consensus: { engine: "pbft", viewChangeTimeoutMs: 800, checkpointInterval: 5 },
        validators: keys.map((k, i) => ({
          id: `node${i}`,
          publicKey: suite.createSigner(k).publicKeyHex,
          endpoint: `127.0.0.1:${ports[i]}`,
        })),
        observers: [],
        settings: { "govchain.family.intkey.policy": "any" },
      },
      newSigner(),
      suite,
      createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
    );
    const stores: (KvStore & { corrupt?: boolean })[] = [
      createMemoryStore(),
      createMemoryStore(),
      corruptibleStore(),
      createMemoryStore(),
    ];
    const boot = async (i: number, key: PrivateKey, store: KvStore): Promise<GovchainNode> => {
      const node = createNode({
        nodeId: `node${i}`,
        dataDir: "",
        genesis,
        key,
        store,
        api: false,
        logger: createMemoryLogger(records, `node${i}`),
        // Small requests, so every peer is asked many times (the corrupt one too).
        stateSync: { nodesPerRequest: 32 },
      });
      running.push(node);
      await node.start();
      return node;
    };
    const nodes = await Promise.all(keys.map((key, i) => boot(i, key, stores[i] as KvStore)));
    const at = (i: number): GovchainNode => nodes[i] as GovchainNode;
    await until("all peers connected", () =>
      nodes.every((n) => n.status().peers.filter((p) => p.connected).length === 3),
    );

    const client = newSigner();
    let serial = 0;
    /** One block's worth of new keys through `via`, waited for on `on`. */
    const round = async (via: GovchainNode, on: GovchainNode[], count = 10): Promise<Batch[]> => {
      const batches = Array.from({ length: count }, () =>
        createBatch(client, [
          intkeyTx(client, "set", `k${serial++}`, serial % 100),
          intkeyTx(client, "set", `k${serial++}`, serial % 100),
        ]),
      );
      await via.admission.submit(encodeBatchList(batches));
      const ids = batches.map((b) => b.headerSignature);
      await until("a round committed", async () => {
        const statuses = await Promise.all(on.map((n) => n.chain.batchStatuses(ids)));
        return statuses.every((list) => list.every((s) => s.status === "COMMITTED"));
      });
      return batches;
    };
    const sameHead = (group: GovchainNode[]) =>
      until("equal heads", () => new Set(group.map((n) => n.chain.head().id)).size === 1);

    // History: ~40 blocks, 800 keys.
    const early: Batch[] = [];
    for (let i = 0; i < 40; i++) early.push(...(await round(at(1), nodes)));
    await sameHead(nodes);

    // (a) node3 loses its disk; 30 more blocks meanwhile.
    await at(3).stop();
    const rest = nodes.slice(0, 3);
    for (let i = 0; i < 30; i++) await round(at(i % 3), rest, 2);
    const wiped = await boot(3, keys[3] as PrivateKey, createMemoryStore());
    nodes[3] = wiped;
    await until(
      "the wiped node caught up",
      () => wiped.chain.head().height >= at(0).chain.head().height,
    );
    expect(await metricValue(wiped, "govchain_state_syncs_total", { outcome: "installed" })).toBe(
      1,
    );
    const installedHeight = wiped.chain.head().height;
    // Far fewer blocks were executed than the chain holds: the rest came with the snapshot.
    expect(await metricValue(wiped, "govchain_blocks_committed_total")).toBeLessThan(
      Number(installedHeight) / 4,
    );
    expect(await metricValue(wiped, "govchain_state_sync_blocks_total")).toBeGreaterThan(40);
    const head = at(0).chain.head();
    await until(
      "same head on the wiped node",
      () => wiped.chain.head().id === at(0).chain.head().id,
    );
    expect(wiped.chain.head().stateRoot).toBe(at(0).chain.head().stateRoot);
    // Every block of the history is listed and the early state reads the same.
    const listed = await wiped.blocks.listBlocks({ limit: 1_000, ascending: true });
    expect(listed.map((b) => b.height)).toEqual(
      Array.from({ length: Number(wiped.chain.head().height) + 1 }, (_, i) => BigInt(i)),
    );
    const value = await wiped.state.get(wiped.chain.head().stateRoot, intkeyAddress("k3"));
    expect(value && decodeIntkeyState(value).get("k3")).toBe(4);
    // A block below the checkpoint keeps its certificate; its receipts were never made here.
    // (The node may have replayed a few blocks while its peers connected: take the one just
    // below the snapshot's checkpoint.)
    const checkpoint = BigInt(await metricValue(wiped, "govchain_state_sync_checkpoint_height"));
    expect(checkpoint).toBeGreaterThan(40n);
    const old = await wiped.blocks.getBlockByHeight(checkpoint - 1n);
    expect(old && (await wiped.blocks.getCertificate(old.id))).toBeDefined();
    const oldTx = old?.block.batches[0]?.transactions[0]?.headerSignature as string;
    expect(await wiped.blocks.getReceipt(oldTx)).toBeUndefined();
    expect(await wiped.blocks.hasTransaction(oldTx)).toBe(true);
    expect(head.height).toBeGreaterThan(50n);

    // (d) Replay protection covers the history below the checkpoint: the old batch, and an
    // old transaction in a new batch, are refused.
    const replayed = early[5] as Batch;
    let refusal: unknown;
    try {
      await wiped.admission.submit(encodeBatchList([replayed]));
    } catch (err) {
      refusal = err;
    }
    expect(isGovchainError(refusal, "ALREADY_COMMITTED"), String(refusal)).toBe(true);
    refusal = undefined;
    try {
      await wiped.admission.submit(
        encodeBatchList([createBatch(client, [...(replayed.transactions ?? [])])]),
      );
    } catch (err) {
      refusal = err;
    }
    expect(isGovchainError(refusal, "ALREADY_COMMITTED"), String(refusal)).toBe(true);

    // And it votes again: with node0 stopped, a quorum of three needs the wiped node.
    await round(wiped, nodes);
    await at(0).stop();
    const withoutFirst = nodes.slice(1);
    await round(at(2), withoutFirst);
    await sameHead(withoutFirst);
    expect(new Set(withoutFirst.map((n) => n.chain.head().stateRoot)).size).toBe(1);

    // (b) + (c) node0 restarts with its store after 30 more blocks touching few keys, while
    // node2's store hands out corrupted state nodes.
    for (let i = 0; i < 30; i++) await round(at(1 + (i % 3)), withoutFirst, 1);
    (stores[2] as { corrupt: boolean }).corrupt = true;
    const restarted = await boot(0, keys[0] as PrivateKey, stores[0] as KvStore);
    nodes[0] = restarted;
    await until(
      "the restarted node caught up",
      () => restarted.chain.head().id === at(1).chain.head().id,
    );
    (stores[2] as { corrupt: boolean }).corrupt = false;
    expect(
      await metricValue(restarted, "govchain_state_syncs_total", { outcome: "installed" }),
    ).toBe(1);
    const transferred = await metricValue(restarted, "govchain_state_sync_nodes_total", {
      result: "transferred",
    });
    const total = await treeSize(stores[0] as KvStore, restarted.chain.head().stateRoot);
    expect(transferred).toBeGreaterThan(0);
    expect(transferred).toBeLessThan(total / 2);
    expect(
      await metricValue(restarted, "govchain_state_sync_nodes_total", { result: "present" }),
    ).toBeGreaterThan(0);
    expect(
      await metricValue(restarted, "govchain_state_sync_nodes_total", { result: "rejected" }),
    ).toBeGreaterThan(0);
    expect(restarted.chain.head().stateRoot).toBe(at(1).chain.head().stateRoot);

    // All four keep committing.
    await round(restarted, nodes);
    await sameHead(nodes);
    expect(new Set(nodes.map((n) => n.chain.head().stateRoot)).size).toBe(1);
  });
});

function membersVote(admin: Signer, value: string) {
  const touched = [
    MEMBERS_SETTING,
    AUTHORIZED_KEYS_SETTING,
    APPROVAL_THRESHOLD_SETTING,
    PROPOSALS_SETTING,
  ].map(settingAddress);
  return tx(admin, {
    familyName: SETTINGS_FAMILY,
    payload: encodeSettingsPayload({
      action: "PROPOSE",
      data: encodeSettingProposal({ setting: MEMBERS_SETTING, value, nonce: "members-1" }),
    }),
    inputs: touched,
    outputs: touched,
  });
}

describe("catch-up by state snapshot across a validator-set change", () => {
  it("proves the new set from the boundary block's state and joins it", {
    timeout: 180_000,
  }, async () => {
    onTestFailed(() => {
      for (const r of records)
        if (r.level !== "debug" && r.level !== "trace")
          console.log(r.level, r.module, r.msg, JSON.stringify(r.fields));
    });
    records.length = 0;
    const keys = Array.from({ length: 5 }, () => suite.generateKey());
    const ports = await Promise.all(keys.map(() => freePort()));
    const members = keys.map((k, i) => ({
      id: `node${i}`,
      publicKey: suite.createSigner(k).publicKeyHex,
      endpoint: `127.0.0.1:${ports[i]}`,
    }));
    const admin = newSigner();
    const scratch = createMemoryStore();
    await scratch.open();
    const genesis = await signGenesis(
      {
        format: "govchain-genesis/1",
        chainId: "state-sync-epochs",
        suite: "standard",
        timestampMs: 1_700_000_000_000,
        consensus: {
          engine: "pbft",
          viewChangeTimeoutMs: 800,
          checkpointInterval: 5,
          maxInFlight: 2,
        },
        validators: members.slice(0, 4),
        observers: [members[4] as (typeof members)[number]],
        settings: {
          "govchain.family.intkey.policy": "any",
          [AUTHORIZED_KEYS_SETTING]: admin.publicKeyHex,
        },
      },
      admin,
      suite,
      createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
    );
    const boot = async (
      i: number,
      store: KvStore,
      stateSync?: { minGapBlocks: number },
    ): Promise<GovchainNode> => {
      const node = createNode({
        nodeId: `node${i}`,
        dataDir: "",
        genesis,
        key: keys[i] as PrivateKey,
        store,
        api: false,
        logger: createMemoryLogger(records, `node${i}`),
        ...(stateSync ? { stateSync } : {}),
      });
      running.push(node);
      await node.start();
      return node;
    };
    const nodes = await Promise.all(keys.map((_, i) => boot(i, createMemoryStore())));
    await until("validators connected", () =>
      nodes.slice(0, 4).every((n) => n.status().peers.filter((p) => p.connected).length === 4),
    );
    const client = newSigner();
    let serial = 0;
    const round = async (via: GovchainNode, on: GovchainNode[]): Promise<void> => {
      const batches = Array.from({ length: 4 }, () =>
        createBatch(client, [intkeyTx(client, "set", `e${serial++}`, 1)]),
      );
      await via.admission.submit(encodeBatchList(batches));
      const ids = batches.map((b) => b.headerSignature);
      await until("a round committed", async () => {
        const statuses = await Promise.all(on.map((n) => n.chain.batchStatuses(ids)));
        return statuses.every((list) => list.every((st) => st.status === "COMMITTED"));
      });
    };
    for (let i = 0; i < 5; i++) await round(nodes[1] as GovchainNode, nodes);

    // node3 goes down (its store kept); the others vote node4 in and pass the boundary.
    const down = nodes[3] as GovchainNode;
    const downStore = down.store;
    await down.stop();
    const up = [0, 1, 2, 4].map((i) => nodes[i] as GovchainNode);
    const change = createBatch(admin, [
      membersVote(admin, JSON.stringify({ validators: members, observers: [] })),
    ]);
    await nodes[1]?.admission.submit(encodeBatchList([change]));
    await until("the change committed", async () => {
      const statuses = await Promise.all(
        up.map((n) => n.chain.batchStatuses([change.headerSignature])),
      );
      return statuses.every((list) => list[0]?.status === "COMMITTED");
    });
    // Four of five validators make a quorum: node4's votes count from the boundary on.
    await until("the new set in force", async () => {
      await round(nodes[2] as GovchainNode, up);
      return up.every((n) => n.status().validators.length === 5);
    });
    const switched = (nodes[0] as GovchainNode).chain.head().height;
    for (let i = 0; i < 25; i++) await round(up[i % 4] as GovchainNode, up);
    expect((nodes[0] as GovchainNode).chain.head().height).toBeGreaterThan(switched + 20n);

    // node3 comes back knowing only the genesis set; a snapshot takes it past the change.
    // Any gap to the peers' latest checkpoint takes a snapshot: with the default (four checkpoint
    // intervals) whether it does would depend on how many blocks the rounds above made.
    const back = await boot(3, downStore, { minGapBlocks: 1 });
    nodes[3] = back;
    await until("node3 caught up", () => back.chain.head().id === nodes[0]?.chain.head().id);
    expect(await metricValue(back, "govchain_state_syncs_total", { outcome: "installed" })).toBe(1);
    await until("node3 in the new set", () => back.status().validators.length === 5);
    expect(back.chain.head().stateRoot).toBe(nodes[0]?.chain.head().stateRoot);

    // It votes in the new set: with node0 and node1 stopped, 3 of 5 is no quorum without it —
    // so stop only node0: node1, node2, node4 and node3 make the quorum of four.
    await nodes[0]?.stop();
    const quorum = [1, 2, 3, 4].map((i) => nodes[i] as GovchainNode);
    await round(back, quorum);
    expect(new Set(quorum.map((n) => n.chain.head().stateRoot)).size).toBe(1);
  });
});
