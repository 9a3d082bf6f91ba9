/**
 * Shared fixtures of the state tests: trees over memory stores, and an address pool whose
 * members share prefixes of many lengths (odd and even), so random sets of them exercise
 * path compression, splits inside a byte for radix 256, and collapses on delete.
 */
import fc from "fast-check";
import { createSeededRandom } from "../../src/common/random.js";
import {
  createStateTree,
  type MerkleStateTree,
  type Radix,
  type StateHashName,
  stateHash,
} from "../../src/state/index.js";
import type { KvStore } from "../../src/storage/interface.js";
import { createMemoryStore } from "../../src/storage/memory-store.js";

/** A tree over a fresh, open memory store. */
export async function memoryTree(
  options: { radix?: Radix; hashName?: StateHashName; cacheBytes?: number; store?: KvStore } = {},
): Promise<{ tree: MerkleStateTree; store: KvStore }> {
  const store = options.store ?? createMemoryStore();
  await store.open();
  const hashName = options.hashName ?? "sha256";
  const tree = createStateTree({
    store,
    hash: stateHash(hashName),
    hashName,
    radix: options.radix ?? 16,
    ...(options.cacheBytes === undefined ? {} : { cache: { maxBytes: options.cacheBytes } }),
  });
  return { tree, store };
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** ~60 addresses around one base, differing at positions from the first to the last digit. */
export function addressPool(seed = 7): string[] {
  const random = createSeededRandom(seed);
  const base = hexOf(random.bytes(35));
  const pool = new Set<string>([base]);
  const change = (address: string, at: number, digit: string): string =>
    address.slice(0, at) + digit + address.slice(at + 1);
  for (const at of [0, 1, 2, 3, 6, 7, 34, 35, 68, 69]) {
    for (const digit of ["0", "9", "f"]) pool.add(change(base, at, digit));
  }
  // Second-level splits below a first split, so branches nest inside compressed paths.
  for (const [a, b] of [
    [3, 4],
    [3, 50],
    [35, 36],
    [68, 69],
  ] as const) {
    for (const digit of ["1", "e"]) pool.add(change(change(base, a, "c"), b, digit));
  }
  for (let i = 0; i < 6; i++) pool.add(hexOf(random.bytes(35)));
  return [...pool].sort();
}

/** A value: short, sometimes empty (an empty value is present, unlike a delete). */
export const valueArb = fc.uint8Array({ minLength: 0, maxLength: 6 });

/** Blocks of changes over `pool`: values, or null for a delete. */
export function blocksArb(pool: readonly string[], maxBlocks = 8, maxChanges = 24) {
  const change = fc.tuple(fc.constantFrom(...pool), fc.option(valueArb, { nil: null, freq: 4 }));
  return fc.array(fc.array(change, { minLength: 0, maxLength: maxChanges }), {
    minLength: 1,
    maxLength: maxBlocks,
  });
}

/** Hex of bytes, for readable equality failures. */
export function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : hexOf(bytes);
}

/** Sorted entries of a model, hex values. */
export function modelEntries(model: ReadonlyMap<string, Uint8Array>): [string, string][] {
  return [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, hexOf(v)]);
}
