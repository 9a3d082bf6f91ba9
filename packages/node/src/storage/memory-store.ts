/**
 * An in-memory KvStore with the same observable semantics as the LevelDB one (the compliance
 * suite in `test/storage` holds both to it): byte-ordered keys, atomic in-order writes,
 * iterations that read a snapshot, copies in and out so callers never share our bytes, the same
 * error codes. Used by tests and the simulator, where it may hold millions of keys, so a point
 * read is a Map lookup, a range read costs O(log n + k) (not a sort of the whole store), and a
 * write O(m log n).
 *
 * Layout: a Map from key to entry for point reads, and the same entries in a chunked sorted
 * collection with O(1) snapshots (`sorted-entries.ts`) for range reads. Keys are kept only as
 * latin1 strings (`keyId`), which order like the bytes and cost far less memory than one
 * `Uint8Array` per key.
 */
import { storeNotOpen } from "./errors.js";
import type { KvStore } from "./interface.js";
import {
  checkKey,
  checkKeys,
  checkOperations,
  checkWriteOptions,
  normalizeRange,
} from "./kv-input.js";
import { createSortedEntries, type Entry, keyId, keyOfId } from "./sorted-entries.js";

/** An in-memory `KvStore` with a few extra read-only gauges. */
export interface MemoryStore extends KvStore {
  /** Number of keys stored. */
  readonly size: number;
  /** Iterations started and not yet finished; each pins a snapshot, so a leak holds memory. */
  readonly activeIterations: number;
}

/** A private copy: a plain Uint8Array, never a view of the caller's or our memory. */
const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/** Creates an empty in-memory store. Its data survives `close()` and a later `open()`. */
export function createMemoryStore(): MemoryStore {
  const byKey = new Map<string, Entry>();
  const sorted = createSortedEntries();
  let open = false;
  // Bumped on close, so an iteration started before a close fails afterwards even if the store
  // was reopened meanwhile, as a LevelDB iterator does (closing the database closes it).
  let epoch = 0;
  let activeIterations = 0;

  return {
    get size() {
      return byKey.size;
    },
    get activeIterations() {
      return activeIterations;
    },
    async open() {
      open = true;
    },
    async close() {
      if (!open) return;
      open = false;
      epoch++;
    },
    async get(key) {
      if (!open) throw storeNotOpen("get");
      checkKey(key);
      const entry = byKey.get(keyId(key));
      return entry === undefined ? undefined : copy(entry.value);
    },
    async getMany(keys) {
      if (!open) throw storeNotOpen("getMany");
      checkKeys(keys);
      return keys.map((key) => {
        const entry = byKey.get(keyId(key));
        return entry === undefined ? undefined : copy(entry.value);
      });
    },
    async write(operations, options) {
      if (!open) throw storeNotOpen("write");
      // Everything is checked before anything changes: a write applies entirely or not at all.
      checkOperations(operations);
      checkWriteOptions(options);
      // The net effect per key; a later operation on the same key wins.
      const net = new Map<string, Uint8Array | null>();
      for (const op of operations)
        net.set(keyId(op.key), op.type === "put" ? copy(op.value) : null);
      for (const [id, value] of net) {
        const existing = byKey.get(id);
        if (value === null) {
          if (existing === undefined) continue;
          sorted.remove(id);
          byKey.delete(id);
        } else {
          const entry: Entry = { id, value };
          if (existing === undefined) sorted.insert(entry);
          else sorted.replace(entry);
          byKey.set(id, entry);
        }
      }
    },
    async *iterate(range) {
      if (!open) throw storeNotOpen("iterate");
      const normalized = normalizeRange(range);
      const startEpoch = epoch;
      const snapshot = sorted.snapshot();
      activeIterations++;
      try {
        for (const entry of snapshot.range(normalized)) {
          if (!open || epoch !== startEpoch) throw storeNotOpen("iterate");
          yield [keyOfId(entry.id), copy(entry.value)] as const;
        }
      } finally {
        activeIterations--;
      }
    },
  };
}
