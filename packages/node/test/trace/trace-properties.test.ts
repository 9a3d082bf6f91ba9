/**
 * Properties of the `APSChain` family through the real executor: splits and merges conserve
 * quantities exactly (and a split that does not is refused), and the history ring buffer keeps
 * the newest versions in order across wrap-around (small rings; production uses 0xffff pages).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  decodeLotRecord,
  historyPageFor,
  historyPagesNewestFirst,
  TRACE_HISTORY_PAGES,
  traceLotAddress,
} from "../../src/families/index.js";
import { parseGtin } from "../../src/gs1/index.js";
import { traceLot } from "../../src/trace/index.js";
import { createLot, createProduct, createTraceChain, type TraceChain } from "./support.js";

describe("history ring arithmetic", () => {
  it("writes pages 1…ring in turn and wraps onto the oldest", () => {
    expect(historyPageFor(0)).toBe(1);
    expect(historyPageFor(TRACE_HISTORY_PAGES - 1)).toBe(0xffff);
    expect(historyPageFor(TRACE_HISTORY_PAGES)).toBe(1);
    expect(historyPagesNewestFirst(5, 10, 3)).toEqual([2, 1, 3]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 50 }),
        (seq, ring) => {
          const pages = historyPagesNewestFirst(seq, ring, ring);
          expect(pages.length).toBe(Math.min(seq, ring));
          expect(new Set(pages).size).toBe(pages.length);
          for (const page of pages) expect(page >= 1 && page <= ring).toBe(true);
        },
      ),
    );
  });
});

describe("conservation", () => {
  let chain: TraceChain;
  let gtin: string;
  let counter = 0;
  const fresh = (): string => `P${++counter}`;

  beforeAll(async () => {
    chain = await createTraceChain();
    gtin = await createProduct(chain, "farm", "00500", "grain");
  });

  it("accepts a split exactly when its parts add up to the lot, and conserves it", async () => {
    const partsArb = fc.oneof(
      // Parts that sum to the lot (a random partition)…
      fc
        .array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 6 })
        .map((parts) => ({ parts, total: parts.reduce((a, b) => a + b, 0) })),
      // …or parts and a lot quantity drawn independently (mostly unequal).
      fc.record({
        parts: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 6 }),
        total: fc.integer({ min: 2, max: 6000 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(partsArb, async ({ parts, total }) => {
        const lot = fresh();
        await createLot(chain, "farm", gtin, lot, total);
        const names = parts.map(() => fresh());
        const result = await chain.submit(chain.keys.operators.farm, [
          {
            action: "split",
            gtin,
            lot,
            parts: parts.map((quantity, i) => ({ lot: names[i] as string, quantity })),
          },
        ]);
        const sum = parts.reduce((a, b) => a + b, 0);
        expect(result.valid).toBe(sum === total);
        if (!result.valid) {
          expect(result.message).toMatch(/a split must conserve the quantity/);
          return;
        }
        let children = 0;
        for (const name of names) {
          const bytes = await chain.state.get(chain.root, traceLotAddress(parseGtin(gtin), name));
          children += decodeLotRecord(bytes as Uint8Array).quantity;
        }
        const parent = decodeLotRecord(
          (await chain.state.get(chain.root, traceLotAddress(parseGtin(gtin), lot))) as Uint8Array,
        );
        expect(children).toBe(total);
        expect(parent.quantity).toBe(0);
        expect(parent.dir_product_id.reduce((a, l) => a + l.quantity, 0)).toBe(total);
      }),
      { numRuns: 40 },
    );
  });

  it("merges lots into one holding exactly their sum", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 2, maxLength: 5 }),
        async (quantities) => {
          const lots = quantities.map(() => fresh());
          for (const [i, lot] of lots.entries())
            await createLot(chain, "farm", gtin, lot, quantities[i] as number);
          const into = fresh();
          await chain.ok(chain.keys.operators.farm, [{ action: "merge", gtin, lots, into }]);
          const merged = decodeLotRecord(
            (await chain.state.get(
              chain.root,
              traceLotAddress(parseGtin(gtin), into),
            )) as Uint8Array,
          );
          expect(merged.quantity).toBe(quantities.reduce((a, b) => a + b, 0));
          expect(merged.pre_product_id.map((l) => l.quantity)).toEqual(quantities);
          for (const lot of lots) {
            const input = decodeLotRecord(
              (await chain.state.get(
                chain.root,
                traceLotAddress(parseGtin(gtin), lot),
              )) as Uint8Array,
            );
            expect(input).toMatchObject({ status: "merged", quantity: 0 });
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe("history ring buffer", () => {
  const chains = new Map<number, { chain: TraceChain; gtin: string }>();
  let counter = 0;

  async function chainWithRing(ring: number): Promise<{ chain: TraceChain; gtin: string }> {
    let entry = chains.get(ring);
    if (!entry) {
      const chain = await createTraceChain({ historyPages: ring });
      entry = { chain, gtin: await createProduct(chain, "farm", "00600", "grain") };
      chains.set(ring, entry);
    }
    return entry;
  }

  it("keeps the newest versions in order and overwrites the oldest on wrap-around", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 14 }),
        async (ring, updates) => {
          const { chain, gtin } = await chainWithRing(ring);
          const lot = `R${++counter}`;
          await createLot(chain, "farm", gtin, lot, 10);
          for (let i = 1; i <= updates; i++)
            await chain.ok(chain.keys.operators.farm, [
              { action: "update_lot", gtin, lot, attributes: { reading: i } },
            ]);
          const g = parseGtin(gtin);
          const read = async (page: number) => {
            const bytes = await chain.state.get(chain.root, traceLotAddress(g, lot, page));
            return bytes ? decodeLotRecord(bytes) : undefined;
          };
          const current = await read(0);
          expect(current?.seq).toBe(updates);
          // Version k has seq k and reading k (version 0 has no reading).
          for (let back = 1; back <= Math.min(updates, ring); back++) {
            const version = await read(historyPageFor(updates - back, ring));
            expect(version?.seq).toBe(updates - back);
            expect(version?.attributes.reading).toBe(
              updates - back === 0 ? undefined : updates - back,
            );
          }
          // No page beyond the ring is ever written.
          expect(await read(ring + 1)).toBeUndefined();
          // The trace shows the kept versions, oldest first, and counts the overwritten ones.
          const trace = await traceLot(chain.state, chain.root, g, lot, {
            direction: "down",
            historyPages: ring,
          });
          const origin = trace.nodes[0];
          const kept = Math.min(updates, ring) + 1;
          expect(origin?.steps.length).toBe(kept);
          expect(origin?.stepsLost).toBe(Math.max(0, updates - ring));
          expect(origin?.steps.map((s) => s.page).at(-1)).toBe(0);
          const times = origin?.steps.map((s) => s.blockHeight) ?? [];
          expect([...times].sort((a, b) => a - b)).toEqual(times);
        },
      ),
      { numRuns: 25 },
    );
  });
});
