/**
 * The compliance suite of the `KvStore` contract. Every implementation (LevelDB, memory, and any
 * later one) runs this same suite, so "the same semantics" is decided here, not by reading code:
 * byte order, bound handling, atomic in-order writes, snapshots, copies in and out, errors.
 * Expected results come from a model written independently of the stores (hex strings sort in
 * byte order), and fast-check drives random histories against a sorted-map model.
 */
import * as fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import { GovchainError } from "../../src/common/errors.js";
import { createSeededRandom } from "../../src/common/random.js";
import type { KvOperation, KvRange, KvStore } from "../../src/storage/interface.js";

/** What a test file hands the suite: a fresh, unopened store and how to inspect and dispose of it. */
export interface KvStoreHarness {
  readonly store: KvStore;
  /** Iterations still holding engine resources (iterator, snapshot); must return to 0. */
  activeIterations(): number;
  /** Closes the store and removes everything the harness created (temp directories). */
  dispose(): Promise<void>;
}

/** Tuning of the suite for slower engines. */
export interface KvStoreComplianceOptions {
  /** fast-check runs per property; default 100. */
  readonly propertyRuns?: number;
}

type Pair = readonly [key: string, value: string];

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const hexOf = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : toHex(value);

/** All entries of `range`, as hex pairs (readable diffs). */
async function collect(store: KvStore, range?: KvRange): Promise<Pair[]> {
  const out: Pair[] = [];
  for await (const [key, value] of store.iterate(range)) out.push([toHex(key), toHex(value)]);
  return out;
}

/** The error `promise` rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, got a result");
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(GovchainError);
  expect((err as GovchainError).code).toBe(code);
}

/** The model's answer to `range` over `entries` (hex → hex): filter, sort, reverse, limit. */
function modelRange(entries: ReadonlyMap<string, string>, range: KvRange = {}): Pair[] {
  const gt = hexOf(range.gt);
  const gte = hexOf(range.gte);
  const lt = hexOf(range.lt);
  const lte = hexOf(range.lte);
  const keys = [...entries.keys()]
    .filter(
      (k) =>
        (gt === undefined || k > gt) &&
        (gte === undefined || k >= gte) &&
        (lt === undefined || k < lt) &&
        (lte === undefined || k <= lte),
    )
    .sort();
  if (range.reverse === true) keys.reverse();
  const limited = range.limit === undefined ? keys : keys.slice(0, range.limit);
  return limited.map((k) => [k, entries.get(k) ?? ""] as const);
}

/** Keys chosen to trip byte-order mistakes: empty, 0x00 and 0xff runs, prefixes of each other. */
const TRICKY_KEYS: readonly Uint8Array[] = [
  bytes(),
  bytes(0x00),
  bytes(0x00, 0x00),
  bytes(0x00, 0xff),
  bytes(0x01),
  bytes(0x01, 0x00),
  bytes(0x7f),
  bytes(0x80, 0x00),
  bytes(0xfe, 0xff),
  bytes(0xff),
  bytes(0xff, 0x00),
  bytes(0xff, 0xff),
  bytes(0xff, 0xff, 0xff),
];

/** Bounds for the exhaustive range test: absent, present keys, and keys between them. */
const BOUNDS: readonly (Uint8Array | undefined)[] = [
  undefined,
  bytes(),
  bytes(0x00, 0x00),
  bytes(0x01),
  bytes(0x80),
  bytes(0xff, 0xff),
];

/** Runs the compliance suite against the stores `factory` makes (one fresh store per test). */
export function describeKvStoreCompliance(
  name: string,
  factory: () => Promise<KvStoreHarness>,
  options: KvStoreComplianceOptions = {},
): void {
  const propertyRuns = options.propertyRuns ?? 100;

  describe(`KvStore compliance: ${name}`, () => {
    let harness: KvStoreHarness;
    let store: KvStore;

    beforeEach(async () => {
      harness = await factory();
      store = harness.store;
      await store.open();
    });

    afterEach(async () => {
      await harness.dispose();
    });

    const put = (key: Uint8Array, value: Uint8Array): KvOperation => ({ type: "put", key, value });
    const del = (key: Uint8Array): KvOperation => ({ type: "del", key });

    /** Stores TRICKY_KEYS with value = the key's index, and returns the model. */
    async function storeTrickyKeys(): Promise<Map<string, string>> {
      const model = new Map<string, string>();
      const ops = TRICKY_KEYS.map((key, i) => {
        model.set(toHex(key), toHex(bytes(i)));
        return put(key, bytes(i));
      });
      await store.write(ops);
      return model;
    }

    describe("get, put, del", () => {
      it("returns undefined for a missing key", async () => {
        expect(await store.get(bytes(1, 2, 3))).toBeUndefined();
      });

      it("reads back what was put, as a plain Uint8Array", async () => {
        await store.write([put(bytes(1), bytes(10, 20))]);
        const value = await store.get(bytes(1));
        expect(value).toBeInstanceOf(Uint8Array);
        expect(Buffer.isBuffer(value)).toBe(false);
        expect(hexOf(value)).toBe("0a14");
      });

      it("overwrites, deletes, and treats deleting a missing key as a no-op", async () => {
        await store.write([put(bytes(1), bytes(1))]);
        await store.write([put(bytes(1), bytes(2))]);
        expect(hexOf(await store.get(bytes(1)))).toBe("02");
        await store.write([del(bytes(1)), del(bytes(9))]);
        expect(await store.get(bytes(1))).toBeUndefined();
        expect(await collect(store)).toEqual([]);
      });

      it("stores an empty value as present and empty", async () => {
        await store.write([put(bytes(5), bytes())]);
        const value = await store.get(bytes(5));
        expect(value).toBeInstanceOf(Uint8Array);
        expect(value?.length).toBe(0);
        expect(await collect(store)).toEqual([["05", ""]]);
      });

      it("keeps keys with 0x00 and 0xff bytes, and the empty key, distinct", async () => {
        const model = await storeTrickyKeys();
        for (const [i, key] of TRICKY_KEYS.entries()) {
          expect(hexOf(await store.get(key))).toBe(toHex(bytes(i)));
        }
        expect(await collect(store)).toEqual(modelRange(model));
      });

      it("round-trips a 1 MiB value through get, getMany and iterate", async () => {
        const big = createSeededRandom(1).bytes(1024 * 1024);
        await store.write([put(bytes(7), big), put(bytes(8), bytes(1))], { sync: true });
        expect(Buffer.compare(big, (await store.get(bytes(7))) ?? bytes())).toBe(0);
        const [fromMany] = await store.getMany([bytes(7)]);
        expect(fromMany?.length).toBe(big.length);
        expect(Buffer.compare(big, fromMany ?? bytes())).toBe(0);
        const entries: Uint8Array[] = [];
        for await (const [, value] of store.iterate({ limit: 1 })) entries.push(value);
        expect(entries.length).toBe(1);
        expect(Buffer.compare(big, entries[0] ?? bytes())).toBe(0);
      });

      it("stores only the viewed bytes of inputs that are views into larger memory", async () => {
        const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
        const keyView = new Uint8Array(backing.buffer, 2, 2);
        const valueView = Buffer.from(backing.buffer, 3, 3);
        await store.write([put(keyView, valueView)]);
        expect(hexOf(await store.get(bytes(1, 2)))).toBe("020309");
        expect(await collect(store)).toEqual([["0102", "020309"]]);
      });
    });

    describe("atomic writes", () => {
      it("applies every operation of a batch", async () => {
        await store.write([
          put(bytes(1), bytes(1)),
          put(bytes(2), bytes(2)),
          put(bytes(3), bytes(3)),
        ]);
        await store.write([del(bytes(2)), put(bytes(4), bytes(4))]);
        expect(await collect(store)).toEqual([
          ["01", "01"],
          ["03", "03"],
          ["04", "04"],
        ]);
      });

      it("lets a later operation on the same key win", async () => {
        await store.write([put(bytes(1), bytes(1)), put(bytes(1), bytes(2))]);
        await store.write([put(bytes(2), bytes(1)), del(bytes(2))]);
        await store.write([del(bytes(3)), put(bytes(3), bytes(3))]);
        await store.write([put(bytes(4), bytes(1)), del(bytes(4)), put(bytes(4), bytes(4))]);
        expect(await collect(store)).toEqual([
          ["01", "02"],
          ["03", "03"],
          ["04", "04"],
        ]);
      });

      it("applies nothing when any operation is malformed", async () => {
        await store.write([put(bytes(1), bytes(1))]);
        const bad = [
          put(bytes(2), bytes(2)),
          del(bytes(1)),
          { type: "put", key: bytes(3), value: "not bytes" } as unknown as KvOperation,
        ];
        await expectCode(store.write(bad), "STORE_INVALID_ARGUMENT");
        await expectCode(
          store.write([{ type: "merge", key: bytes(1) } as unknown as KvOperation]),
          "STORE_INVALID_ARGUMENT",
        );
        await expectCode(
          store.write([put(bytes(1), bytes(1))], { sync: "yes" } as never),
          "STORE_INVALID_ARGUMENT",
        );
        expect(await collect(store)).toEqual([["01", "01"]]);
      });

      it("accepts an empty batch, synced or not", async () => {
        await store.write([]);
        await store.write([], { sync: true });
        await store.write([put(bytes(1), bytes(1))], { sync: true });
        await store.write([put(bytes(2), bytes(2))], { sync: false });
        expect((await collect(store)).length).toBe(2);
      });

      it("applies writes in call order even when not awaited one by one", async () => {
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 50; i++) {
          writes.push(
            store.write([put(bytes(1), bytes(i)), put(bytes(2, i), bytes(i))], {
              sync: i % 10 === 0,
            }),
          );
        }
        writes.push(store.write([del(bytes(2, 49))]));
        await Promise.all(writes);
        expect(hexOf(await store.get(bytes(1)))).toBe("31");
        expect((await collect(store)).length).toBe(1 + 49);
      });

      it("copies its inputs at the call: changing them afterwards changes nothing", async () => {
        const key = bytes(1, 1);
        const value = bytes(5, 5, 5);
        const ops = [put(key, value)];
        // An earlier write in flight makes the second one queue behind it.
        const first = store.write([put(bytes(0), bytes(0))]);
        const second = store.write(ops);
        key.fill(2);
        value.fill(6);
        ops.length = 0;
        await Promise.all([first, second]);
        expect(hexOf(await store.get(bytes(1, 1)))).toBe("050505");
        expect(await store.get(bytes(2, 2))).toBeUndefined();
      });

      it("keeps large batches with inserts, overwrites and deletes consistent", async () => {
        const model = new Map<string, string>();
        const random = createSeededRandom(7);
        for (let round = 0; round < 6; round++) {
          const ops: KvOperation[] = [];
          for (let i = 0; i < 400; i++) {
            const key = bytes(random.int(4), random.int(256));
            if (random.next() < 0.3) {
              ops.push(del(key));
              model.delete(toHex(key));
            } else {
              const value = bytes(round, i & 0xff);
              ops.push(put(key, value));
              model.set(toHex(key), toHex(value));
            }
          }
          await store.write(ops);
          expect(await collect(store)).toEqual(modelRange(model));
          expect(await collect(store, { reverse: true })).toEqual(
            modelRange(model, { reverse: true }),
          );
        }
      });
    });

    describe("getMany", () => {
      it("returns values in the order asked, undefined where missing, duplicates repeated", async () => {
        await store.write([
          put(bytes(1), bytes(11)),
          put(bytes(3), bytes(33)),
          put(bytes(), bytes(0)),
        ]);
        const values = await store.getMany([bytes(3), bytes(2), bytes(1), bytes(3), bytes()]);
        expect(values.map(hexOf)).toEqual(["21", undefined, "0b", "21", "00"]);
        expect(await store.getMany([])).toEqual([]);
      });
    });

    describe("returned bytes are the caller's own", () => {
      it("does not let a mutated result change the store or other results", async () => {
        await store.write([put(bytes(1), bytes(1, 1)), put(bytes(2), bytes(2, 2))]);
        const fromGet = await store.get(bytes(1));
        fromGet?.fill(0xee);
        const [fromMany] = await store.getMany([bytes(1)]);
        expect(hexOf(fromMany)).toBe("0101");
        fromMany?.fill(0xdd);
        for await (const [key, value] of store.iterate()) {
          key.fill(0xcc);
          value.fill(0xcc);
        }
        const again = await store.get(bytes(1));
        expect(hexOf(again)).toBe("0101");
        expect(again).not.toBe(await store.get(bytes(1)));
        expect(await collect(store)).toEqual([
          ["01", "0101"],
          ["02", "0202"],
        ]);
      });
    });

    describe("iterate", () => {
      it("orders keys byte-wise, forwards and in reverse", async () => {
        const model = await storeTrickyKeys();
        const forward = await collect(store);
        expect(forward).toEqual(modelRange(model));
        expect(forward[0]?.[0]).toBe("");
        expect(forward.at(-1)?.[0]).toBe("ffffff");
        expect(await collect(store, { reverse: true })).toEqual(forward.slice().reverse());
      });

      it("honours every combination of gt, gte, lt, lte, reverse and limit", async () => {
        const model = await storeTrickyKeys();
        const mismatches: string[] = [];
        for (const gt of BOUNDS) {
          for (const gte of BOUNDS) {
            for (const lt of BOUNDS) {
              for (const lte of BOUNDS) {
                for (const reverse of [false, true]) {
                  for (const limit of [undefined, 0, 2]) {
                    const range: KvRange = {
                      ...(gt && { gt }),
                      ...(gte && { gte }),
                      ...(lt && { lt }),
                      ...(lte && { lte }),
                      ...(limit !== undefined && { limit }),
                      reverse,
                    };
                    const want = modelRange(model, range);
                    const got = await collect(store, range);
                    if (JSON.stringify(got) !== JSON.stringify(want)) {
                      const shown = Object.entries(range).map(
                        ([k, v]) => `${k}=${v instanceof Uint8Array ? toHex(v) : v}`,
                      );
                      mismatches.push(
                        `{${shown.join(", ")}}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`,
                      );
                    }
                  }
                }
              }
            }
          }
        }
        expect(mismatches.slice(0, 5)).toEqual([]);
        expect(harness.activeIterations()).toBe(0);
      });

      it("returns the last entries, descending, for reverse with a limit", async () => {
        await storeTrickyKeys();
        expect((await collect(store, { reverse: true, limit: 3 })).map(([k]) => k)).toEqual([
          "ffffff",
          "ffff",
          "ff00",
        ]);
        expect(
          (
            await collect(store, { reverse: true, limit: 2, gte: bytes(0x01), lt: bytes(0xff) })
          ).map(([k]) => k),
        ).toEqual(["feff", "8000"]);
      });

      it("treats limit 0 as nothing and Infinity or a large limit as everything", async () => {
        const model = await storeTrickyKeys();
        expect(await collect(store, { limit: 0 })).toEqual([]);
        expect(await collect(store, { limit: Infinity })).toEqual(modelRange(model));
        expect(await collect(store, { limit: 2 ** 40 })).toEqual(modelRange(model));
      });

      it("applies both bounds when gt and gte (or lt and lte) are both given", async () => {
        await storeTrickyKeys();
        const keys = async (range: KvRange) => (await collect(store, range)).map(([k]) => k);
        expect(
          await keys({ gt: bytes(0xff), gte: bytes(0x01), lt: bytes(0xff, 0xff, 0xff) }),
        ).toEqual(["ff00", "ffff"]);
        expect(await keys({ gte: bytes(0xff), gt: bytes(0x01), lte: bytes(0xff, 0x00) })).toEqual([
          "ff",
          "ff00",
        ]);
        expect(await keys({ lt: bytes(0x01), lte: bytes(0xff), gt: bytes() })).toEqual([
          "00",
          "0000",
          "00ff",
        ]);
        expect(await keys({ lte: bytes(0x01), lt: bytes(0xff), gte: bytes(0x00, 0xff) })).toEqual([
          "00ff",
          "01",
        ]);
        expect(await keys({ gt: bytes(0x01), gte: bytes(0x01), lte: bytes(0x01, 0x00) })).toEqual([
          "0100",
        ]);
      });

      it("yields nothing when the lower bound is above the upper bound", async () => {
        await storeTrickyKeys();
        expect(await collect(store, { gte: bytes(0x80), lte: bytes(0x01) })).toEqual([]);
        expect(await collect(store, { gt: bytes(0x01), lt: bytes(0x01) })).toEqual([]);
        expect(await collect(store, { gte: bytes(0x80), lte: bytes(0x01), reverse: true })).toEqual(
          [],
        );
        expect(await collect(store, { lt: bytes() })).toEqual([]);
      });

      it("rejects malformed ranges with STORE_INVALID_ARGUMENT", async () => {
        for (const range of [
          { limit: -1 },
          { limit: 1.5 },
          { limit: Number.NaN },
          { gt: "a" },
          { reverse: 1 },
          5,
        ]) {
          await expectCode(collect(store, range as KvRange), "STORE_INVALID_ARGUMENT");
        }
        expect(harness.activeIterations()).toBe(0);
      });

      it("releases its iterator when the consumer stops early", async () => {
        await storeTrickyKeys();
        for await (const _ of store.iterate()) break;
        expect(harness.activeIterations()).toBe(0);

        const firstKey = async (): Promise<string | undefined> => {
          for await (const [key] of store.iterate({ reverse: true })) return toHex(key);
          return undefined;
        };
        expect(await firstKey()).toBe("ffffff");
        expect(harness.activeIterations()).toBe(0);

        const thrown = await rejectionOf(
          (async () => {
            for await (const _ of store.iterate()) throw new Error("consumer failed");
          })(),
        );
        expect((thrown as Error).message).toBe("consumer failed");
        expect(harness.activeIterations()).toBe(0);

        const iterator = store.iterate()[Symbol.asyncIterator]();
        await iterator.next();
        await iterator.next();
        expect(harness.activeIterations()).toBe(1);
        await iterator.return?.();
        expect(harness.activeIterations()).toBe(0);
        expect((await iterator.next()).done).toBe(true);
      });

      it("reads a snapshot: writes after the first entry are not seen by that iteration", async () => {
        await store.write([
          put(bytes(1), bytes(1)),
          put(bytes(3), bytes(3)),
          put(bytes(5), bytes(5)),
        ]);
        const iterator = store.iterate()[Symbol.asyncIterator]();
        expect((await iterator.next()).value?.map(toHex)).toEqual(["01", "01"]);
        const many: KvOperation[] = [];
        for (let i = 0; i < 200; i++) many.push(put(bytes(4, i), bytes(i)));
        await store.write([
          put(bytes(2), bytes(2)),
          put(bytes(3), bytes(33)),
          del(bytes(5)),
          put(bytes(6), bytes(6)),
        ]);
        await store.write(many);
        const rest: string[][] = [];
        for (let r = await iterator.next(); r.done !== true; r = await iterator.next())
          rest.push(r.value.map(toHex));
        expect(rest).toEqual([
          ["03", "03"],
          ["05", "05"],
        ]);
        expect((await collect(store, { lt: bytes(4) })).map(([k]) => k)).toEqual([
          "01",
          "02",
          "03",
        ]);
        expect((await collect(store)).length).toBe(4 + 200);
      });

      it("runs interleaved iterations independently", async () => {
        const model = await storeTrickyKeys();
        const a = store.iterate()[Symbol.asyncIterator]();
        const b = store.iterate({ reverse: true })[Symbol.asyncIterator]();
        const gotA: string[] = [];
        const gotB: string[] = [];
        for (;;) {
          const [ra, rb] = await Promise.all([a.next(), b.next()]);
          if (ra.done === true || rb.done === true) {
            expect(ra.done).toBe(rb.done);
            break;
          }
          gotA.push(toHex(ra.value[0]));
          gotB.push(toHex(rb.value[0]));
        }
        const keys = [...model.keys()].sort();
        expect(gotA).toEqual(keys);
        expect(gotB).toEqual(keys.slice().reverse());
        expect(harness.activeIterations()).toBe(0);
      });
    });

    describe("lifecycle", () => {
      it("opens and closes idempotently, also concurrently, and keeps data across a reopen", async () => {
        await Promise.all([store.open(), store.open()]);
        await store.write([put(bytes(1), bytes(1))]);
        await Promise.all([store.close(), store.close()]);
        await store.close();
        await store.open();
        await store.open();
        expect(hexOf(await store.get(bytes(1)))).toBe("01");
      });

      it("fails every operation with STORE_NOT_OPEN after close", async () => {
        await store.write([put(bytes(1), bytes(1))]);
        await store.close();
        await expectCode(store.get(bytes(1)), "STORE_NOT_OPEN");
        await expectCode(store.getMany([bytes(1)]), "STORE_NOT_OPEN");
        await expectCode(store.write([put(bytes(2), bytes(2))]), "STORE_NOT_OPEN");
        await expectCode(store.write([]), "STORE_NOT_OPEN");
        await expectCode(collect(store), "STORE_NOT_OPEN");
        expect(harness.activeIterations()).toBe(0);
      });

      it("fails an iteration interrupted by close with STORE_NOT_OPEN, even after a reopen", async () => {
        await storeTrickyKeys();
        const iterator = store.iterate()[Symbol.asyncIterator]();
        await iterator.next();
        await store.close();
        await store.open();
        await expectCode(iterator.next(), "STORE_NOT_OPEN");
        expect(harness.activeIterations()).toBe(0);
        expect((await collect(store)).length).toBe(TRICKY_KEYS.length);
      });

      it("lets writes already issued land before close completes", async () => {
        const pending = [
          store.write([put(bytes(1), bytes(1))]),
          store.write([put(bytes(2), bytes(2))], { sync: true }),
        ];
        await store.close();
        await Promise.all(pending);
        await store.open();
        expect((await collect(store)).length).toBe(2);
      });

      it("rejects keys that are not bytes with STORE_INVALID_ARGUMENT", async () => {
        await expectCode(store.get("k" as unknown as Uint8Array), "STORE_INVALID_ARGUMENT");
        await expectCode(store.get(undefined as unknown as Uint8Array), "STORE_INVALID_ARGUMENT");
        await expectCode(
          store.getMany([bytes(1), [1] as unknown as Uint8Array]),
          "STORE_INVALID_ARGUMENT",
        );
        await expectCode(store.getMany("ab" as unknown as Uint8Array[]), "STORE_INVALID_ARGUMENT");
        await expectCode(store.write("ops" as unknown as KvOperation[]), "STORE_INVALID_ARGUMENT");
        await expectCode(store.write([null as unknown as KvOperation]), "STORE_INVALID_ARGUMENT");
      });
    });

    describe("matches a sorted-map model (fast-check)", () => {
      // A small alphabet with the edge bytes makes keys collide, nest as prefixes, and sit on bounds.
      const keyArb = fc
        .array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff), { maxLength: 3 })
        .map((values) => Uint8Array.from(values));
      const valueArb = fc.uint8Array({ maxLength: 6 });
      const opArb: fc.Arbitrary<KvOperation> = fc.oneof(
        fc.record({ type: fc.constant("put" as const), key: keyArb, value: valueArb }),
        fc.record({ type: fc.constant("del" as const), key: keyArb }),
      );
      const rangeArb: fc.Arbitrary<KvRange> = fc.record(
        {
          gt: keyArb,
          gte: keyArb,
          lt: keyArb,
          lte: keyArb,
          reverse: fc.boolean(),
          limit: fc.nat({ max: 6 }),
        },
        { requiredKeys: [] },
      );
      type Action =
        | { readonly kind: "write"; readonly ops: KvOperation[]; readonly sync: boolean }
        | { readonly kind: "get"; readonly key: Uint8Array }
        | { readonly kind: "getMany"; readonly keys: Uint8Array[] }
        | { readonly kind: "iterate"; readonly range: KvRange; readonly stopAfter: number }
        | { readonly kind: "reopen" };
      const actionArb = (maxOps: number): fc.Arbitrary<Action> =>
        fc.oneof(
          {
            weight: 4,
            arbitrary: fc.record({
              kind: fc.constant("write" as const),
              ops: fc.array(opArb, { maxLength: maxOps }),
              sync: fc.boolean(),
            }),
          },
          { weight: 2, arbitrary: fc.record({ kind: fc.constant("get" as const), key: keyArb }) },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant("getMany" as const),
              keys: fc.array(keyArb, { maxLength: 5 }),
            }),
          },
          {
            weight: 3,
            arbitrary: fc.record({
              kind: fc.constant("iterate" as const),
              range: rangeArb,
              stopAfter: fc.nat({ max: 8 }),
            }),
          },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const) }) },
        );

      /** Empties the store so each run starts from the empty model. */
      async function clear(): Promise<void> {
        const ops: KvOperation[] = [];
        for await (const [key] of store.iterate()) ops.push(del(key));
        await store.write(ops);
      }

      async function run(actions: readonly Action[]): Promise<void> {
        await clear();
        const model = new Map<string, string>();
        for (const action of actions) {
          switch (action.kind) {
            case "write":
              await store.write(action.ops, { sync: action.sync });
              for (const op of action.ops) {
                if (op.type === "put") model.set(toHex(op.key), toHex(op.value));
                else model.delete(toHex(op.key));
              }
              break;
            case "get":
              expect(hexOf(await store.get(action.key))).toBe(model.get(toHex(action.key)));
              break;
            case "getMany":
              expect((await store.getMany(action.keys)).map(hexOf)).toEqual(
                action.keys.map((key) => model.get(toHex(key))),
              );
              break;
            case "iterate": {
              const want = modelRange(model, action.range).slice(0, action.stopAfter);
              const got: Pair[] = [];
              if (action.stopAfter > 0) {
                for await (const [key, value] of store.iterate(action.range)) {
                  got.push([toHex(key), toHex(value)]);
                  if (got.length >= action.stopAfter) break;
                }
              }
              expect(got).toEqual(want);
              expect(harness.activeIterations()).toBe(0);
              break;
            }
            case "reopen":
              await store.close();
              await store.open();
              break;
          }
        }
        expect(await collect(store)).toEqual(modelRange(model));
      }

      it("small batches", async () => {
        await fc.assert(fc.asyncProperty(fc.array(actionArb(8), { maxLength: 25 }), run), {
          numRuns: propertyRuns,
        });
      });

      it("large batches", async () => {
        await fc.assert(fc.asyncProperty(fc.array(actionArb(150), { maxLength: 8 }), run), {
          numRuns: Math.max(10, Math.floor(propertyRuns / 4)),
        });
      });
    });
  });
}
