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
 * persisted. Reads look in staging, then in a bounded LRU of nodes, then in the store.
 *
 * Performance shapes the representation (ADR 0003, "measurement"): in memory a node is just
 * its encoding, one `Uint8Array` view into a shared slab, read in place; nodes are keyed by the
 * 32-character latin1 string of their hash. Decoded node objects, hex keys and per-node
 * buffers made the young-generation GC copy ~1 KB per node and cost more than the hashing.
 */
import { LRUCache } from "lru-cache";
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
  childCount,
  childOffsetOf,
  childOrdinal,
  comparePrefix,
  decodeNode,
  digitAt,
  digitWidth,
  EMPTY_NODE_BYTES,
  encodeBranch,
  encodeLeaf,
  HASH_BYTES,
  leafHasAddress,
  NodeKind,
  prefixCommon,
  prefixDigit,
  prefixLength,
  type Radix,
  rewriteBranch,
  slotHex,
} from "./node-codec.js";

/** Bounds of the cache of nodes. */
export interface StateCacheOptions {
  /**
   * Approximate bytes of cached nodes (encoding plus a fixed per-node overhead). Default
   * 64 MiB: the upper five levels of a 16-ary tree of 1M leaves, which every block touches,
   * take ~45 MiB.
   */
  readonly maxBytes?: number;
}

/** Options of `createStateTree`. */
export interface StateTreeOptions {
  /** Where nodes are read from; `update` never writes, it returns the operations. */
  readonly store: KvStore;
  /** The chain's 32-byte suite hash. */
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

// Heap bytes of a cached node beyond its encoding: the view, its key string, the LRU entry.
const NODE_OVERHEAD_BYTES = 128;

/** Slab size for new nodes' bytes; nodes larger than an eighth of it get their own buffer. */
const SLAB_BYTES = 64 * 1024;

/** "Nothing changed below": lets parents skip re-encoding without comparing bytes. */
const UNCHANGED: Uint8Array = new Uint8Array(0);

const EMPTY_BYTES: Uint8Array = EMPTY_NODE_BYTES;

/** A node on the paths of a sorted batch of addresses, with the range of them that reach it. */
interface Visit {
  /** latin1 string of the node's hash. */
  readonly id: string;
  bytes: Uint8Array;
  readonly lo: number;
  readonly hi: number;
}

/** Thrown inside a rebuild that reached a node not in memory; the update then loads paths. */
class NodeNotInMemory extends Error {}

type Slice = (this: Uint8Array, start: number, end: number) => string;
const bufferProto = Buffer.prototype as unknown as { latin1Slice?: Slice; hexSlice?: Slice };
const viewSlice = (encoding: "latin1" | "hex"): Slice =>
  function (this: Uint8Array, start: number, end: number): string {
    return Buffer.from(this.buffer, this.byteOffset + start, end - start).toString(encoding);
  };
// Node's own slice methods read any Uint8Array without building a Buffer view first, which
// measured ~40% cheaper per key than `Buffer.from(…).toString`. They are undocumented, so a
// runtime without them gets the view.
const latin1Slice: Slice = bufferProto.latin1Slice ?? viewSlice("latin1");
const hexSlice: Slice = bufferProto.hexSlice ?? viewSlice("hex");

/** The map key of a node: its 32-byte hash, at `from` in `bytes`, as a latin1 string. */
function idAt(bytes: Uint8Array, from: number): string {
  return latin1Slice.call(bytes, from, from + HASH_BYTES);
}

function hexOf(bytes: Uint8Array, from = 0, to = bytes.length): string {
  return hexSlice.call(bytes, from, to);
}

const LEAF_VALUE_OFFSET = 1 + ADDRESS_HEX_LENGTH / 2;

function storeKey(id: string): Uint8Array {
  const key = new Uint8Array(1 + HASH_BYTES);
  key[0] = KeyPrefix.STATE_NODE;
  Buffer.from(key.buffer, key.byteOffset + 1, HASH_BYTES).write(id, "latin1");
  return key;
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
  const emptyId = emptyHash.toString("latin1");
  const width = digitWidth(radix);

  const staged = new Map<string, Uint8Array>();
  // Holders beyond the first of a staged node: the same node can come out of two candidate
  // blocks built on one parent. Rare, so kept apart from `staged`.
  const extraRefs = new Map<string, number>();
  const updateIds = new WeakMap<StateUpdate, string[]>();
  const cache = new LRUCache<string, Uint8Array>({
    maxSize: options.cache?.maxBytes ?? DEFAULT_CACHE_BYTES,
    sizeCalculation: (bytes) => bytes.length + NODE_OVERHEAD_BYTES,
  });

  // New nodes and operation keys are carved from shared slabs. A slab stays alive while any
  // node in it is staged or cached; a block's nodes are released and evicted together, so
  // this holds little beyond what the cache bound already allows.
  let slab = new Uint8Array(SLAB_BYTES);
  let slabUsed = 0;
  const allocate = (length: number): Uint8Array => {
    if (length > SLAB_BYTES / 8) return new Uint8Array(length);
    if (slabUsed + length > SLAB_BYTES) {
      slab = new Uint8Array(SLAB_BYTES);
      slabUsed = 0;
    }
    const out = slab.subarray(slabUsed, slabUsed + length);
    slabUsed += length;
    return out;
  };

  const peek = (id: string): Uint8Array | undefined => {
    if (id === emptyId) return EMPTY_BYTES;
    return staged.get(id) ?? cache.get(id);
  };

  /** Fills in the bytes of `visits`, with one store round trip for all misses. */
  async function fill(visits: readonly Visit[]): Promise<void> {
    const misses: Visit[] = [];
    for (const visit of visits) {
      const bytes = peek(visit.id);
      if (bytes === undefined) misses.push(visit);
      else visit.bytes = bytes;
    }
    if (misses.length === 0) return;
    const values = await store.getMany(misses.map((visit) => storeKey(visit.id)));
    for (let m = 0; m < misses.length; m++) {
      const visit = misses[m] as Visit;
      const value = values[m];
      if (value === undefined) {
        throw new GovchainError(StateErrorCode.STATE_NODE_MISSING, "a state node is missing", {
          hash: Buffer.from(visit.id, "latin1").toString("hex"),
        });
      }
      // A racing read may have fetched it meanwhile; keep one copy.
      let bytes = peek(visit.id);
      if (bytes === undefined) {
        // A plain view: a Buffer's `subarray` constructs a FastBuffer, measurably slower.
        bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        decodeNode(bytes); // rejects a corrupt store entry here, not deep in a rebuild
        cache.set(visit.id, bytes);
      }
      visit.bytes = bytes;
    }
  }

  async function fetchOne(id: string): Promise<Uint8Array> {
    const visit: Visit = { id, bytes: EMPTY_BYTES, lo: 0, hi: 0 };
    await fill([visit]);
    return visit.bytes;
  }

  function parseRoot(root: StateRoot): string {
    if (typeof root !== "string" || !isLowerHexOfLength(root, HASH_BYTES)) {
      throw new GovchainError(
        StateErrorCode.INVALID_STATE_ROOT,
        "a state root is 64 lower-case hex characters",
        {
          length: typeof root === "string" ? root.length : undefined,
        },
      );
    }
    return Buffer.from(root, "hex").toString("latin1");
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
    rootId: string,
    addrs: readonly string[],
    onNode: (visit: Visit) => void,
  ): Promise<void> {
    let level: Visit[] = [{ id: rootId, bytes: EMPTY_BYTES, lo: 0, hi: addrs.length }];
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
              id: idAt(b, offset + ordinal * HASH_BYTES),
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

  /**
   * Rebuilds the tree under `rootId` with the sorted, distinct changes `addrs`/`vals`, reading
   * nodes synchronously through `lookup`; throws NodeNotInMemory when one is missing.
   */
  function rebuildTree(
    rootId: string,
    rootHash: Uint8Array,
    addrs: readonly string[],
    vals: readonly (Uint8Array | null)[],
    lookup: (id: string) => Uint8Array | undefined,
  ): { root: Uint8Array | null; nodes: Uint8Array[]; hashes: Uint8Array[] } {
    const nodes: Uint8Array[] = [];
    const hashes: Uint8Array[] = [];
    const emit = (bytes: Uint8Array): Uint8Array => {
      const h = hash(bytes);
      nodes.push(bytes);
      hashes.push(h);
      return h;
    };
    const finish = (prefix: string, slots: number[], children: Uint8Array[]): Uint8Array | null => {
      if (children.length === 0) return null;
      // A lone child moves up as it is: nodes carry absolute positions (canonical form).
      if (children.length === 1) return children[0] as Uint8Array;
      return emit(encodeBranch(radix, prefix, slots, children, allocate));
    };
    // The hash of the node whose hash sits at `at` in `src` (a parent's bytes, or the root hash).
    const hashAt = (src: Uint8Array, at: number): Uint8Array => src.subarray(at, at + HASH_BYTES);

    function rebuild(
      id: string,
      lo: number,
      hi: number,
      src: Uint8Array,
      at: number,
    ): Uint8Array | null {
      const b = lookup(id);
      if (b === undefined) throw new NodeNotInMemory();
      const kind = b[0];
      if (kind === NodeKind.LEAF) return fresh(lo, hi, b, src, at);
      if (kind === NodeKind.EMPTY) return fresh(lo, hi, undefined, src, at);
      return rebuildBranch(b, lo, hi, src, at);
    }

    function rebuildBranch(
      b: Uint8Array,
      lo: number,
      hi: number,
      src: Uint8Array,
      at: number,
    ): Uint8Array | null {
      const n = prefixLength(b);
      const common = Math.min(
        prefixCommon(b, addrs[lo] as string),
        prefixCommon(b, addrs[hi - 1] as string),
      );
      if (common < n) {
        // Some changes leave the branch's prefix: a new branch may be needed above it, with the
        // old branch (rebuilt with its own changes) as one child.
        const split = common - (common % width);
        const own = prefixDigit(b, radix, split);
        const slots: number[] = [];
        const children: Uint8Array[] = [];
        let ownResult: Uint8Array | null = UNCHANGED;
        let others = 0;
        let j = lo;
        while (j < hi) {
          const digit = digitAt(radix, addrs[j] as string, split);
          const end = groupEnd(addrs, j, hi, split, digit);
          if (digit === own) {
            ownResult = rebuildBranch(b, j, end, src, at);
          } else {
            const child = fresh(j, end, undefined, src, at);
            if (child !== null) {
              slots.push(digit);
              children.push(child);
              others++;
            }
          }
          j = end;
        }
        if (others === 0) return ownResult;
        if (ownResult !== null) {
          const k = slots.findIndex((slot) => slot > own);
          const index = k < 0 ? slots.length : k;
          slots.splice(index, 0, own);
          children.splice(index, 0, ownResult === UNCHANGED ? hashAt(src, at) : ownResult);
        }
        return finish((addrs[lo] as string).slice(0, split), slots, children);
      }

      const offset = childOffsetOf(b);
      const modSlots: number[] = [];
      const modHashes: (Uint8Array | null)[] = [];
      let removed = 0;
      let added = 0;
      let j = lo;
      while (j < hi) {
        const digit = digitAt(radix, addrs[j] as string, n);
        const end = groupEnd(addrs, j, hi, n, digit);
        const ordinal = childOrdinal(b, digit);
        if (ordinal >= 0) {
          const from = offset + ordinal * HASH_BYTES;
          const after = rebuild(idAt(b, from), j, end, b, from);
          if (after !== UNCHANGED) {
            modSlots.push(digit);
            modHashes.push(after);
            if (after === null) removed++;
          }
        } else {
          const after = fresh(j, end, undefined, src, at);
          if (after !== null) {
            modSlots.push(digit);
            modHashes.push(after);
            added++;
          }
        }
        j = end;
      }
      if (modSlots.length === 0) return UNCHANGED;
      const count = childCount(b) - removed + added;
      if (count === 0) return null;
      if (count === 1) {
        // The one child left moves up: a modification, or an old child none touched.
        for (const m of modHashes) if (m !== null) return m;
        for (let i = 0, slot = 0; slot < radix; slot++) {
          if (childOrdinal(b, slot) < 0) continue;
          if (!modSlots.includes(slot)) return hashAt(b, offset + i * HASH_BYTES);
          i++;
        }
        invariant(false, "a branch with one child left has none");
      }
      return emit(rewriteBranch(b, modSlots, modHashes, allocate));
    }

    /**
     * The subtree holding the sets in `[lo, hi)` plus, unless a change names it, the existing
     * `leaf` (hash at `at` in `src`); deletes of absent addresses vanish. UNCHANGED when the
     * result is the leaf alone.
     */
    function fresh(
      lo: number,
      hi: number,
      leaf: Uint8Array | undefined,
      src: Uint8Array,
      at: number,
    ): Uint8Array | null {
      let keep: string | undefined;
      if (leaf !== undefined) {
        // The common case, an overwrite or delete of the leaf itself, needs no hex string.
        if (hi - lo === 1 && leafHasAddress(leaf, addrs[lo] as string)) {
          const value = vals[lo] as Uint8Array | null;
          if (value === null) return null;
          if (sameValue(leaf, value)) return UNCHANGED;
          return emit(encodeLeaf(addrs[lo] as string, value, allocate));
        }
        const address = hexOf(leaf, 1, LEAF_VALUE_OFFSET);
        if (indexOf(addrs, address, lo, hi) < 0) keep = address;
      }
      let first = lo;
      while (first < hi && vals[first] === null) first++;
      let last = hi - 1;
      while (last >= first && vals[last] === null) last--;
      if (first > last) return keep === undefined ? null : UNCHANGED;
      if (first === last && keep === undefined) {
        return emit(encodeLeaf(addrs[first] as string, vals[first] as Uint8Array, allocate));
      }
      let min = addrs[first] as string;
      let max = addrs[last] as string;
      if (keep !== undefined) {
        if (keep < min) min = keep;
        else if (keep > max) max = keep;
      }
      const common = commonLength(min, max, ADDRESS_HEX_LENGTH);
      const split = common - (common % width);
      const keepDigit = keep === undefined ? -1 : digitAt(radix, keep, split);
      const slots: number[] = [];
      const children: Uint8Array[] = [];
      let placed = keep === undefined;
      let j = first;
      while (j <= last) {
        const digit = digitAt(radix, addrs[j] as string, split);
        const end = groupEnd(addrs, j, last + 1, split, digit);
        if (!placed && keepDigit < digit) {
          slots.push(keepDigit);
          children.push(hashAt(src, at));
          placed = true;
        }
        let child: Uint8Array | null;
        if (digit === keepDigit) {
          child = fresh(j, end, leaf, src, at);
          if (child === UNCHANGED) child = hashAt(src, at);
          placed = true;
        } else {
          child = fresh(j, end, undefined, src, at);
        }
        if (child !== null) {
          slots.push(digit);
          children.push(child);
        }
        j = end;
      }
      if (!placed) {
        slots.push(keepDigit);
        children.push(hashAt(src, at));
      }
      return finish(min.slice(0, split), slots, children);
    }

    const result = rebuild(rootId, 0, addrs.length, rootHash, 0);
    return { root: result === UNCHANGED ? rootHash : result, nodes, hashes };
  }

  function stage(update: StateUpdate, ids: readonly string[], nodes: readonly Uint8Array[]): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      if (staged.has(id)) extraRefs.set(id, (extraRefs.get(id) ?? 0) + 1);
      else staged.set(id, nodes[i] as Uint8Array);
    }
    updateIds.set(update, ids as string[]);
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
      const rootId = parseRoot(root);
      for (const address of addresses) assertAddress(address);
      const sorted = [...new Set(addresses)].sort();
      const out = new Map<Address, Uint8Array>();
      if (sorted.length === 0) return out;
      await walk(rootId, sorted, (visit) => {
        if (visit.bytes[0] !== NodeKind.LEAF) return;
        const address = hexOf(visit.bytes, 1, LEAF_VALUE_OFFSET);
        if (indexOf(sorted, address, visit.lo, visit.hi) >= 0)
          out.set(address, leafValue(visit.bytes));
      });
      return out;
    },

    async list(root, prefix, options = {}) {
      const rootId = parseRoot(root);
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
        const ids: string[] = [];
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
          ids.push(idAt(bytes, from));
          bounds.push(childBound);
        }
        // Every matching child yields at least one entry in the common case, so fetching as
        // many children as entries are still wanted keeps small pages from loading whole levels.
        let i = 0;
        while (i < ids.length && entries.length < want) {
          const n = Math.min(ids.length - i, want - entries.length);
          const batch = ids
            .slice(i, i + n)
            .map((id): Visit => ({ id, bytes: EMPTY_BYTES, lo: 0, hi: 0 }));
          await fill(batch);
          for (let k = 0; k < batch.length && entries.length < want; k++) {
            await visitNode((batch[k] as Visit).bytes, bounds[i + k]);
          }
          i += n;
        }
      };

      await visitNode(await fetchOne(rootId), start);
      if (entries.length > want - 1) {
        const extra = entries.pop() as [Address, Uint8Array];
        return { entries, next: extra[0] };
      }
      return { entries } satisfies StatePage;
    },

    async update(root, changes: Iterable<StateChange>) {
      const rootId = parseRoot(root);
      const latest = new Map<Address, Uint8Array | null>();
      for (const change of changes) {
        const [address, value] = change;
        assertAddress(address);
        if (value !== null && !(value instanceof Uint8Array)) {
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
      const vals = addrs.map((address) => latest.get(address) ?? null);

      let built: { root: Uint8Array | null; nodes: Uint8Array[]; hashes: Uint8Array[] };
      const rootHash = new Uint8Array(Buffer.from(rootId, "latin1"));
      if (addrs.length === 0) {
        built = { root: rootHash, nodes: [], hashes: [] };
      } else {
        try {
          // Execution has just read these addresses, so their paths are usually in memory.
          built = rebuildTree(rootId, rootHash, addrs, vals, peek);
        } catch (err) {
          if (!(err instanceof NodeNotInMemory)) throw err;
          // Load every node on the changed paths, a level per store round trip, and hold them
          // here so the cache bound cannot evict them before the rebuild reads them.
          const loaded = new Map<string, Uint8Array>();
          await walk(rootId, addrs, (visit) => loaded.set(visit.id, visit.bytes));
          built = rebuildTree(rootId, rootHash, addrs, vals, (id) => loaded.get(id) ?? peek(id));
        }
      }
      const newRoot = built.root === null ? emptyRoot : hexOf(built.root);

      const count = built.nodes.length;
      const ids = new Array<string>(count);
      const operations = new Array<KvOperation>(count);
      for (let i = 0; i < count; i++) {
        const h = built.hashes[i] as Uint8Array;
        ids[i] = idAt(h, 0);
        const key = allocate(1 + HASH_BYTES);
        key[0] = KeyPrefix.STATE_NODE;
        key.set(h, 1);
        operations[i] = { type: "put", key, value: built.nodes[i] as Uint8Array };
      }
      const update: StateUpdate = { root: newRoot, parent: root, operations, nodeCount: count };
      stage(update, ids, built.nodes);
      return update;
    },

    release(update) {
      const ids = updateIds.get(update);
      if (ids === undefined) return;
      updateIds.delete(update);
      for (const id of ids) {
        const extra = extraRefs.get(id);
        if (extra !== undefined) {
          if (extra > 1) extraRefs.set(id, extra - 1);
          else extraRefs.delete(id);
          continue;
        }
        const bytes = staged.get(id);
        if (bytes === undefined) continue;
        staged.delete(id);
        // The newest nodes are the hottest: the next block walks the same upper levels.
        cache.set(id, bytes);
      }
    },

    async prove(root, address): Promise<StateProof> {
      let id = parseRoot(root);
      assertAddress(address);
      const nodes: string[] = [];
      let value: string | undefined;
      for (;;) {
        const bytes = await fetchOne(id);
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
        const from = node.childOffset + ordinal * HASH_BYTES;
        id = idAt(bytes, from);
      }
      const base = { version: 1, hash: hashName, root, address } as const;
      return value === undefined ? { ...base, nodes } : { ...base, value, nodes };
    },

    async hasRoot(root) {
      const id = parseRoot(root);
      if (id === emptyId || staged.has(id)) return true;
      // Not the cache: a released, abandoned update's nodes may linger there unpersisted.
      return (await store.get(storeKey(id))) !== undefined;
    },
  };
  return tree;
}

/** A copy of a leaf's value, as a plain Uint8Array the caller owns. */
function leafValue(leaf: Uint8Array): Uint8Array {
  return leaf.slice(LEAF_VALUE_OFFSET);
}

/** True when the leaf holds exactly `value`. */
function sameValue(leaf: Uint8Array, value: Uint8Array): boolean {
  if (leaf.length - LEAF_VALUE_OFFSET !== value.length) return false;
  for (let i = 0; i < value.length; i++) if (leaf[LEAF_VALUE_OFFSET + i] !== value[i]) return false;
  return true;
}

/** Length of the common prefix of `a` and `b`, at most `max` characters. */
function commonLength(a: string, b: string, max: number): number {
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
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
