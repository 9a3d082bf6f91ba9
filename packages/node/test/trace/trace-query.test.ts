/**
 * Trace queries over state written by the real family: upstream chains, downstream trees, the
 * stage details (time, organisation, location, transaction, height), paging with cursors,
 * proofs that verify against the state root, cycles and diamonds in hand-made state, the text
 * rendering, and the demo scenario end to end.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  encodeTraceRecord,
  type LotLink,
  type LotRecord,
  lotKey,
  traceLotAddress,
} from "../../src/families/index.js";
import { type Gtin14, parseGtin } from "../../src/gs1/index.js";
import { verifyStateProof } from "../../src/state/index.js";
import {
  buildTraceDemo,
  listLots,
  mergeTracePages,
  renderTraceTree,
  TraceQueryError,
  type TraceResult,
  traceLot,
} from "../../src/trace/index.js";
import { newSigner } from "../support/fixtures.js";
import {
  createLot,
  createProduct,
  createTraceChain,
  ORGS,
  ship,
  suite,
  type TraceChain,
} from "./support.js";

function codeOf(err: unknown): string | undefined {
  return err instanceof TraceQueryError ? err.code : undefined;
}

describe("trace queries", () => {
  let chain: TraceChain;
  let wheat: Gtin14;
  let flour: Gtin14;

  beforeAll(async () => {
    chain = await createTraceChain();
    wheat = parseGtin(await createProduct(chain, "farm", "00010", "grain", "Wheat"));
    flour = parseGtin(await createProduct(chain, "mill", "00020", "flour", "Flour"));
    await createLot(chain, "farm", wheat, "W1", 600);
    await createLot(chain, "farm", wheat, "W2", 400);
    await ship(chain, "farm", "mill", wheat, "W1");
    await ship(chain, "farm", "mill", wheat, "W2");
    await chain.ok(chain.keys.operators.mill, [
      {
        action: "transform",
        inputs: [
          { gtin: wheat, lot: "W1", quantity: 600 },
          { gtin: wheat, lot: "W2", quantity: 400 },
        ],
        outputs: [{ gtin: flour, lot: "F1", quantity: 800, unit: "kg" }],
        location: ORGS.mill.gln,
      },
    ]);
    await ship(chain, "mill", "distributor", flour, "F1");
    await chain.ok(chain.keys.operators.distributor, [
      {
        action: "split",
        gtin: flour,
        lot: "F1",
        parts: [
          { lot: "F1-E", quantity: 500 },
          { lot: "F1-W", quantity: 300 },
        ],
      },
    ]);
    await ship(chain, "distributor", "east", flour, "F1-E");
    await ship(chain, "distributor", "west", flour, "F1-W");
    await chain.ok(chain.keys.operators.east, [
      { action: "sell", gtin: flour, lot: "F1-E", quantity: 20 },
    ]);
  });

  it("traces upstream from a retail lot to every origin, with each stage's details", async () => {
    const trace = await traceLot(chain.state, chain.root, flour, "F1-E", { direction: "up" });
    expect(trace.nodes.map((n) => [n.relation, n.lot, n.depth])).toEqual([
      ["origin", "F1-E", 0],
      ["upstream", "F1", 1],
      ["upstream", "W1", 2],
      ["upstream", "W2", 2],
    ]);
    expect(trace.page).toMatchObject({ complete: true, count: 4, offset: 0 });
    const w1 = trace.nodes[2];
    expect(w1?.product).toEqual({ name: "Wheat", productType: "grain", organisationId: "farm" });
    expect(w1?.steps.map((s) => s.action)).toEqual([
      "create_lot",
      "offer",
      "accept_offer",
      "transform",
    ]);
    const created = w1?.steps[0];
    expect(created).toMatchObject({
      organisationId: "farm",
      location: ORGS.farm.gln,
      ownerOrg: "farm",
      quantity: 600,
      amount: 600,
    });
    expect(created?.transactionId).toMatch(/^[0-9a-f]{128}$/);
    expect(created?.blockHeight).toBeGreaterThan(0);
    expect(created?.time).toBe(new Date(created?.at ?? 0).toISOString());
    expect(w1?.steps[2]).toMatchObject({ organisationId: "mill", location: ORGS.mill.gln });
    expect(trace.locations[ORGS.farm.gln]).toEqual({
      name: "farm site",
      kind: "warehouse",
      organisationId: "farm",
    });
    expect(trace.edges).toContainEqual({
      from: lotKey(wheat, "W1"),
      to: lotKey(flour, "F1"),
      quantity: 600,
    });
  });

  it("traces downstream from an origin to every destination as a tree", async () => {
    const trace = await traceLot(chain.state, chain.root, wheat, "W2", { direction: "down" });
    expect(trace.nodes.map((n) => [n.lot, n.depth, n.via])).toEqual([
      ["W2", 0, undefined],
      ["F1", 1, lotKey(wheat, "W2")],
      ["F1-E", 2, lotKey(flour, "F1")],
      ["F1-W", 2, lotKey(flour, "F1")],
    ]);
    const east = trace.nodes[2];
    expect(east).toMatchObject({ status: "active", quantity: 480, ownerOrg: "east" });
    expect(east?.steps.at(-1)).toMatchObject({
      action: "sell",
      amount: 20,
      location: ORGS.east.gln,
    });
    expect(east?.gs1).toMatchObject({
      owner: ORGS.east.prefix,
      pre_location: ORGS.distributor.gln,
    });
  });

  it("joins the upstream chain and the downstream tree, and renders them", async () => {
    const trace = await traceLot(chain.state, chain.root, flour, "F1");
    expect(trace.nodes.map((n) => `${n.relation}:${n.lot}`)).toEqual([
      "origin:F1",
      "upstream:W1",
      "upstream:W2",
      "downstream:F1-E",
      "downstream:F1-W",
    ]);
    const text = renderTraceTree(trace);
    expect(text).toContain(`Trace of (01)${flour}(10)F1`);
    expect(text).toMatch(
      /Upstream \(towards the origin\)\n {2}├─ \(01\)\d{14}\(10\)W1 {2}Wheat \(grain\)/,
    );
    expect(text).toMatch(/Downstream \(to every destination\)\n {2}├─ \(01\)\d{14}\(10\)F1-E/);
    expect(text).toContain("└─ ");
    expect(text).toContain("create_lot 600");
    expect(text).toContain("End of trace.");
    const ascii = renderTraceTree(trace, { ascii: true, steps: "none" });
    expect(ascii).toContain("`- ");
    expect(ascii).not.toContain("create_lot");
  });

  it("pages with cursors, each page at the same state root", async () => {
    const pages: TraceResult[] = [];
    let cursor: string | undefined;
    do {
      const page = await traceLot(chain.state, chain.root, flour, "F1", {
        maxNodes: 2,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      pages.push(page);
      cursor = page.page.next;
    } while (cursor !== undefined);
    expect(pages.map((p) => p.nodes.length)).toEqual([2, 2, 1]);
    const merged = mergeTracePages(pages);
    const whole = await traceLot(chain.state, chain.root, flour, "F1");
    expect(merged.nodes).toEqual(whole.nodes);
    expect(renderTraceTree(merged)).toBe(renderTraceTree(whole));

    const first = pages[0]?.page.next as string;
    await expect(
      traceLot(chain.state, chain.root, flour, "F1-E", { cursor: first }),
    ).rejects.toSatisfy((e) => codeOf(e) === "INVALID_CURSOR");
    await expect(
      traceLot(chain.state, chain.root, flour, "F1", { cursor: first, direction: "up" }),
    ).rejects.toSatisfy((e) => codeOf(e) === "INVALID_CURSOR");
    await expect(
      traceLot(chain.state, chain.root, flour, "F1", { cursor: "not-a-cursor" }),
    ).rejects.toSatisfy((e) => codeOf(e) === "INVALID_CURSOR");
    await expect(traceLot(chain.state, chain.root, flour, "F1", { maxNodes: 0 })).rejects.toSatisfy(
      (e) => codeOf(e) === "INVALID_TRACE_OPTIONS",
    );
  });

  it("limits the stages per lot, newest kept", async () => {
    const trace = await traceLot(chain.state, chain.root, wheat, "W1", {
      direction: "down",
      maxNodes: 1,
      maxSteps: 2,
    });
    const origin = trace.nodes[0];
    expect(origin?.steps.map((s) => s.action)).toEqual(["accept_offer", "transform"]);
    expect(origin?.steps.map((s) => s.page)).toEqual([3, 0]);
    expect(origin?.stepsOmitted).toBe(2);
  });

  it("attaches proofs that verify against the state root", async () => {
    const trace = await traceLot(chain.state, chain.root, flour, "F1-W", {
      direction: "up",
      proofs: true,
    });
    let checked = 0;
    for (const node of trace.nodes)
      for (const step of node.steps) {
        expect(step.proof).toBeDefined();
        if (!step.proof) continue;
        const result = verifyStateProof(step.proof, {
          root: chain.root,
          address: step.address,
          hash: suite.hashName,
        });
        expect(result.included).toBe(true);
        checked++;
      }
    expect(checked).toBeGreaterThan(8);
    await expect(
      traceLot(chain.state, chain.root, flour, "F1-W", { proofs: true, maxNodes: 101 }),
    ).rejects.toSatisfy((e) => codeOf(e) === "INVALID_TRACE_OPTIONS");
  });

  it("says whether the product or the lot is unknown", async () => {
    await expect(traceLot(chain.state, chain.root, flour, "NOPE")).rejects.toSatisfy(
      (e) => codeOf(e) === "UNKNOWN_LOT",
    );
    await expect(
      traceLot(chain.state, chain.root, parseGtin("9520123456788"), "X"),
    ).rejects.toSatisfy((e) => codeOf(e) === "UNKNOWN_PRODUCT");
  });

  it("lists the lots of a product, page by page", async () => {
    const all = await listLots(chain.state, chain.root, flour);
    expect(all.lots.map((l) => l.lot).sort()).toEqual(["F1", "F1-E", "F1-W"]);
    const first = await listLots(chain.state, chain.root, flour, { limit: 2 });
    expect(first.lots).toHaveLength(2);
    expect(first.next).toBeDefined();
    const rest = await listLots(chain.state, chain.root, flour, {
      limit: 2,
      ...(first.next !== undefined ? { start: first.next } : {}),
    });
    expect([...first.lots, ...rest.lots].map((l) => l.lot)).toEqual(all.lots.map((l) => l.lot));
    expect(rest.next).toBeUndefined();
  });
});

describe("trace over hand-made state", () => {
  const gtin = parseGtin("9520123456788");

  function lotRecord(lot: string, pre: string[], dir: string[]): LotRecord {
    const link = (l: string): LotLink => ({ gtin, lot: l, quantity: 1 });
    return {
      gtin,
      lot,
      productType: "grain",
      status: "active",
      quantity: 1,
      unit: "kg",
      initialQuantity: 1,
      soldQuantity: 0,
      ownerOrg: "farm",
      custodianOrg: "farm",
      owner: "9520123",
      product_id: gtin,
      pre_product_id: pre.map(link),
      dir_product_id: dir.map(link),
      location: null,
      pre_location: null,
      dir_location: null,
      attributes: {},
      certificates: [],
      createdAt: 0,
      seq: 0,
      step: {
        action: "create_lot",
        organisationId: "farm",
        by: "00",
        at: 0,
        txId: "0".repeat(128),
        height: 1,
      },
    };
  }

  it("terminates on cycles and shows diamond lots once", async () => {
    const chain = await createTraceChain({ setup: false });
    // A → B → C → A (a cycle), and A → D → C (a diamond onto C).
    const records = [
      lotRecord("A", ["C"], ["B", "D"]),
      lotRecord("B", ["A"], ["C"]),
      lotRecord("C", ["B", "D"], ["A"]),
      lotRecord("D", ["A"], ["C"]),
    ];
    const update = await chain.state.update(
      chain.root,
      records.map((r) => [traceLotAddress(gtin, r.lot), encodeTraceRecord(r)] as const),
    );
    const trace = await traceLot(chain.state, update.root, gtin, "A");
    expect(trace.nodes.map((n) => `${n.relation}:${n.lot}`)).toEqual([
      "origin:A",
      "upstream:C",
      "upstream:B",
      "upstream:D",
      "downstream:B",
      "downstream:C",
      "downstream:D",
    ]);
    expect(trace.page.complete).toBe(true);
    // A link to a lot with no record is reported, not followed.
    const broken = await chain.state.update(update.root, [
      [traceLotAddress(gtin, "E"), encodeTraceRecord(lotRecord("E", [], ["ghost"]))],
    ]);
    const withGhost = await traceLot(chain.state, broken.root, gtin, "E", { direction: "down" });
    expect(withGhost.nodes[1]).toMatchObject({ lot: "ghost", missing: true, steps: [] });
    chain.state.release(broken);
    chain.state.release(update);
  });
});

describe("demo scenario", () => {
  it("builds batches that commit in order and trace from a retail lot back to the farm", async () => {
    const chain = await createTraceChain({ setup: false });
    const signers = {
      systemAdmin: chain.keys.sysadmin,
      farm: newSigner(),
      mill: newSigner(),
      distributor: newSigner(),
      retailerEast: newSigner(),
      retailerWest: newSigner(),
    };
    const demo = buildTraceDemo(signers, { suite });
    expect(demo.batches).toHaveLength(11);
    expect(await chain.state.get(chain.root, demo.markerAddress)).toBeUndefined();
    const result = await chain.submitBatches(demo.batches);
    expect(result.messages).toEqual([]);
    expect(result.statuses.every((s) => s === "valid")).toBe(true);
    expect(await chain.state.get(chain.root, demo.markerAddress)).toBeDefined();

    const trace = await traceLot(
      chain.state,
      chain.root,
      demo.lots.flourWest.gtin,
      demo.lots.flourWest.lot,
    );
    expect(trace.nodes.map((n) => `${n.relation}:${n.lot}`)).toEqual([
      "origin:FLOUR-24-001-W",
      "upstream:FLOUR-24-001",
      "upstream:WHEAT-2024-07",
    ]);
    const wheat = trace.nodes[2];
    expect(wheat?.steps.filter((s) => s.action === "update_lot").length).toBeGreaterThan(10);
    expect(wheat?.steps.length).toBeGreaterThan(14);
    const down = await traceLot(
      chain.state,
      chain.root,
      demo.lots.wheat.gtin,
      demo.lots.wheat.lot,
      {
        direction: "down",
      },
    );
    expect(down.nodes.map((n) => n.lot)).toEqual([
      "WHEAT-2024-07",
      "FLOUR-24-001",
      "FLOUR-24-001-E",
      "FLOUR-24-001-W",
    ]);
    expect(down.nodes[3]).toMatchObject({ ownerOrg: "demo-retail-west", quantity: 320 });
    expect(demo.lots.flourEast.digitalLink).toBe(
      `https://id.govchain.example/01/${demo.lots.flourEast.gtin}/10/FLOUR-24-001-E`,
    );
    expect(renderTraceTree(trace)).toContain("Green Valley Farm");
    expect(renderTraceTree(trace, { steps: "last" })).toContain("15 earlier stage(s) not shown");
  });
});
