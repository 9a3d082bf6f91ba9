/**
 * Incremental state sync (S0.4, ADR 0010): copies the Merkle state at a trusted root from
 * peers into the local store, transferring only the nodes the store lacks.
 *
 * Nodes are content-addressed (ADR 0003), so the walk starts at the root hash and asks peers
 * for nodes by hash; a received node is accepted only if it hashes to the hash that was asked
 * for, which its parent (or the trusted root) named, and if it is a canonical node of the
 * chain's radix. A peer that sends anything else is dropped for the rest of the sync and the
 * node is asked of another peer. A child already in the store is not fetched, and its subtree
 * is not walked: so a node that was down briefly transfers the few changed paths, a wiped one
 * everything.
 *
 * That shortcut is sound because of an invariant every writer keeps: a node is stored only
 * together with, or after, all of its descendants. Block commits write a block's new nodes in
 * one atomic write whose other children are already stored; the sync here writes a node only
 * once each child is stored or queued in the same or an earlier write, in large batched writes
 * applied in order. An interrupted sync therefore leaves only complete subtrees behind, and the
 * next attempt reuses them.
 *
 * The walk is depth-first in batches (the newest hashes are requested first), which keeps the
 * nodes waiting for their children to a few batches per tree level rather than a whole level
 * of a million-leaf tree.
 */
import { GovchainError } from "../common/errors.js";
import type { KvOperation, KvStore } from "../storage/interface.js";
import { KeyPrefix } from "../storage/prefixes.js";
import { StateErrorCode } from "./errors.js";
import type { StateNodeSource, StateSyncOptions, StateSyncReport } from "./interface.js";
import {
  childCount,
  childOffsetOf,
  childOrdinal,
  decodeNode,
  digitAt,
  EMPTY_NODE_BYTES,
  HASH_BYTES,
  NodeKind,
  type Radix,
} from "./node-codec.js";

/** What `syncStateNodes` needs. */
export interface StateSyncInput {
  readonly store: KvStore;
  /** The chain's 32-byte suite hash. */
  readonly hash: (data: Uint8Array) => Uint8Array;
  readonly radix: Radix;
  /** The trusted root (from a block whose commit certificate was checked). */
  readonly root: Uint8Array;
  readonly source: StateNodeSource;
  readonly options?: StateSyncOptions;
}

/** A node to obtain, then waiting for its children, then written. */
interface Entry {
  /** 32 bytes: a view into the parent's bytes, or the root. */
  readonly hash: Uint8Array;
  readonly parent: Entry | undefined;
  /** Children not yet stored or queued for writing (set when the node is received). */
  missing: number;
}

const KEY_BYTES = 1 + HASH_BYTES;

function nodeKey(hash: Uint8Array): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  key[0] = KeyPrefix.STATE_NODE;
  key.set(hash, 1);
  return key;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** True when `bytes` is a canonical node this tree may store (a leaf, or a branch of `radix`). */
function isStorableNode(bytes: Uint8Array, radix: Radix): boolean {
  const kind = bytes[0];
  const branch = radix === 16 ? NodeKind.BRANCH_16 : NodeKind.BRANCH_256;
  if (kind !== NodeKind.LEAF && kind !== branch) return false;
  try {
    decodeNode(bytes);
    return true;
  } catch {
    return false;
  }
}

function syncFailed(message: string, context: Record<string, unknown>): GovchainError {
  return new GovchainError(StateErrorCode.STATE_SYNC_FAILED, message, context);
}

/**
 * Copies every node reachable from `root` that the store lacks from the source's peers, and
 * writes them children first. Resolves with what was transferred once the root is stored;
 * throws `STATE_SYNC_FAILED` when no peer left can supply some node (what was written stays:
 * complete subtrees only).
 */
export async function syncStateNodes(input: StateSyncInput): Promise<StateSyncReport> {
  const { store, hash, radix, root, source } = input;
  const options = input.options ?? {};
  const perRequest = options.maxNodesPerRequest ?? 2_048;
  const slots = options.requestsPerPeer ?? 2;
  const writeLimit = options.writeBytes ?? 8 * 1024 * 1024;
  const maxFailures = options.maxPeerFailures ?? 3;
  const rootHex = hexOf(root);

  let nodesTransferred = 0;
  let bytesTransferred = 0;
  let nodesPresent = 0;
  let nodesRejected = 0;
  let requests = 0;
  const dropped: string[] = [];
  const report = (): StateSyncReport => ({
    root: rootHex,
    nodesTransferred,
    bytesTransferred,
    nodesPresent,
    nodesRejected,
    requests,
    droppedPeers: [...dropped],
  });

  // The empty tree has no stored node; a stored root means a complete tree (the invariant).
  if (sameBytes(root, hash(EMPTY_NODE_BYTES))) return report();
  if ((await store.get(nodeKey(root))) !== undefined) {
    nodesPresent = 1;
    return report();
  }

  const rootEntry: Entry = { hash: root, parent: undefined, missing: -1 };
  let rootDone = false;
  const stack: Entry[] = [rootEntry];
  let writes: KvOperation[] = [];
  let writeBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  let busy = 0;
  let failure: GovchainError | undefined;
  const active = new Set(source.peers);
  const failures = new Map<string, number>();
  let wake: (() => void) | undefined;
  let wakeSignal = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const notify = (): void => {
    wake?.();
    wakeSignal = new Promise<void>((resolve) => {
      wake = resolve;
    });
  };

  const fail = (message: string, context: Record<string, unknown> = {}): void => {
    failure ??= syncFailed(message, { ...report(), ...context });
    notify();
  };

  // Received branches waiting for their children, with their bytes.
  const waiting = new Map<Entry, Uint8Array>();

  /** Queues a node whose subtree is complete; completes its ancestors that wait only on it. */
  const complete = (entry: Entry, bytes: Uint8Array | undefined): void => {
    let current: Entry | undefined = entry;
    let value = bytes;
    while (current) {
      if (value !== undefined) {
        writes.push({ type: "put", key: nodeKey(current.hash), value });
        writeBytes += value.length + KEY_BYTES;
      }
      if (current === rootEntry) rootDone = true;
      const parent: Entry | undefined = current.parent;
      if (!parent) break;
      parent.missing--;
      if (parent.missing > 0) break;
      current = parent;
      value = waiting.get(parent);
      waiting.delete(parent);
    }
  };

  const flush = (force: boolean): Promise<void> => {
    if (writes.length === 0 || (!force && writeBytes < writeLimit)) return writing;
    const batch = writes;
    writes = [];
    writeBytes = 0;
    // In order: a later write may hold parents of nodes in this one.
    writing = writing.then(() => store.write(batch));
    return writing;
  };

  const drop = (peer: string, why: string): void => {
    if (!active.delete(peer)) return;
    dropped.push(peer);
    if (active.size === 0) fail(`no peer left to sync state from (last dropped: ${why})`, { peer });
    notify();
  };

  /** Up to `perRequest` entries, newest first. */
  const take = (): Entry[] => {
    const count = Math.min(perRequest, stack.length);
    return stack.splice(stack.length - count, count).reverse();
  };

  const accept = async (
    peer: string,
    batch: readonly Entry[],
    answer: readonly (Uint8Array | undefined)[],
  ): Promise<void> => {
    const children: Entry[] = [];
    let bad = 0;
    let lacked = 0;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i] as Entry;
      const received = answer[i];
      if (i >= answer.length) {
        stack.push(entry); // cut at the peer's answer bound: ask again
        continue;
      }
      if (received === undefined || received.length === 0) {
        // The peer claimed a head at or above the root's block, so it should hold every node
        // of it (nothing is pruned); it is behind or broken, and another peer is asked.
        lacked++;
        stack.push(entry);
        continue;
      }
      if (!sameBytes(hash(received), entry.hash) || !isStorableNode(received, radix)) {
        bad++;
        stack.push(entry);
        continue;
      }
      // A copy: the answer's buffer holds many nodes and should not outlive this call.
      const bytes = received.slice();
      nodesTransferred++;
      bytesTransferred += bytes.length;
      if (bytes[0] === NodeKind.LEAF) {
        complete(entry, bytes);
        continue;
      }
      const count = childCount(bytes);
      const offset = childOffsetOf(bytes);
      entry.missing = count;
      waiting.set(entry, bytes);
      for (let c = 0; c < count; c++) {
        const at = offset + c * HASH_BYTES;
        children.push({ hash: bytes.subarray(at, at + HASH_BYTES), parent: entry, missing: -1 });
      }
    }
    if (bad > 0) {
      nodesRejected += bad;
      drop(peer, "sent nodes that do not match their hashes");
    } else if (lacked > 0) drop(peer, "lacks nodes of the state");
    if (children.length === 0) return;
    // One store round trip for all children of the answer: those present end their walk here.
    const present = await store.getMany(children.map((child) => nodeKey(child.hash)));
    const missing: Entry[] = [];
    for (let c = 0; c < children.length; c++) {
      const child = children[c] as Entry;
      if (present[c] === undefined) missing.push(child);
      else {
        nodesPresent++;
        complete(child, undefined);
      }
    }
    // Reversed, so the first child is popped first: the walk proceeds in address order.
    for (let c = missing.length - 1; c >= 0; c--) stack.push(missing[c] as Entry);
  };

  const worker = async (peer: string): Promise<void> => {
    while (failure === undefined && active.has(peer)) {
      if (options.signal?.aborted) {
        fail("state sync aborted");
        return;
      }
      if (rootDone) return;
      const batch = take();
      if (batch.length === 0) {
        if (busy === 0 && stack.length === 0 && !rootDone) {
          fail("state sync stalled: nothing left to ask, yet the root is incomplete");
          return;
        }
        await wakeSignal;
        continue;
      }
      busy++;
      try {
        requests++;
        let answer: readonly (Uint8Array | undefined)[] | undefined;
        try {
          answer = await source.request(
            peer,
            batch.map((entry) => entry.hash),
          );
        } catch {
          answer = undefined;
        }
        if (answer === undefined) {
          for (let i = batch.length - 1; i >= 0; i--) stack.push(batch[i] as Entry);
          const count = (failures.get(peer) ?? 0) + 1;
          failures.set(peer, count);
          if (count >= maxFailures) drop(peer, "stopped answering");
        } else {
          failures.set(peer, 0);
          await accept(peer, batch, answer);
          await flush(false);
        }
      } catch (err) {
        fail(`state sync failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        busy--;
        notify();
      }
    }
  };

  if (active.size === 0) throw syncFailed("no peer to sync state from", { root: rootHex });
  const workers: Promise<void>[] = [];
  for (const peer of active) for (let s = 0; s < slots; s++) workers.push(worker(peer));
  await Promise.all(workers);
  // Whatever completed is written, also on failure: complete subtrees help the next attempt.
  await flush(true);
  if (failure !== undefined) throw failure;
  if (!rootDone) throw syncFailed("state sync ended before the root was complete", { ...report() });
  return report();
}

/**
 * Reads the values at `addresses` under a trusted `root` by fetching the nodes on their paths
 * from peers, each checked against the hash its parent (or the root) names. For the few values
 * a node needs from a state it does not hold (the membership setting at an old block).
 */
export async function readVerifiedValues(input: {
  readonly hash: (data: Uint8Array) => Uint8Array;
  readonly radix: Radix;
  readonly root: Uint8Array;
  readonly addresses: readonly string[];
  readonly source: StateNodeSource;
}): Promise<Map<string, Uint8Array>> {
  const { hash, radix, source } = input;
  const out = new Map<string, Uint8Array>();
  if (sameBytes(input.root, hash(EMPTY_NODE_BYTES))) return out;
  const fetched = new Map<string, Uint8Array>();
  const fetchNode = async (wanted: Uint8Array): Promise<Uint8Array> => {
    const key = hexOf(wanted);
    const known = fetched.get(key);
    if (known) return known;
    for (const peer of source.peers) {
      const answer = await source.request(peer, [wanted]).catch(() => undefined);
      const bytes = answer?.[0];
      if (bytes && sameBytes(hash(bytes), wanted) && isStorableNode(bytes, radix)) {
        fetched.set(key, bytes);
        return bytes;
      }
    }
    throw syncFailed("no peer supplied a verifiable state node", { node: key });
  };
  for (const address of input.addresses) {
    let wanted: Uint8Array = input.root;
    for (;;) {
      const bytes = await fetchNode(wanted);
      const node = decodeNode(bytes);
      if (node.kind === NodeKind.LEAF) {
        if (node.address === address) out.set(address, node.value.slice());
        break;
      }
      if (node.kind === NodeKind.EMPTY || !address.startsWith(node.prefix)) break;
      const ordinal = childOrdinal(bytes, digitAt(radix, address, node.prefix.length));
      if (ordinal < 0) break;
      const at = node.childOffset + ordinal * HASH_BYTES;
      wanted = bytes.subarray(at, at + HASH_BYTES);
    }
  }
  return out;
}
