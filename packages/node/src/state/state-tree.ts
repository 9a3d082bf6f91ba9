/**
 * The Merkle radix state tree (ADR 0003): a path-compressed trie over 70-hex-digit addresses
 * whose nodes are immutable and stored under their hash, so any number of roots share nodes
 * and stay readable side by side.
 *
 * A block's changes are applied in one pass: sort them and rebuild bottom-up, synchronously,
 * from nodes in memory (execution has just read the same addresses). When a node is missing,
 * the changed paths are loaded level by level, one `getMany` per level (never one await per
 * node), and the rebuild runs again. New nodes stay in a staging area until `release`, so a
 * candidate block can be executed on top of another candidate's root before either is
 * persisted. Reads look in staging, then in a bounded two-generation cache of nodes, then in
 * the store.
 *
 * Performance shapes the representation (ADR 0003, "Measurement"): in memory a node is just
 * its encoding in a shared slab, and tables of plain integers map its hash to where it is
 * (node-table.ts), so the cache holds no JS object per node. The rebuild itself is one native
 * call per block (`merkleRebuild` in @govchain/gm-native): it walks the old nodes in those
 * tables, encodes the new ones into slabs and hashes them bottom-up. Decoded node objects,
 * string keys and per-node buffers had made the garbage collector and the JavaScript around
 * each hash cost ~4× the hashing itself.
 */
import { createRequire } from "node:module";
import type * as GmNative from "@govchain/gm-native";
import { isLowerHexOfLength } from "../common/bytes.js";
import { GovchainError, invariant } from "../common/errors.js";
import type { KvOperation, KvStore } from "../storage/interface.js";
import { KeyPrefix } from "../storage/prefixes.js";
import { ADDRESS_HEX_LENGTH, assertAddress, assertAddressPrefix } from "./address.js";
import { StateErrorCode } from "./errors.js";
import { isStateHashName, type StateHashName, stateHash } from "./hash.js";
import type {
  Address,
  StateChange,
  StatePage,
  StateProof,
  StateRoot,
  StateTree,
  StateUpdate,
} from "./interface.js";
import {
  childOffsetOf,
  childOrdinal,
  comparePrefix,
  decodeNode,
  digitAt,
  EMPTY_NODE_BYTES,
  HASH_BYTES,
  NodeKind,
  prefixLength,
  type Radix,
  slotHex,
} from "./node-codec.js";
import { NODE_TABLE_SEED, NodeTable, SlabRegistry } from "./node-table.js";
import { readVerifiedValues, syncStateNodes } from "./state-sync.js";

// The block rebuild is native (gm-native's src/state_native.c; the addon is a dependency of
// the workspace, built at install): the algorithm of ADR 0003 over the same encoding. The proof
// verifier does not use it: third parties check proofs with node:crypto alone.
const { merkleRebuild } = createRequire(import.meta.url)("@govchain/gm-native") as typeof GmNative;

/** Bounds of the cache of nodes. */
export interface StateCacheOptions {
  /**
   * Approximate bytes of cached nodes (encoding plus a fixed per-node overhead). Default
   * 64 MiB: the upper five levels of a 16-ary tree of 1M leaves, which every block touches,
   * take ~45 MiB. The cache has two generations of half this each (below), so it holds
   * between half and all of it.
   */
  readonly maxBytes?: number;
}

/** Options of `createStateTree`. */
export interface StateTreeOptions {
  /** Where nodes are read from; `update` never writes, it returns the operations. */
  readonly store: KvStore;
  /**
   * The chain's 32-byte suite hash. The tree hashes nodes natively by `hashName`; this is
   * checked against it at construction.
   */
  readonly hash: (data: Uint8Array) => Uint8Array;
  /** Name of `hash`, written into proofs; checked against `hash` at construction. */
  readonly hashName: StateHashName;
  /** Node cache bounds. */
  readonly cache?: StateCacheOptions;
  /**
   * Branching factor, fixed per chain: 16 (default, chosen in ADR 0003) or 256 (the measured
   * alternative; roots differ between the two).
   */
  readonly radix?: Radix;
}

/** A Merkle radix `StateTree` with its fixed parameters. */
export interface MerkleStateTree extends StateTree {
  readonly radix: Radix;
  readonly hashName: StateHashName;
}

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

// Heap bytes of a cached node beyond its encoding: the view object, its table slot (32 key
// bytes and a pointer, in a table at most half full).
const NODE_OVERHEAD_BYTES = 128;

/**
 * Slab size for new nodes' bytes; nodes larger than an eighth of it get their own buffer. The
 * native rebuild allocates the same way (SLAB_BYTES in gm-native's state_native.c).
 */
const SLAB_BYTES = 64 * 1024;

/** A store key: `KeyPrefix.STATE_NODE ‖ hash`. */
const KEY_BYTES = 1 + HASH_BYTES;

const EMPTY_BYTES: Uint8Array = EMPTY_NODE_BYTES;

const NOT_LOWER_HEX = /[^0-9a-f]/;

/** A node on the paths of a sorted batch of addresses, with the range of them that reach it. */
interface Visit {
  /** Where the node's hash is: 32 bytes at `at` in `src` (a parent node, or a root hash). */
  readonly src: Uint8Array;
  readonly at: number;
  bytes: Uint8Array;
  readonly lo: number;
  readonly hi: number;
}

type Slice = (this: Uint8Array, start: number, end: number) => string;
const bufferProto = Buffer.prototype as unknown as { hexSlice?: Slice };
const viewSlice = (encoding: "hex"): Slice =>
  function (this: Uint8Array, start: number, end: number): string {
    return Buffer.from(this.buffer, this.byteOffset + start, end - start).toString(encoding);
  };
// Node's own slice method reads any Uint8Array without building a Buffer view first, which
// measured ~40% cheaper per string than `Buffer.from(…).toString`. It is undocumented, so a
// runtime without it gets the view.
const hexSlice: Slice = bufferProto.hexSlice ?? viewSlice("hex");

function hexOf(bytes: Uint8Array, from = 0, to = bytes.length): string {
  return hexSlice.call(bytes, from, to);
}

const LEAF_VALUE_OFFSET = 1 + ADDRESS_HEX_LENGTH / 2;

/** The store key of the node whose hash is at `at` in `src`. */
function storeKey(src: Uint8Array, at: number): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  key[0] = KeyPrefix.STATE_NODE;
  key.set(src.subarray(at, at + HASH_BYTES), 1);
  return key;
}

/** True when the 32 bytes at `at` in `a` equal those at `bt` in `b`. */
function sameHash(a: Uint8Array, at: number, b: Uint8Array, bt: number): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}

/** Creates a state tree reading through `options.store`. */
export function createStateTree(options: StateTreeOptions): MerkleStateTree {
  const { store, hash, hashName } = options;
  const radix: Radix = options.radix ?? 16;
  if (radix !== 16 && radix !== 256) {
    throw new GovchainError(StateErrorCode.INVALID_ARGUMENT, "radix must be 16 or 256", { radix });
  }
  if (!isStateHashName(hashName)) {
    throw new GovchainError(StateErrorCode.INVALID_ARGUMENT, "hashName must be sha256 or sm3", {
      hashName,
    });
  }
  const emptyHash = Buffer.from(hash(EMPTY_NODE_BYTES));
  // A hash that disagrees with its name would build roots no third party can verify.
  if (emptyHash.length !== HASH_BYTES || !emptyHash.equals(stateHash(hashName)(EMPTY_NODE_BYTES))) {
    throw new GovchainError(StateErrorCode.INVALID_ARGUMENT, "hash does not compute hashName", {
      hashName,
    });
  }
  const emptyRoot = emptyHash.toString("hex");
  const isEmptyHash = (src: Uint8Array, at: number): boolean => sameHash(src, at, emptyHash, 0);

  // Nodes in memory live in shared slabs; tables map hashes to places in them (node-table.ts).
  // New nodes are carved from the current slab, by the native rebuild or by `keep` below. A
  // slab is dropped when no table entry points into it any more; a block's nodes are staged,
  // released and evicted together, so this holds little beyond what the cache bound allows.
  const slabs = new SlabRegistry();
  let slab = new ArrayBuffer(SLAB_BYTES);
  let slabId = slabs.add(slab);
  slabs.retain(slabId); // the tree's own count on its current slab
  let slabUsed = 0;
  const setCurrentSlab = (buffer: ArrayBuffer, id: number, used: number): void => {
    if (id !== slabId) {
      slabs.retain(id);
      slabs.release(slabId);
      slab = buffer;
      slabId = id;
    }
    slabUsed = used;
  };
  /** Copies `bytes` into a slab; returns the buffer id and offset. */
  const keep = (bytes: Uint8Array): [number, number] => {
    if (bytes.length > SLAB_BYTES / 8) {
      const id = slabs.add(new ArrayBuffer(bytes.length));
      slabs.view(id, 0, bytes.length).set(bytes);
      return [id, 0];
    }
    if (slabUsed + bytes.length > SLAB_BYTES) {
      const buffer = new ArrayBuffer(SLAB_BYTES);
      setCurrentSlab(buffer, slabs.add(buffer), 0);
    }
    const offset = slabUsed;
    new Uint8Array(slab, offset, bytes.length).set(bytes);
    slabUsed += bytes.length;
    return [slabId, offset];
  };

  // Staging: one table per update not yet released. A node can come out of two candidate
  // blocks built on one parent; it then sits in both tables and stays staged until both are
  // released. There are rarely more than two tables.
  const staged: NodeTable[] = [];
  const updateTables = new WeakMap<StateUpdate, NodeTable>();
  // A released staging table, emptied, kept for the next update: one block's table is ~400 KB.
  let spare: NodeTable | undefined;
  const stagedGet = (src: Uint8Array, at: number): Uint8Array | undefined => {
    for (let t = staged.length - 1; t >= 0; t--) {
      const bytes = (staged[t] as NodeTable).get(src, at);
      if (bytes !== undefined) return bytes;
    }
    return undefined;
  };

  // The node cache: two generations, each holding up to half the byte bound. New entries go
  // into the young one; when it is full it becomes the old one and the previous old one is
  // dropped whole; a hit in the old one is copied into the young one. This approximates an LRU
  // with a few table operations, where lru-cache's bookkeeping cost ~10% of an update and the
  // string keys and node objects much more (ADR 0003, Measurement).
  const generationBytes = Math.max(
    1,
    Math.floor((options.cache?.maxBytes ?? DEFAULT_CACHE_BYTES) / 2),
  );
  let young = new NodeTable(slabs);
  let old = new NodeTable(slabs);
  const ageIfFull = (): void => {
    if (young.bytes + young.size * NODE_OVERHEAD_BYTES <= generationBytes) return;
    old.clear();
    old = young;
    // Sized for the entries of a full generation of nodes like the last one's, so that it
    // rarely grows (a bulk load can overfill one generation; that one then grew).
    const perEntry = NODE_OVERHEAD_BYTES + old.bytes / Math.max(1, old.size);
    young = new NodeTable(slabs, Math.min(old.size, Math.ceil((1.1 * generationBytes) / perEntry)));
  };
  const cacheSet = (src: Uint8Array, at: number, id: number, offset: number, length: number) => {
    if (young.set(src, at, id, offset, length)) ageIfFull();
  };
  const cacheGet = (src: Uint8Array, at: number): Uint8Array | undefined => {
    const hit = young.find(src, at);
    if (hit >= 0) return young.view(hit);
    const aged = old.find(src, at);
    if (aged < 0) return undefined;
    const bytes = old.view(aged);
    cacheSet(src, at, old.slabAt(aged), old.offsetAt(aged), old.lengthAt(aged));
    return bytes;
  };

  /** The tables nodes are looked up in, in order, as the native rebuild takes them. */
  const lookupTables = (first?: NodeTable): (Int32Array | number)[] => {
    const tables: (Int32Array | number)[] = [];
    if (first !== undefined) tables.push(...first.storage());
    for (let t = staged.length - 1; t >= 0; t--) tables.push(...(staged[t] as NodeTable).storage());
    tables.push(...young.storage(), ...old.storage());
    return tables;
  };

  /** The node whose hash is at `at` in `src`, if it is in memory. */
  const peek = (src: Uint8Array, at: number): Uint8Array | undefined => {
    const bytes = (staged.length === 0 ? undefined : stagedGet(src, at)) ?? cacheGet(src, at);
    if (bytes !== undefined) return bytes;
    // The empty root is never stored; checked last, since it is only ever a root.
    return isEmptyHash(src, at) ? EMPTY_BYTES : undefined;
  };

  /** Fills in the bytes of `visits`, with one store round trip for all misses. */
  async function fill(visits: readonly Visit[]): Promise<void> {
    const misses: Visit[] = [];
    for (const visit of visits) {
      const bytes = peek(visit.src, visit.at);
      if (bytes === undefined) misses.push(visit);
      else visit.bytes = bytes;
    }
    if (misses.length === 0) return;
    const values = await store.getMany(misses.map((visit) => storeKey(visit.src, visit.at)));
    for (let m = 0; m < misses.length; m++) {
      const visit = misses[m] as Visit;
      const value = values[m];
      if (value === undefined) {
        throw new GovchainError(StateErrorCode.STATE_NODE_MISSING, "a state node is missing", {
          hash: hexOf(visit.src, visit.at, visit.at + HASH_BYTES),
        });
      }
      // A racing read may have fetched it meanwhile; keep one copy.
      let bytes = peek(visit.src, visit.at);
      if (bytes === undefined) {
        decodeNode(value); // rejects a corrupt store entry here, not deep in a rebuild
        const [id, offset] = keep(value);
        cacheSet(visit.src, visit.at, id, offset, value.length);
        bytes = slabs.view(id, offset, value.length);
      }
      visit.bytes = bytes;
    }
  }

  async function fetchOne(src: Uint8Array, at: number): Promise<Uint8Array> {
    const visit: Visit = { src, at, bytes: EMPTY_BYTES, lo: 0, hi: 0 };
    await fill([visit]);
    return visit.bytes;
  }

  /** The hash of a root given as hex. */
  function parseRoot(root: StateRoot): Uint8Array {
    if (typeof root !== "string" || !isLowerHexOfLength(root, HASH_BYTES)) {
      throw new GovchainError(
        StateErrorCode.INVALID_STATE_ROOT,
        "a state root is 64 lower-case hex characters",
        {
          length: typeof root === "string" ? root.length : undefined,
        },
      );
    }
    const bytes = Buffer.from(root, "hex");
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  function groupEnd(
    addrs: readonly string[],
    from: number,
    hi: number,
    at: number,
    digit: number,
  ): number {
    let end = from + 1;
    while (end < hi && digitAt(radix, addrs[end] as string, at) === digit) end++;
    return end;
  }

  /**
   * Visits, level by level, every node on the paths of the sorted, distinct `addrs`; each
   * level is one `fill`, so a cold path costs one store round trip per level, never one per
   * node.
   */
  async function walk(
    rootHash: Uint8Array,
    addrs: readonly string[],
    onNode: (visit: Visit) => void,
  ): Promise<void> {
    let level: Visit[] = [{ src: rootHash, at: 0, bytes: EMPTY_BYTES, lo: 0, hi: addrs.length }];
    while (level.length > 0) {
      await fill(level);
      const next: Visit[] = [];
      for (const visit of level) {
        onNode(visit);
        const b = visit.bytes;
        const kind = b[0];
        if (kind !== NodeKind.BRANCH_16 && kind !== NodeKind.BRANCH_256) continue;
        // Only the addresses under the branch's prefix go further; the others diverge here.
        let lo = visit.lo;
        let hi = visit.hi;
        const at = prefixLength(b);
        if (at > 0) {
          lo = prefixBound(addrs, lo, hi, b, 0);
          hi = prefixBound(addrs, lo, hi, b, 1);
        }
        const offset = childOffsetOf(b);
        let j = lo;
        while (j < hi) {
          const digit = digitAt(radix, addrs[j] as string, at);
          const end = groupEnd(addrs, j, hi, at, digit);
          const ordinal = childOrdinal(b, digit);
          if (ordinal >= 0) {
            next.push({
              src: b,
              at: offset + ordinal * HASH_BYTES,
              bytes: EMPTY_BYTES,
              lo: j,
              hi: end,
            });
          }
          j = end;
        }
      }
      level = next;
    }
  }

  const tree: MerkleStateTree = {
    emptyRoot,
    radix,
    hashName,

    async get(root, address) {
      const found = await tree.getMany(root, [address]);
      return found.get(address);
    },

    async getMany(root, addresses) {
      const rootHash = parseRoot(root);
      for (const address of addresses) assertAddress(address);
      const sorted = [...new Set(addresses)].sort();
      const out = new Map<Address, Uint8Array>();
      if (sorted.length === 0) return out;
      await walk(rootHash, sorted, (visit) => {
        if (visit.bytes[0] !== NodeKind.LEAF) return;
        const address = hexOf(visit.bytes, 1, LEAF_VALUE_OFFSET);
        if (indexOf(sorted, address, visit.lo, visit.hi) >= 0)
          out.set(address, leafValue(visit.bytes));
      });
      return out;
    },

    async list(root, prefix, options = {}) {
      const rootHash = parseRoot(root);
      assertAddressPrefix(prefix);
      const { start, limit } = options;
      if (start !== undefined) assertAddress(start, "start");
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) {
        throw new GovchainError(
          StateErrorCode.INVALID_ARGUMENT,
          "limit must be a positive integer",
          { limit },
        );
      }
      // One entry beyond the page tells whether there is a next page, and where it starts.
      const want = limit === undefined ? Number.POSITIVE_INFINITY : limit + 1;
      const entries: [Address, Uint8Array][] = [];

      const visitNode = async (bytes: Uint8Array, bound: string | undefined): Promise<void> => {
        const node = decodeNode(bytes);
        if (node.kind === NodeKind.EMPTY) return;
        if (node.kind === NodeKind.LEAF) {
          if (node.address.startsWith(prefix) && (bound === undefined || node.address >= bound)) {
            entries.push([node.address, leafValue(bytes)]);
          }
          return;
        }
        const froms: number[] = [];
        const bounds: (string | undefined)[] = [];
        for (let i = 0; i < node.slots.length; i++) {
          const path = node.prefix + slotHex(radix, node.slots[i] as number);
          const shared = Math.min(path.length, prefix.length);
          if (path.slice(0, shared) !== prefix.slice(0, shared)) continue;
          let childBound = bound;
          if (bound !== undefined) {
            const head = bound.slice(0, path.length);
            if (path < head) continue;
            if (path > head) childBound = undefined;
          }
          const from = node.childOffset + i * HASH_BYTES;
          froms.push(from);
          bounds.push(childBound);
        }
        // Every matching child yields at least one entry in the common case, so fetching as
        // many children as entries are still wanted keeps small pages from loading whole levels.
        let i = 0;
        while (i < froms.length && entries.length < want) {
          const n = Math.min(froms.length - i, want - entries.length);
          const batch = froms
            .slice(i, i + n)
            .map((at): Visit => ({ src: bytes, at, bytes: EMPTY_BYTES, lo: 0, hi: 0 }));
          await fill(batch);
          for (let k = 0; k < batch.length && entries.length < want; k++) {
            await visitNode((batch[k] as Visit).bytes, bounds[i + k]);
          }
          i += n;
        }
      };

      await visitNode(await fetchOne(rootHash, 0), start);
      if (entries.length > want - 1) {
        const extra = entries.pop() as [Address, Uint8Array];
        return { entries, next: extra[0] };
      }
      return { entries } satisfies StatePage;
    },

    async update(root, changes: Iterable<StateChange>) {
      const rootHash = parseRoot(root);
      // Checked as a whole below: a regular expression over the joined addresses costs a
      // fraction of a character loop per address.
      const latest = new Map<Address, Uint8Array | null>();
      for (const change of changes) {
        const address = change[0];
        const value = change[1];
        if (typeof address !== "string" || address.length !== ADDRESS_HEX_LENGTH) {
          assertAddress(address);
        }
        if (value !== null && !(value instanceof Uint8Array)) {
          // Report an earlier malformed address first, as a check per change would.
          for (const seen of latest.keys()) assertAddress(seen);
          assertAddress(address);
          throw new GovchainError(
            StateErrorCode.INVALID_ARGUMENT,
            "a change's value is bytes or null",
            { address },
          );
        }
        latest.set(address, value);
      }
      // Lower-case hex sorts as strings exactly as the bytes sort.
      const addrs = [...latest.keys()].sort();
      const joined = addrs.join("");
      if (NOT_LOWER_HEX.test(joined)) {
        for (const address of latest.keys()) assertAddress(address);
      }
      const vals = addrs.map((address) => latest.get(address) ?? null);

      // One native call walks the old tree, encodes and hashes the new nodes. Execution has
      // just read these addresses, so their paths are usually in memory.
      const packed = Buffer.from(joined, "hex");
      const rebuild = (first?: NodeTable) =>
        merkleRebuild(
          hashName,
          radix,
          rootHash,
          emptyHash,
          packed,
          vals,
          lookupTables(first),
          slabs.buffers,
          NODE_TABLE_SEED,
          slab,
          slabUsed,
        );
      let built = rebuild();
      if (built === null) {
        // Load every node on the changed paths, a level per store round trip, and hold them
        // here so the cache bound cannot evict them before the rebuild reads them.
        const loaded = new NodeTable(slabs);
        await walk(rootHash, addrs, (visit) => {
          const bytes = visit.bytes;
          if (bytes === EMPTY_BYTES) return;
          // Every node `walk` hands out is a view into one of our slabs.
          const id = slabs.idOf(bytes.buffer);
          invariant(id !== undefined, "a loaded node is not in a slab");
          loaded.set(visit.src, visit.at, id, bytes.byteOffset, bytes.length);
        });
        try {
          built = rebuild(loaded);
        } finally {
          loaded.clear();
        }
        invariant(built !== null, "the rebuild misses a node that was just loaded");
      }
      const newRoot = built.root === null ? emptyRoot : hexOf(built.root);

      // Register the new slabs (the first is the current one), and stage the new nodes under
      // their hashes until `release`, so reads and later updates find them.
      const { keys, layout } = built;
      const ids = built.slabs.map((buffer, i) => (i === 0 ? slabId : slabs.add(buffer)));
      const count = layout.length / 3;
      const table = spare?.fits(count) ? spare : new NodeTable(slabs, count);
      spare = undefined;
      const operations = new Array<KvOperation>(count);
      for (let i = 0; i < count; i++) {
        const local = layout[3 * i] as number;
        const offset = layout[3 * i + 1] as number;
        const length = layout[3 * i + 2] as number;
        const from = i * KEY_BYTES;
        table.set(keys, from + 1, ids[local] as number, offset, length);
        operations[i] = {
          type: "put",
          key: new Uint8Array(keys.buffer, keys.byteOffset + from, KEY_BYTES),
          value: new Uint8Array(built.slabs[local] as ArrayBuffer, offset, length),
        };
      }
      // After the entries hold their counts, or the old current slab could be dropped.
      setCurrentSlab(built.slab, ids[built.slabs.indexOf(built.slab)] as number, built.slabUsed);
      const update: StateUpdate = { root: newRoot, parent: root, operations, nodeCount: count };
      staged.push(table);
      updateTables.set(update, table);
      return update;
    },

    release(update) {
      const table = updateTables.get(update);
      if (table === undefined) return;
      updateTables.delete(update);
      staged.splice(staged.indexOf(table), 1);
      // The newest nodes are the hottest: the next block walks the same upper levels.
      table.copyInto(young);
      table.clear(true);
      spare = table;
      ageIfFull();
    },

    async prove(root, address): Promise<StateProof> {
      let src = parseRoot(root);
      let at = 0;
      assertAddress(address);
      const nodes: string[] = [];
      let value: string | undefined;
      for (;;) {
        const bytes = await fetchOne(src, at);
        nodes.push(hexOf(bytes));
        const node = decodeNode(bytes);
        if (node.kind === NodeKind.EMPTY) break;
        if (node.kind === NodeKind.LEAF) {
          if (node.address === address) value = hexOf(node.value);
          break;
        }
        if (!address.startsWith(node.prefix)) break;
        const ordinal = childOrdinal(bytes, digitAt(radix, address, node.prefix.length));
        if (ordinal < 0) break;
        src = bytes;
        at = node.childOffset + ordinal * HASH_BYTES;
      }
      const base = { version: 1, hash: hashName, root, address } as const;
      return value === undefined ? { ...base, nodes } : { ...base, value, nodes };
    },

    async hasRoot(root) {
      const rootHash = parseRoot(root);
      if (isEmptyHash(rootHash, 0) || stagedGet(rootHash, 0) !== undefined) return true;
      // Not the cache: a released, abandoned update's nodes may linger there unpersisted.
      return (await store.get(storeKey(rootHash, 0))) !== undefined;
    },

    // Both work on the store alone: synced nodes are content-addressed, so the caches (which
    // hold nodes by hash too) can never disagree with them.
    sync(root, source, syncOptions) {
      return syncStateNodes({
        store,
        hash,
        radix,
        root: parseRoot(root),
        source,
        ...(syncOptions ? { options: syncOptions } : {}),
      });
    },

    async readRemote(root, addresses, source) {
      const rootHash = parseRoot(root);
      for (const address of addresses) assertAddress(address);
      return readVerifiedValues({ hash, radix, root: rootHash, addresses, source });
    },
  };
  return tree;
}

/** A copy of a leaf's value, as a plain Uint8Array the caller owns. */
function leafValue(leaf: Uint8Array): Uint8Array {
  return leaf.slice(LEAF_VALUE_OFFSET);
}

/** First index in `[lo, hi)` of sorted `addrs` at or after (`past` 0) or after (1) a branch's prefix. */
function prefixBound(
  addrs: readonly string[],
  lo: number,
  hi: number,
  branch: Uint8Array,
  past: 0 | 1,
): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (comparePrefix(branch, addrs[mid] as string) >= past) b = mid;
    else a = mid + 1;
  }
  return a;
}

/** Index of `target` in `[lo, hi)` of sorted `items`, or -1. */
function indexOf(items: readonly string[], target: string, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >> 1;
    if ((items[mid] as string) >= target) b = mid;
    else a = mid + 1;
  }
  return a < hi && items[a] === target ? a : -1;
}
