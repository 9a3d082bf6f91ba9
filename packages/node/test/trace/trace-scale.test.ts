/**
 * A generated graph of 10,101 lots written by the real family (one lot split into 100, each of
 * those into 100) traced page by page: every lot is reached exactly once, pages respect
 * `maxNodes`, and the heap held while paging stays bounded by the page, not the graph. Times
 * and heap figures are printed for the record, never asserted (benchmarks are not tests).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import { type Gtin14, parseGtin } from "../../src/gs1/index.js";
import { type TraceResult, traceLot } from "../../src/trace/index.js";
import { createLot, createProduct, createTraceChain, type TraceChain } from "./support.js";

const FAN_OUT = 100;

/** A full collection, so heap figures measure what is live, not what awaits collection. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  const gc: unknown = runInNewContext("gc");
  if (typeof gc === "function") gc();
}

function heapMiB(): number {
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe("tracing 10,000+ lots", () => {
  let chain: TraceChain;
  let gtin: Gtin14;

  beforeAll(async () => {
    const started = performance.now();
    chain = await createTraceChain();
    gtin = parseGtin(await createProduct(chain, "farm", "00900", "grain"));
    await createLot(chain, "farm", gtin, "ROOT", FAN_OUT * FAN_OUT * 10);
    const parts = (prefix: string, quantity: number) =>
      Array.from({ length: FAN_OUT }, (_, i) => ({
        lot: `${prefix}${String(i).padStart(2, "0")}`,
        quantity,
      }));
    await chain.ok(chain.keys.operators.farm, [
      { action: "split", gtin, lot: "ROOT", parts: parts("A", FAN_OUT * 10) },
    ]);
    for (let i = 0; i < FAN_OUT; i++) {
      const lot = `A${String(i).padStart(2, "0")}`;
      await chain.ok(chain.keys.operators.farm, [
        { action: "split", gtin, lot, parts: parts(`${lot}-`, 10) },
      ]);
    }
    console.info(
      `trace scale: wrote ${1 + FAN_OUT + FAN_OUT * FAN_OUT} lots in ${Math.round(performance.now() - started)} ms`,
    );
  }, 600_000);

  it("pages through every lot once with bounded memory", async () => {
    collectGarbage();
    const baseline = heapMiB();
    let peak = 0;
    const seen = new Set<string>();
    let pages = 0;
    let cursor: string | undefined;
    const started = performance.now();
    do {
      const page: TraceResult = await traceLot(chain.state, chain.root, gtin, "ROOT", {
        direction: "down",
        maxNodes: 1000,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      pages++;
      expect(page.nodes.length).toBeLessThanOrEqual(1000);
      for (const node of page.nodes) {
        expect(seen.has(node.key)).toBe(false);
        seen.add(node.key);
      }
      peak = Math.max(peak, heapMiB() - baseline);
      cursor = page.page.next;
      collectGarbage();
    } while (cursor !== undefined);
    const elapsed = performance.now() - started;
    expect(seen.size).toBe(1 + FAN_OUT + FAN_OUT * FAN_OUT);
    expect(pages).toBe(11);
    console.info(
      `trace scale: ${seen.size} lots in ${pages} pages of 1000 in ${Math.round(elapsed)} ms; heap growth while paging ≤ ${peak.toFixed(1)} MiB (seen-set of the test included)`,
    );
    // One page of 1,000 lots with their stages is a few MiB; the graph itself is never held.
    expect(peak).toBeLessThan(96);
  }, 600_000);

  it("returns one page of at most maxNodes even when the graph is larger", async () => {
    collectGarbage();
    const baseline = heapMiB();
    const started = performance.now();
    const page = await traceLot(chain.state, chain.root, gtin, "ROOT", {
      direction: "both",
      maxNodes: 10_000,
      maxSteps: 1,
    });
    const elapsed = performance.now() - started;
    const held = heapMiB() - baseline;
    expect(page.nodes).toHaveLength(10_000);
    expect(page.page.complete).toBe(false);
    expect(page.page.next).toBeDefined();
    console.info(
      `trace scale: one page of 10,000 lots (1 stage each) in ${Math.round(elapsed)} ms, ${held.toFixed(1)} MiB held by the result`,
    );
    const rest = await traceLot(chain.state, chain.root, gtin, "ROOT", {
      direction: "both",
      maxNodes: 10_000,
      maxSteps: 1,
      ...(page.page.next !== undefined ? { cursor: page.page.next } : {}),
    });
    expect(rest.nodes).toHaveLength(101);
    expect(rest.page.complete).toBe(true);
  }, 600_000);

  it("traces a leaf upstream to the root in three steps", async () => {
    const started = performance.now();
    const trace = await traceLot(chain.state, chain.root, gtin, "A42-17", { direction: "up" });
    expect(trace.nodes.map((n) => n.lot)).toEqual(["A42-17", "A42", "ROOT"]);
    console.info(`trace scale: leaf upstream in ${(performance.now() - started).toFixed(1)} ms`);
  });
});
