/**
 * The native parts of the state tree (gm-native's src/state_native.c): the block rebuild
 * against an independent from-scratch definition of the canonical root (ADR 0003), for both
 * radixes and both hashes; the node tables and slabs under a cache small enough to evict and
 * reload all the time; the batched digest; and the addon's argument checks.
 */
import { hash } from "node:crypto";
import { digestMany, merkleRebuild } from "@govchain/gm-native";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Radix, StateHashName } from "../../src/state/index.js";
import { NODE_TABLE_SEED, NodeTable, SlabRegistry } from "../../src/state/node-table.js";
import { addressPool, blocksArb, hex, memoryTree } from "./support.js";

const pool = addressPool(11);
const CASES: readonly [Radix, StateHashName][] = [
  [16, "sha256"],
  [16, "sm3"],
  [256, "sha256"],
  [256, "sm3"],
];

/**
 * The root of the tree holding exactly `entries`, straight from the rules of ADR 0003 with
 * nothing but node:crypto: a leaf per entry; above several, a branch whose prefix is their
 * longest common prefix (cut to whole digits) with one child per next digit.
 */
function canonicalRoot(
  hashName: StateHashName,
  radix: Radix,
  entries: ReadonlyMap<string, Uint8Array>,
): string {
  const h = (bytes: Uint8Array): Buffer => hash(hashName, bytes, "buffer");
  const width = radix === 16 ? 1 : 2;
  const sorted = [...entries.keys()].sort();
  const build = (addresses: readonly string[]): Buffer => {
    const first = addresses[0] as string;
    if (addresses.length === 1) {
      const value = entries.get(first) ?? new Uint8Array(0);
      return h(Buffer.concat([Buffer.of(1), Buffer.from(first, "hex"), value]));
    }
    const last = addresses[addresses.length - 1] as string;
    let common = 0;
    while (first[common] === last[common]) common++;
    const n = common - (common % width);
    const groups = new Map<number, string[]>();
    for (const address of addresses) {
      const slot = Number.parseInt(address.slice(n, n + width), 16);
      groups.set(slot, [...(groups.get(slot) ?? []), address]);
    }
    const bitmap = Buffer.alloc(radix / 8);
    for (const slot of groups.keys())
      bitmap[slot >> 3] = (bitmap[slot >> 3] ?? 0) | (0x80 >> (slot & 7));
    const prefix = Buffer.from(first.slice(0, n) + (n % 2 ? "0" : "") || "", "hex");
    const children = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => build(g));
    return h(Buffer.concat([Buffer.of(radix === 16 ? 2 : 3, n), prefix, bitmap, ...children]));
  };
  return (sorted.length === 0 ? h(Buffer.of(0)) : build(sorted)).toString("hex");
}

describe.each(CASES)("native rebuild, radix %i, %s", (radix, hashName) => {
  it("gives the canonical root of the contents after any history of blocks", async () => {
    await fc.assert(
      fc.asyncProperty(blocksArb(pool, 6, 30), async (blocks) => {
        const { tree, store } = await memoryTree({ radix, hashName });
        expect(tree.emptyRoot).toBe(canonicalRoot(hashName, radix, new Map()));
        const model = new Map<string, Uint8Array>();
        let root = tree.emptyRoot;
        for (const block of blocks) {
          const update = await tree.update(root, block);
          for (const [address, value] of block) {
            if (value === null) model.delete(address);
            else model.set(address, value);
          }
          expect(update.root).toBe(canonicalRoot(hashName, radix, model));
          // Every operation is a node stored under its own hash.
          for (const op of update.operations) {
            if (op.type !== "put") continue;
            expect(hex(op.key.subarray(1))).toBe(hash(hashName, op.value, "hex"));
          }
          await store.write(update.operations);
          tree.release(update);
          root = update.root;
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("node tables and slabs", () => {
  it("stay consistent with a cache small enough to evict and reload on every block", async () => {
    await fc.assert(
      fc.asyncProperty(
        blocksArb(pool, 10, 20),
        fc.integer({ min: 1, max: 6000 }),
        async (blocks, cacheBytes) => {
          const { tree, store } = await memoryTree({ radix: 16, cacheBytes });
          const model = new Map<string, Uint8Array>();
          let root = tree.emptyRoot;
          for (const block of blocks) {
            // A speculative sibling built on the same parent, abandoned, and a real block.
            const abandoned = await tree.update(root, block.slice(0, 3));
            const update = await tree.update(root, block);
            tree.release(abandoned);
            for (const [address, value] of block) {
              if (value === null) model.delete(address);
              else model.set(address, value);
            }
            await store.write(update.operations);
            tree.release(update);
            root = update.root;
            const got = await tree.getMany(root, pool);
            expect(new Map([...got].map(([k, v]) => [k, hex(v)]))).toEqual(
              new Map([...model].map(([k, v]) => [k, hex(v)])),
            );
          }
          expect(root).toBe(canonicalRoot("sha256", 16, model));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("find what they hold, and grow", () => {
    const slabs = new SlabRegistry();
    const buffer = new ArrayBuffer(64);
    const id = slabs.add(buffer);
    const table = new NodeTable(slabs, 1);
    const keys = Array.from({ length: 100 }, (_, i) => hash("sha256", Buffer.of(i), "buffer"));
    keys.forEach((key, i) => {
      expect(table.set(key, 0, id, i % 60, 4)).toBe(true);
    });
    expect(table.set(keys[0] as Buffer, 0, id, 0, 4)).toBe(false);
    expect(table.size).toBe(100);
    keys.forEach((key, i) => {
      const slot = table.find(key, 0);
      expect(table.offsetAt(slot)).toBe(i % 60);
      expect(table.slabAt(slot)).toBe(id);
    });
    expect(table.find(hash("sha256", Buffer.of(200), "buffer"), 0)).toBe(-1);
    // Every entry holds a count on its buffer; clearing gives them back and frees the id.
    table.clear();
    expect(slabs.buffers[id]).toBeUndefined();
    expect(slabs.add(new ArrayBuffer(8))).toBe(id);
  });
});

describe("gm-native state functions", () => {
  it("digestMany equals one node:crypto hash per input", () => {
    const inputs = [0, 1, 55, 56, 64, 68, 300, 520, 8300].map((n) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff),
    );
    for (const algorithm of ["sha256", "sm3"] as const) {
      const out = digestMany(algorithm, inputs);
      expect(out.length).toBe(32 * inputs.length);
      inputs.forEach((input, i) => {
        expect(hex(out.subarray(32 * i, 32 * i + 32))).toBe(hash(algorithm, input, "hex"));
      });
      expect(digestMany(algorithm, []).length).toBe(0);
    }
  });

  it("hashes batches of every length, eight at a time or alone, exactly as node:crypto", () => {
    // Lengths 0..1200, several of each class of padded length (SM3 runs eight equal classes
    // at once in AVX2 lanes, and a lone one through OpenSSL), in a shuffled order.
    const lengths: number[] = [];
    for (let n = 0; n <= 1200; n += n < 140 ? 1 : 7) lengths.push(n, n, (n * 3) % 1201);
    lengths.push(8300, 8301, 64 * 130 - 9, 64 * 130 - 8);
    const inputs = lengths.map((n, k) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 31 + k * 17 + n) & 0xff),
    );
    for (const algorithm of ["sha256", "sm3"] as const) {
      for (const batch of [inputs, inputs.slice(0, 9), inputs.slice(5, 6), [...inputs].reverse()]) {
        const out = digestMany(algorithm, batch);
        batch.forEach((input, i) => {
          expect(hex(out.subarray(32 * i, 32 * i + 32))).toBe(hash(algorithm, input, "hex"));
        });
      }
    }
  });

  it("rejects malformed arguments and non-canonical nodes with a code, without crashing", () => {
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        return err instanceof Error && "code" in err ? String(err.code) : String(err);
      }
      return undefined;
    };
    const bad = "ERR_GM_NATIVE_INVALID_ARG";
    expect(code(() => digestMany("md5" as "sha256", []))).toBe(bad);
    expect(code(() => digestMany("sha256", [new Uint16Array(2) as unknown as Uint8Array]))).toBe(
      bad,
    );

    const slabs = new SlabRegistry();
    const slab = new ArrayBuffer(64 * 1024);
    const empty = hash("sha256", Buffer.of(0), "buffer");
    const a = Buffer.from(pool[0] as string, "hex");
    const b = Buffer.from(pool[1] as string, "hex");
    const table = new NodeTable(slabs);
    const call = (overrides: Partial<Record<number, unknown>>) => () => {
      const args: unknown[] = [
        "sha256",
        16,
        empty,
        empty,
        Buffer.concat([a, b]),
        [Uint8Array.of(1), null],
        table.storage(),
        slabs.buffers,
        NODE_TABLE_SEED,
        slab,
        0,
      ];
      for (const [i, value] of Object.entries(overrides)) args[Number(i)] = value;
      return (merkleRebuild as (...rest: unknown[]) => unknown)(...args);
    };
    expect(code(call({}))).toBeUndefined();
    expect(code(call({ 1: 8 }))).toBe(bad);
    expect(code(call({ 2: empty.subarray(1) }))).toBe(bad);
    expect(code(call({ 4: Buffer.concat([b, a]) }))).toBe(bad); // not ascending
    expect(code(call({ 4: Buffer.concat([a, a]) }))).toBe(bad); // not distinct
    expect(code(call({ 4: a.subarray(1) }))).toBe(bad);
    expect(code(call({ 5: [Uint8Array.of(1)] }))).toBe(bad);
    expect(code(call({ 5: [Uint8Array.of(1), "x"] }))).toBe(bad);
    expect(code(call({ 6: [new Int32Array(12 * 16), 3] }))).toBe(bad);
    expect(code(call({ 10: 70_000 }))).toBe(bad);

    // A table entry for the root that points past its buffer, then at non-canonical bytes.
    const root = hash("sha256", Buffer.of(9), "buffer");
    const nodeBuffer = new ArrayBuffer(16);
    const id = slabs.add(nodeBuffer);
    const outside = new NodeTable(slabs);
    outside.set(root, 0, id, 8, 16);
    expect(code(call({ 2: root, 6: outside.storage() }))).toBe(bad);
    for (const junk of [[9], [2, 0], [2, 70, 0, 0], [3, 0, 0, 0], [1, 2, 3]]) {
      const corrupt = new NodeTable(slabs);
      new Uint8Array(nodeBuffer).set(junk);
      corrupt.set(root, 0, id, 0, junk.length);
      expect(code(call({ 2: root, 6: corrupt.storage() }))).toBe(bad);
    }
    // A root in no table: null, so that the caller loads the paths.
    expect(call({ 2: root })()).toBeNull();
  });
});
