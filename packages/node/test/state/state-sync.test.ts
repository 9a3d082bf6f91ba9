/**
 * Incremental state sync (ADR 0010) between memory stores: a wiped store receives every node,
 * a store that holds an older root receives only the changed paths, nodes are verified against
 * the hash that names them (a peer sending a wrong node is dropped and another peer asked, or
 * the sync fails cleanly), and what an interrupted sync leaves behind is complete subtrees only.
 */
import { describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import { createSeededRandom } from "../../src/common/random.js";
import {
  decodeNode,
  NodeKind,
  type Radix,
  type StateNodeSource,
  stateHash,
} from "../../src/state/index.js";
import type { KvStore } from "../../src/storage/interface.js";
import { KeyPrefix, prefixRange } from "../../src/storage/prefixes.js";
import { memoryTree } from "./support.js";

const hash = stateHash("sha256");

function randomEntries(count: number, seed: number): [string, Uint8Array][] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, (_, i) => [
    Buffer.from(random.bytes(35)).toString("hex"),
    Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 1, 2, 3),
  ]);
}

/** A tree in its own store holding `entries` (committed in blocks of 500). */
async function filledTree(entries: readonly (readonly [string, Uint8Array])[], radix: Radix = 16) {
  const { tree, store } = await memoryTree({ radix });
  let root = tree.emptyRoot;
  for (let i = 0; i < entries.length; i += 500) {
    const update = await tree.update(root, entries.slice(i, i + 500));
    await store.write(update.operations);
    tree.release(update);
    root = update.root;
  }
  return { tree, store, root };
}

/** Nodes stored under the state-node prefix. */
async function storedNodes(store: KvStore): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const [key, value] of store.iterate(prefixRange(KeyPrefix.STATE_NODE))) {
    out.set(Buffer.from(key.subarray(1)).toString("hex"), value);
  }
  return out;
}

/** Every node reachable from `root` in `store` (the tree's size). */
async function reachable(store: KvStore, root: string): Promise<number> {
  const nodes = await storedNodes(store);
  let count = 0;
  const stack = [root];
  while (stack.length > 0) {
    const bytes = nodes.get(stack.pop() as string);
    if (!bytes) throw new Error("missing node");
    count++;
    const node = decodeNode(bytes);
    if (node.kind === NodeKind.BRANCH_16 || node.kind === NodeKind.BRANCH_256) {
      for (let i = 0; i < node.slots.length; i++) {
        const at = node.childOffset + i * 32;
        stack.push(Buffer.from(bytes.subarray(at, at + 32)).toString("hex"));
      }
    }
  }
  return count;
}

/** The sync invariant: every stored branch's children are stored. */
async function expectCompleteSubtrees(store: KvStore): Promise<void> {
  const nodes = await storedNodes(store);
  for (const bytes of nodes.values()) {
    const node = decodeNode(bytes);
    if (node.kind !== NodeKind.BRANCH_16 && node.kind !== NodeKind.BRANCH_256) continue;
    for (let i = 0; i < node.slots.length; i++) {
      const at = node.childOffset + i * 32;
      expect(nodes.has(Buffer.from(bytes.subarray(at, at + 32)).toString("hex"))).toBe(true);
    }
  }
}

type Behaviour = "honest" | "corrupt" | "silent" | "empty";

/** A source whose peers answer from `store` the way `behaviours` say. */
function sourceOf(store: KvStore, behaviours: Record<string, Behaviour>): StateNodeSource {
  return {
    peers: Object.keys(behaviours),
    async request(peer, hashes) {
      const behaviour = behaviours[peer];
      if (behaviour === "silent") return undefined;
      if (behaviour === "empty") return hashes.map(() => undefined);
      const values = await store.getMany(
        hashes.map((h) => Uint8Array.of(KeyPrefix.STATE_NODE, ...h)),
      );
      if (behaviour === "corrupt") {
        return values.map((v) => {
          if (!v) return v;
          const copy = v.slice();
          copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
          return copy;
        });
      }
      // Answers cut at 100 nodes, as a peer's size bound would.
      return values.slice(0, 100);
    },
  };
}

describe("state sync", () => {
  it("copies a whole state into an empty store and reads it back", async () => {
    for (const radix of [16, 256] as const) {
      const entries = randomEntries(3_000, radix);
      const source = await filledTree(entries, radix);
      const target = await memoryTree({ radix });
      const report = await target.tree.sync(
        source.root,
        sourceOf(source.store, { a: "honest", b: "honest" }),
        { maxNodesPerRequest: 64, writeBytes: 16 * 1024 },
      );
      const total = await reachable(source.store, source.root);
      expect(report.nodesTransferred).toBe(total);
      expect(report.nodesPresent).toBe(0);
      expect(report.nodesRejected).toBe(0);
      expect(await target.tree.hasRoot(source.root)).toBe(true);
      const sample = entries.filter((_, i) => i % 97 === 0);
      const read = await target.tree.getMany(
        source.root,
        sample.map(([a]) => a),
      );
      for (const [address, value] of sample) expect(read.get(address)).toEqual(value);
      await expectCompleteSubtrees(target.store);
      // A second sync of the same root finds it at once.
      const again = await target.tree.sync(source.root, sourceOf(source.store, { a: "honest" }));
      expect(again).toMatchObject({ nodesTransferred: 0, nodesPresent: 1, requests: 0 });
    }
  });

  it("transfers only the changed paths to a store that holds an older root", async () => {
    const entries = randomEntries(5_000, 11);
    const source = await filledTree(entries);
    const target = await memoryTree();
    await target.tree.sync(source.root, sourceOf(source.store, { a: "honest" }));
    // Ten changes later, the old store needs only their paths.
    const update = await source.tree.update(source.root, [
      ...randomEntries(5, 99),
      ...entries.slice(0, 5).map(([a]) => [a, Uint8Array.of(9)] as [string, Uint8Array]),
    ]);
    await source.store.write(update.operations);
    source.tree.release(update);
    const report = await target.tree.sync(update.root, sourceOf(source.store, { a: "honest" }));
    const total = await reachable(source.store, update.root);
    expect(report.nodesTransferred).toBe(update.nodeCount);
    expect(report.nodesTransferred).toBeLessThan(total / 20);
    expect(report.nodesPresent).toBeGreaterThan(0);
    expect(await target.tree.get(update.root, entries[0]?.[0] as string)).toEqual(Uint8Array.of(9));
    await expectCompleteSubtrees(target.store);
  });

  it("drops a peer that sends nodes with wrong hashes and gets them from another", async () => {
    const source = await filledTree(randomEntries(2_000, 5));
    const target = await memoryTree();
    const report = await target.tree.sync(
      source.root,
      sourceOf(source.store, { liar: "corrupt", mute: "silent", honest: "honest" }),
      { maxNodesPerRequest: 50, maxPeerFailures: 2 },
    );
    expect(report.nodesRejected).toBeGreaterThan(0);
    expect(report.droppedPeers).toEqual(expect.arrayContaining(["liar", "mute"]));
    expect(report.nodesTransferred).toBe(await reachable(source.store, source.root));
    await expectCompleteSubtrees(target.store);
  });

  it("fails cleanly when no peer sends verifiable nodes, leaving only complete subtrees", async () => {
    const source = await filledTree(randomEntries(2_000, 6));
    const target = await memoryTree();
    // The honest peer answers the first requests, then nobody can help.
    let answered = 0;
    const honest = sourceOf(source.store, { h: "honest" });
    const flaky: StateNodeSource = {
      peers: ["flaky", "liar"],
      request: (peer, hashes) => {
        if (peer === "liar")
          return sourceOf(source.store, { liar: "corrupt" }).request(peer, hashes);
        return answered++ < 5 ? honest.request("h", hashes) : Promise.resolve(undefined);
      },
    };
    let caught: unknown;
    try {
      await target.tree.sync(source.root, flaky, { maxNodesPerRequest: 20, maxPeerFailures: 1 });
    } catch (err) {
      caught = err;
    }
    expect(isGovchainError(caught, "STATE_SYNC_FAILED"), String(caught)).toBe(true);
    expect(await target.tree.hasRoot(source.root)).toBe(false);
    await expectCompleteSubtrees(target.store);
    // The next attempt with a good peer finishes the job and reuses what is there.
    const report = await target.tree.sync(source.root, sourceOf(source.store, { h: "honest" }));
    expect(await target.tree.hasRoot(source.root)).toBe(true);
    expect(report.nodesTransferred).toBeLessThanOrEqual(await reachable(source.store, source.root));
  });

  it("treats a peer that lacks the state as unable to help", async () => {
    const source = await filledTree(randomEntries(200, 8));
    const target = await memoryTree();
    const report = await target.tree.sync(
      source.root,
      sourceOf(source.store, { behind: "empty", honest: "honest" }),
    );
    expect(report.droppedPeers).toEqual(["behind"]);
    expect(await target.tree.hasRoot(source.root)).toBe(true);
  });

  it("reads single values from peers, verified against the root", async () => {
    const entries = randomEntries(1_000, 9);
    const source = await filledTree(entries);
    const target = await memoryTree();
    const [address, value] = entries[17] as [string, Uint8Array];
    const absent = "ab".repeat(35);
    const read = await target.tree.readRemote(
      source.root,
      [address, absent],
      sourceOf(source.store, { liar: "corrupt", honest: "honest" }),
    );
    expect(read.get(address)).toEqual(value);
    expect(read.has(absent)).toBe(false);
    let caught: unknown;
    try {
      await target.tree.readRemote(
        source.root,
        [address],
        sourceOf(source.store, { liar: "corrupt" }),
      );
    } catch (err) {
      caught = err;
    }
    expect(isGovchainError(caught, "STATE_SYNC_FAILED")).toBe(true);
    expect(hash(Uint8Array.of(0)).length).toBe(32);
  });
});
