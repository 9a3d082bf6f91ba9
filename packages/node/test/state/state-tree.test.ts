/**
 * The state tree against a Map model: random blocks of sets and deletes over an address pool
 * built to share prefixes, checked for reads, listings, canonical roots (independent of order
 * and history), persistence through `operations`, staging, and input validation.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import type { Radix, StateChange, StateUpdate } from "../../src/state/index.js";
import { createStateTree, stateHash } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/memory-store.js";
import { addressPool, blocksArb, hex, memoryTree, modelEntries } from "./support.js";

const pool = addressPool();
const RADIXES: readonly Radix[] = [16, 256];

async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  code: string,
): Promise<void> {
  let caught: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    caught = err;
  }
  expect(isGovchainError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

/** Root of a tree holding exactly `entries`, built from scratch in the given order and chunks. */
async function rootOf(
  radix: Radix,
  entries: readonly (readonly [string, Uint8Array])[],
  chunk: number,
): Promise<string> {
  const { tree, store } = await memoryTree({ radix });
  let root = tree.emptyRoot;
  for (let i = 0; i < entries.length; i += chunk) {
    const update = await tree.update(root, entries.slice(i, i + chunk));
    await store.write(update.operations);
    tree.release(update);
    root = update.root;
  }
  return root;
}

describe.each(RADIXES)("state tree, radix %i", (radix) => {
  it("matches a Map model; roots are canonical; everything persists through operations", async () => {
    await fc.assert(
      fc.asyncProperty(blocksArb(pool), fc.integer({ min: 1, max: 7 }), async (blocks, chunk) => {
        const { tree, store } = await memoryTree({ radix });
        const model = new Map<string, Uint8Array>();
        let root = tree.emptyRoot;
        for (const block of blocks) {
          const update = await tree.update(root, block);
          expect(update.parent).toBe(root);
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
          const page = await tree.list(root, "");
          expect(page.entries.map(([k, v]) => [k, hex(v)])).toEqual(modelEntries(model));
          expect(page.next).toBeUndefined();
        }
        // Canonical: the same contents give the same root whatever the history or order.
        const entries = [...model.entries()];
        expect(await rootOf(radix, entries, entries.length + 1)).toBe(root);
        expect(await rootOf(radix, entries.reverse(), chunk)).toBe(root);
        if (model.size === 0) expect(root).toBe(tree.emptyRoot);

        // A new tree over a copy of the persisted operations reads everything back.
        const fresh = await memoryTree({ radix, cacheBytes: 1 });
        for await (const [key, value] of store.iterate()) {
          await fresh.store.write([{ type: "put", key, value }]);
        }
        const again = await fresh.tree.getMany(root, pool);
        expect(again.size).toBe(model.size);
        for (const [address, value] of model) expect(hex(again.get(address))).toBe(hex(value));
        expect(await fresh.tree.hasRoot(root)).toBe(true);

        // Updating through a cold tree (every path loaded from the store, level by level)
        // gives the same root as updating through the warm one.
        const next = blocks[0] ?? [];
        const warm = await tree.update(root, next);
        const cold = await fresh.tree.update(root, next);
        expect(cold.root).toBe(warm.root);
        expect(cold.nodeCount).toBe(warm.nodeCount);
      }),
      { numRuns: 60 },
    );
  });

  it("inserting then deleting new addresses returns the original root", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom(...pool), { minLength: 0, maxLength: 20 }),
        fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 20 }),
        async (base, extra) => {
          const { tree } = await memoryTree({ radix });
          const start = await tree.update(
            tree.emptyRoot,
            base.map((a) => [a, Uint8Array.of(1)] as const),
          );
          const added = extra.filter((a) => !base.includes(a));
          const grown = await tree.update(
            start.root,
            added.map((a) => [a, Uint8Array.of(2)] as const),
          );
          if (added.length > 0) expect(grown.root).not.toBe(start.root);
          // Deleted one by one, in a different order, each in its own update.
          let root = grown.root;
          for (const address of [...added].reverse())
            root = (await tree.update(root, [[address, null]])).root;
          expect(root).toBe(start.root);
          // And all at once.
          const shrunk = await tree.update(
            grown.root,
            added.map((a) => [a, null] as const),
          );
          expect(shrunk.root).toBe(start.root);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("pages through a listing with prefixes of any length and a start address", async () => {
    const { tree } = await memoryTree({ radix });
    const entries = pool.map((a, i) => [a, Uint8Array.of(i)] as const);
    const { root } = await tree.update(tree.emptyRoot, entries);
    const base = pool[0] ?? "";
    for (const prefix of [
      "",
      base.slice(0, 1),
      base.slice(0, 3),
      base.slice(0, 4),
      base.slice(0, 69),
      base,
    ]) {
      const expected = pool.filter((a) => a.startsWith(prefix));
      for (const limit of [1, 2, 5, 100]) {
        const seen: string[] = [];
        let start: string | undefined;
        for (;;) {
          const page = await tree.list(
            root,
            prefix,
            start === undefined ? { limit } : { limit, start },
          );
          expect(page.entries.length).toBeLessThanOrEqual(limit);
          seen.push(...page.entries.map(([a]) => a));
          if (page.next === undefined) break;
          expect(page.entries.length).toBe(limit);
          start = page.next;
        }
        expect(seen).toEqual(expected);
      }
    }
    // A start between entries, and one past the last.
    const middle = pool[10] ?? "";
    const page = await tree.list(root, "", { start: middle, limit: 3 });
    expect(page.entries.map(([a]) => a)).toEqual(pool.slice(10, 13));
    expect(page.next).toBe(pool[13]);
    expect((await tree.list(root, "", { start: "f".repeat(70) })).entries).toEqual([]);
    expect((await tree.list(root, "0123456")).entries).toEqual(
      pool.filter((a) => a.startsWith("0123456")).map((a) => [a, expect.anything()]),
    );
  });

  it("keeps updates readable while staged, on top of each other, until released", async () => {
    const { tree, store } = await memoryTree({ radix, cacheBytes: 1 });
    const [a, b, c] = pool as [string, string, string];
    const first = await tree.update(tree.emptyRoot, [
      [a, Uint8Array.of(1)],
      [b, Uint8Array.of(2)],
    ]);
    // A candidate block on top of an unpersisted one (speculative execution).
    const second = await tree.update(first.root, [
      [c, Uint8Array.of(3)],
      [a, null],
    ]);
    expect(hex(await tree.get(first.root, a))).toBe("01");
    expect(await tree.get(second.root, a)).toBeUndefined();
    expect(hex(await tree.get(second.root, c))).toBe("03");
    expect(await tree.hasRoot(second.root)).toBe(true);
    expect(store).toBeDefined();

    // Persist the first, abandon the second.
    await store.write(first.operations);
    tree.release(first);
    tree.release(second);
    tree.release(second); // idempotent
    expect(hex(await tree.get(first.root, b))).toBe("02");
    expect(await tree.hasRoot(first.root)).toBe(true);
    expect(await tree.hasRoot(second.root)).toBe(false);
    await expectCode(tree.get(second.root, c), "STATE_NODE_MISSING");
  });

  it("keeps a node two staged updates share until both are released", async () => {
    const { tree } = await memoryTree({ radix, cacheBytes: 1 });
    const [a, b] = pool as [string, string];
    const base = await tree.update(tree.emptyRoot, [[a, Uint8Array.of(1)]]);
    const one: StateUpdate = await tree.update(base.root, [[b, Uint8Array.of(2)]]);
    const two: StateUpdate = await tree.update(base.root, [[b, Uint8Array.of(2)]]);
    expect(two.root).toBe(one.root);
    tree.release(one);
    expect(hex(await tree.get(two.root, b))).toBe("02");
    tree.release(two);
    await expectCode(tree.get(two.root, b), "STATE_NODE_MISSING");
  });

  it("treats no-op changes as no change", async () => {
    const { tree } = await memoryTree({ radix });
    const [a, b] = pool as [string, string];
    const base = await tree.update(tree.emptyRoot, [
      [a, Uint8Array.of(1)],
      [b, Uint8Array.of(2)],
    ]);
    const same = await tree.update(base.root, [
      [a, Uint8Array.of(1)],
      [pool[5] ?? "", null],
    ]);
    expect(same.root).toBe(base.root);
    expect(same.operations).toEqual([]);
    const empty = await tree.update(base.root, []);
    expect(empty).toMatchObject({ root: base.root, parent: base.root, nodeCount: 0 });
    // Later changes to one address win.
    const last = await tree.update(base.root, [
      [a, null],
      [a, Uint8Array.of(7)],
    ]);
    expect(hex(await tree.get(last.root, a))).toBe("07");
  });
});

describe("state tree entry checks", () => {
  const good = pool[0] ?? "";
  const bad = [
    good.toUpperCase(),
    good.slice(1),
    `${good}0`,
    `${good.slice(0, 69)}g`,
    "",
    7 as unknown as string,
  ];

  it("rejects malformed addresses, prefixes, roots and limits", async () => {
    const { tree } = await memoryTree();
    const root = tree.emptyRoot;
    for (const address of bad) {
      await expectCode(tree.get(root, address), "INVALID_ADDRESS");
      await expectCode(tree.getMany(root, [good, address]), "INVALID_ADDRESS");
      await expectCode(tree.update(root, [[address, Uint8Array.of(1)]]), "INVALID_ADDRESS");
      await expectCode(tree.prove(root, address), "INVALID_ADDRESS");
      if (address !== "")
        await expectCode(tree.list(root, "", { start: address }), "INVALID_ADDRESS");
    }
    for (const prefix of ["A", `${good}0`, "xyz", "0g"])
      await expectCode(tree.list(root, prefix), "INVALID_ADDRESS");
    for (const r of ["", root.toUpperCase(), root.slice(2), `${root}00`]) {
      await expectCode(tree.get(r, good), "INVALID_STATE_ROOT");
      await expectCode(tree.hasRoot(r), "INVALID_STATE_ROOT");
    }
    for (const limit of [0, -1, 1.5, Number.NaN])
      await expectCode(tree.list(root, "", { limit }), "INVALID_ARGUMENT");
    await expectCode(
      tree.update(root, [[good, "01" as unknown as Uint8Array]] as StateChange[]),
      "INVALID_ARGUMENT",
    );
    await expectCode(tree.get("ab".repeat(32), good), "STATE_NODE_MISSING");
  });

  it("rejects a hash that does not match its name", async () => {
    const store = createMemoryStore();
    expect(() => createStateTree({ store, hash: stateHash("sm3"), hashName: "sha256" })).toThrow(
      /hashName/,
    );
    expect(() =>
      createStateTree({ store, hash: stateHash("sha256"), hashName: "sha256", radix: 8 as Radix }),
    ).toThrow(/radix/);
  });

  it("reads the empty tree", async () => {
    const { tree } = await memoryTree({ hashName: "sm3" });
    expect(await tree.get(tree.emptyRoot, good)).toBeUndefined();
    expect(await tree.list(tree.emptyRoot, "")).toEqual({ entries: [] });
    expect(await tree.hasRoot(tree.emptyRoot)).toBe(true);
    expect((await tree.getMany(tree.emptyRoot, [])).size).toBe(0);
  });
});
