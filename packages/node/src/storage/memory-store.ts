/**
 * An in-memory KvStore with the same semantics as the LevelDB one: byte-ordered keys, atomic
 * writes, snapshot-free iteration over a sorted copy. Used by tests and the simulator.
 */
import { compareBytes } from "../common/bytes.js";
import { GovchainError } from "../common/errors.js";
import type { KvOperation, KvRange, KvStore, KvWriteOptions } from "./interface.js";

const keyOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
const bytesOf = (key: string): Uint8Array => new Uint8Array(Buffer.from(key, "latin1"));

/** Creates an empty in-memory store. */
export function createMemoryStore(): KvStore & { readonly size: number } {
  const entries = new Map<string, Uint8Array>();
  let open = false;

  const assertOpen = (): void => {
    if (!open) throw new GovchainError("STORE_NOT_OPEN", "the store is not open");
  };

  return {
    get size() {
      return entries.size;
    },
    async open() {
      open = true;
    },
    async close() {
      open = false;
    },
    async get(key) {
      assertOpen();
      const value = entries.get(keyOf(key));
      return value === undefined ? undefined : Uint8Array.from(value);
    },
    async getMany(keys) {
      assertOpen();
      return keys.map((key) => {
        const value = entries.get(keyOf(key));
        return value === undefined ? undefined : Uint8Array.from(value);
      });
    },
    async write(operations: readonly KvOperation[], _options?: KvWriteOptions) {
      assertOpen();
      for (const op of operations) {
        if (op.type === "put") entries.set(keyOf(op.key), Uint8Array.from(op.value));
        else entries.delete(keyOf(op.key));
      }
    },
    async *iterate(range: KvRange = {}) {
      assertOpen();
      const selected: [Uint8Array, Uint8Array][] = [];
      for (const [key, value] of entries) {
        const k = bytesOf(key);
        if (range.gt && compareBytes(k, range.gt) <= 0) continue;
        if (range.gte && compareBytes(k, range.gte) < 0) continue;
        if (range.lt && compareBytes(k, range.lt) >= 0) continue;
        if (range.lte && compareBytes(k, range.lte) > 0) continue;
        selected.push([k, value]);
      }
      selected.sort((a, b) => compareBytes(a[0], b[0]));
      if (range.reverse) selected.reverse();
      const limit = range.limit ?? Number.POSITIVE_INFINITY;
      let emitted = 0;
      for (const [key, value] of selected) {
        if (emitted >= limit) return;
        emitted++;
        yield [key, Uint8Array.from(value)] as const;
      }
    },
  };
}
