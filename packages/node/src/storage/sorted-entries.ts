/**
 * Entries sorted by key, with O(1) snapshots: the structure behind the memory store's range
 * reads, which must match LevelDB's (an iteration reads the store as of its start) without
 * copying the store per iteration or re-sorting it per call.
 *
 * Keys are held as latin1 strings (one char per byte, see `keyId`): JavaScript compares such
 * strings by code unit, which is exactly LevelDB's byte order, and a string compare is one
 * object and one native call where a `Uint8Array` compare chases two pointers per key; with a
 * million random keys, cache misses dominate a binary search and this halves it.
 *
 * Entries sit in chunks of at most MAX_CHUNK_ENTRIES, under one array of chunks, so an insert
 * or delete moves at most that many pointers after one binary search per level. Snapshots use ownership
 * stamps (as Clojure's transients do): every chunk and chunk array records the generation that
 * made it; taking a snapshot after a change starts a new generation; a write edits in place
 * only what belongs to the current generation and copies anything older first. So a snapshot
 * costs nothing when taken, and the first write after it copies only the chunk array (n /
 * MAX_CHUNK_ENTRIES pointers) and the chunks it touches.
 */
import { InvariantError } from "../common/errors.js";
import type { NormalizedRange } from "./kv-input.js";

/** A key (as its `keyId`) and its value; treated as immutable once stored. */
export interface Entry {
  readonly id: string;
  readonly value: Uint8Array;
}

/** The latin1 string of a key's bytes: distinct keys give distinct ids, in the same order. */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

/** The bytes of a `keyId`, in a new plain `Uint8Array` that owns its whole `ArrayBuffer`. */
export function keyOfId(id: string): Uint8Array {
  // Not Buffer.from: small Buffers are slices of a shared pool, reachable through `.buffer`.
  const buffer = Buffer.allocUnsafeSlow(id.length);
  buffer.write(id, "latin1");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A frozen view of the entries at the moment `snapshot()` was called. */
export interface EntriesSnapshot {
  /** The entries in `range`, lazily, in key order or reverse, at most `range.limit`. */
  range(range: NormalizedRange): Generator<Entry, void, undefined>;
}

/** A mutable sorted collection of entries with unique keys. */
export interface SortedEntries {
  /** Adds `entry`; its key must not be present. */
  insert(entry: Entry): void;
  /** Replaces the entry with `entry`'s key, which must be present. */
  replace(entry: Entry): void;
  /** Removes the entry with key id `id`, which must be present. */
  remove(id: string): void;
  /** A view that later changes do not affect. */
  snapshot(): EntriesSnapshot;
}

/**
 * Default chunk size: a chunk that grows past it splits in two. Small enough that a splice is a
 * short move; large enough that the chunk array (copied by the first write after a snapshot)
 * stays short: 2,000 chunks for a million keys.
 */
const MAX_CHUNK_ENTRIES = 512;

/** Options of `createSortedEntries`. */
export interface SortedEntriesOptions {
  /** Chunk size limit; default 512. Tests use tiny chunks to exercise splits and removals. */
  readonly maxChunkEntries?: number;
}

interface Chunk {
  readonly entries: Entry[];
  readonly owner: number;
}

interface Tree {
  readonly chunks: Chunk[];
  readonly owner: number;
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) {
    throw new InvariantError("sorted entries: index out of bounds", { index });
  }
  return item;
}

const lastId = (chunk: Chunk): string => at(chunk.entries, chunk.entries.length - 1).id;

/** Whether `candidate` is above `id` (at-or-above when `orEqual`). */
const above = (candidate: string, id: string, orEqual: boolean): boolean =>
  orEqual ? candidate >= id : candidate > id;

/** Index of the first entry above `id` (at-or-above when `orEqual`), or `entries.length`. */
function entryIndex(entries: readonly Entry[], id: string, orEqual: boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (above(at(entries, mid).id, id, orEqual)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Index of the first chunk holding an entry above `id` (at-or-above when `orEqual`). */
function chunkIndex(chunks: readonly Chunk[], id: string, orEqual: boolean): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (above(lastId(at(chunks, mid)), id, orEqual)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Position [chunk, entry] of the first entry above `id` (at-or-above when `orEqual`). */
function position(chunks: readonly Chunk[], id: string, orEqual: boolean): [number, number] {
  const ci = chunkIndex(chunks, id, orEqual);
  if (ci === chunks.length) return [ci, 0];
  return [ci, entryIndex(at(chunks, ci).entries, id, orEqual)];
}

function* walk(
  chunks: readonly Chunk[],
  range: NormalizedRange,
): Generator<Entry, void, undefined> {
  const { lower, upper, reverse } = range;
  // [start, end) as positions; both are normalised (entry index < chunk length, or the end).
  let [ci, ei] = lower === undefined ? [0, 0] : position(chunks, keyId(lower.key), lower.inclusive);
  let [ce, ee] =
    upper === undefined ? [chunks.length, 0] : position(chunks, keyId(upper.key), !upper.inclusive);
  let remaining = range.limit;
  if (!reverse) {
    while (remaining > 0 && (ci < ce || (ci === ce && ei < ee))) {
      const entries = at(chunks, ci).entries;
      yield at(entries, ei);
      remaining--;
      if (++ei === entries.length) {
        ci++;
        ei = 0;
      }
    }
  } else {
    while (remaining > 0 && (ce > ci || (ce === ci && ee > ei))) {
      if (ee === 0) {
        ce--;
        ee = at(chunks, ce).entries.length;
      }
      ee--;
      yield at(at(chunks, ce).entries, ee);
      remaining--;
    }
  }
}

/** Creates an empty collection. */
export function createSortedEntries(options: SortedEntriesOptions = {}): SortedEntries {
  const maxChunkEntries = Math.max(2, options.maxChunkEntries ?? MAX_CHUNK_ENTRIES);
  let generation = 0;
  let tree: Tree = { chunks: [], owner: generation };

  // Every edit goes through here, so a chunk of the current generation exists only if the tree
  // belongs to it too: `tree.owner === generation` means "something is still editable".
  const editableTree = (): Tree => {
    if (tree.owner !== generation) tree = { chunks: tree.chunks.slice(), owner: generation };
    return tree;
  };

  const editableChunk = (t: Tree, index: number): Chunk => {
    const chunk = at(t.chunks, index);
    if (chunk.owner === generation) return chunk;
    const copy: Chunk = { entries: chunk.entries.slice(), owner: generation };
    t.chunks[index] = copy;
    return copy;
  };

  /** The chunk holding `id` (editable) and the entry's index in it; the key must be present. */
  const locate = (id: string): { t: Tree; ci: number; chunk: Chunk; ei: number } => {
    const t = editableTree();
    const ci = chunkIndex(t.chunks, id, true);
    const chunk = ci < t.chunks.length ? editableChunk(t, ci) : undefined;
    const ei = chunk === undefined ? -1 : entryIndex(chunk.entries, id, true);
    const found = chunk?.entries[ei];
    if (chunk === undefined || found === undefined || found.id !== id) {
      throw new InvariantError("sorted entries: key expected to be present is absent");
    }
    return { t, ci, chunk, ei };
  };

  return {
    insert(entry) {
      const t = editableTree();
      if (t.chunks.length === 0) {
        t.chunks.push({ entries: [entry], owner: generation });
        return;
      }
      // The chunk that will hold it: the first whose last key is above it, else the last one.
      const ci = Math.min(chunkIndex(t.chunks, entry.id, true), t.chunks.length - 1);
      const chunk = editableChunk(t, ci);
      chunk.entries.splice(entryIndex(chunk.entries, entry.id, true), 0, entry);
      if (chunk.entries.length > maxChunkEntries) {
        const half = chunk.entries.length >>> 1;
        t.chunks.splice(
          ci,
          1,
          { entries: chunk.entries.slice(0, half), owner: generation },
          { entries: chunk.entries.slice(half), owner: generation },
        );
      }
    },

    replace(entry) {
      const { chunk, ei } = locate(entry.id);
      chunk.entries[ei] = entry;
    },

    remove(id) {
      const { t, ci, chunk, ei } = locate(id);
      chunk.entries.splice(ei, 1);
      // Empty chunks go; small ones stay (merging them would only shorten the chunk array).
      if (chunk.entries.length === 0) t.chunks.splice(ci, 1);
    },

    snapshot() {
      // Freeze what is editable; if nothing is, snapshots since the last change share the state.
      if (tree.owner === generation) generation++;
      const frozen = tree.chunks;
      return { range: (range) => walk(frozen, range) };
    },
  };
}
