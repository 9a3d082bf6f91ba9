/**
 * The `APSChain` family through the real executor: the S4.5 addresses, the operations and the
 * seven S4.2 fields as goods move, events, history pages, and every refusal with its reason.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  decodeLotRecord,
  decodeProductRecord,
  decodeUserRecord,
  type LotRecord,
  TRACE_NAMESPACE,
  traceAddresses,
  traceLotAddress,
  traceOfferAddress,
  tracePrefixAddress,
  traceProductAddress,
  traceUserAddress,
} from "../../src/families/index.js";
import { parseGtin, withCheckDigit } from "../../src/gs1/index.js";
import {
  createLot,
  createProduct,
  createTraceChain,
  gtinOf,
  ORGS,
  ship,
  type TraceChain,
} from "./support.js";

const sha512 = (text: string): string => createHash("sha512").update(text).digest("hex");

async function lotAt(chain: TraceChain, gtin: string, lot: string, page = 0): Promise<LotRecord> {
  const bytes = await chain.state.get(chain.root, traceLotAddress(parseGtin(gtin), lot, page));
  if (!bytes) throw new Error(`no lot ${lot} page ${page}`);
  return decodeLotRecord(bytes);
}

describe("APSChain addressing (S4.5)", () => {
  it("uses the family namespace, user role codes and product pages", () => {
    expect(TRACE_NAMESPACE).toBe(sha512("APSChain").slice(0, 6));
    const key = "02".padEnd(66, "a");
    expect(traceUserAddress("system_admin", key)).toBe(
      `${TRACE_NAMESPACE}0011${sha512(key).slice(0, 60)}`,
    );
    expect(traceUserAddress("auditor", key).slice(8, 10)).toBe("14");
    const gtin = parseGtin("9520123456788");
    expect(traceProductAddress(gtin)).toBe(`${TRACE_NAMESPACE}03${sha512(gtin).slice(0, 58)}0000`);
    expect(traceProductAddress(gtin, 0xffff).endsWith("ffff")).toBe(true);
    for (const address of [
      traceProductAddress(gtin),
      traceLotAddress(gtin, "L1"),
      tracePrefixAddress("9520123"),
      traceOfferAddress("farm", gtin, "L1"),
    ])
      expect(address).toMatch(/^[0-9a-f]{70}$/);
    expect(traceLotAddress(gtin, "L1").slice(0, 36)).toBe(traceLotAddress(gtin, "L2").slice(0, 36));
  });
});

describe("APSChain operations", () => {
  let chain: TraceChain;
  let wheat: string;
  let flour: string;

  beforeAll(async () => {
    chain = await createTraceChain();
    wheat = await createProduct(chain, "farm", "00010", "grain", "Wheat");
    flour = await createProduct(chain, "mill", "00020", "flour", "Flour");
  });

  it("runs farm → mill → distributor (split) → two retailers, keeping the seven fields", async () => {
    const created = await chain.ok(chain.keys.operators.farm, [
      {
        action: "create_lot",
        gtin: wheat,
        lot: "W1",
        quantity: 1000,
        unit: "kg",
        location: ORGS.farm.gln,
        attributes: { harvestDate: "2024-07-15" },
        certificates: [{ scheme: "organic", id: "C-1" }],
      },
    ]);
    expect(created.events.map((e) => e.eventType)).toEqual(["APSChain/lot-created"]);
    let w1 = await lotAt(chain, wheat, "W1");
    expect(w1).toMatchObject({
      owner: ORGS.farm.prefix,
      product_id: parseGtin(wheat),
      pre_product_id: [],
      dir_product_id: [],
      location: ORGS.farm.gln,
      pre_location: null,
      dir_location: null,
      ownerOrg: "farm",
      custodianOrg: "farm",
      status: "active",
      seq: 0,
    });
    expect(w1.step).toMatchObject({
      action: "create_lot",
      organisationId: "farm",
      txId: created.transactions[0]?.id,
      height: created.height,
    });

    // The offer alone moves nothing: the lot waits for the mill.
    const offered = await chain.ok(chain.keys.operators.farm, [
      {
        action: "offer",
        gtin: wheat,
        lot: "W1",
        to: "mill",
        toLocation: ORGS.mill.gln,
        kind: "both",
      },
    ]);
    expect(offered.events[0]?.eventType).toBe("APSChain/offer-made");
    w1 = await lotAt(chain, wheat, "W1");
    expect(w1).toMatchObject({ ownerOrg: "farm", dir_location: ORGS.mill.gln, seq: 1 });
    expect(w1.offer?.to).toBe("mill");
    expect(
      await chain.state.get(chain.root, traceOfferAddress("mill", parseGtin(wheat), "W1")),
    ).toBeDefined();

    const accepted = await chain.ok(chain.keys.operators.mill, [
      { action: "accept_offer", gtin: wheat, lot: "W1", to: "mill", receive: true },
    ]);
    expect(accepted.events[0]?.eventType).toBe("APSChain/offer-accepted");
    w1 = await lotAt(chain, wheat, "W1");
    expect(w1).toMatchObject({
      owner: ORGS.mill.prefix,
      ownerOrg: "mill",
      custodianOrg: "mill",
      location: ORGS.mill.gln,
      pre_location: ORGS.farm.gln,
      dir_location: null,
      seq: 2,
    });
    expect(w1.offer).toBeUndefined();
    expect(
      await chain.state.get(chain.root, traceOfferAddress("mill", parseGtin(wheat), "W1")),
    ).toBeUndefined();
    // History pages hold the earlier versions.
    expect((await lotAt(chain, wheat, "W1", 1)).step.action).toBe("create_lot");
    expect((await lotAt(chain, wheat, "W1", 2)).step.action).toBe("offer");

    await chain.ok(chain.keys.operators.mill, [
      {
        action: "transform",
        inputs: [{ gtin: wheat, lot: "W1", quantity: 1000 }],
        outputs: [{ gtin: flour, lot: "F1", quantity: 750, unit: "kg" }],
        location: ORGS.mill.gln,
      },
    ]);
    w1 = await lotAt(chain, wheat, "W1");
    expect(w1).toMatchObject({
      status: "consumed",
      quantity: 0,
      dir_product_id: [{ gtin: parseGtin(flour), lot: "F1", quantity: 1000 }],
    });
    const f1 = await lotAt(chain, flour, "F1");
    expect(f1).toMatchObject({
      owner: ORGS.mill.prefix,
      product_id: parseGtin(flour),
      pre_product_id: [{ gtin: parseGtin(wheat), lot: "W1", quantity: 1000 }],
      location: ORGS.mill.gln,
      quantity: 750,
    });

    await ship(chain, "mill", "distributor", flour, "F1");
    const splitResult = await chain.ok(chain.keys.operators.distributor, [
      {
        action: "split",
        gtin: flour,
        lot: "F1",
        parts: [
          { lot: "F1-E", quantity: 400 },
          { lot: "F1-W", quantity: 350 },
        ],
      },
    ]);
    expect(splitResult.events[0]?.eventType).toBe("APSChain/lot-split");
    expect(await lotAt(chain, flour, "F1")).toMatchObject({
      status: "split",
      quantity: 0,
      owner: ORGS.distributor.prefix,
      dir_product_id: [
        { gtin: parseGtin(flour), lot: "F1-E", quantity: 400 },
        { gtin: parseGtin(flour), lot: "F1-W", quantity: 350 },
      ],
    });
    expect(await lotAt(chain, flour, "F1-E")).toMatchObject({
      quantity: 400,
      ownerOrg: "distributor",
      location: ORGS.distributor.gln,
      pre_product_id: [{ gtin: parseGtin(flour), lot: "F1", quantity: 400 }],
    });

    await ship(chain, "distributor", "east", flour, "F1-E");
    await ship(chain, "distributor", "west", flour, "F1-W");
    const sold = await chain.ok(chain.keys.operators.east, [
      { action: "sell", gtin: flour, lot: "F1-E", quantity: 400 },
    ]);
    expect(sold.events[0]?.eventType).toBe("APSChain/lot-sold");
    expect(await lotAt(chain, flour, "F1-E")).toMatchObject({
      status: "sold",
      quantity: 0,
      soldQuantity: 400,
      owner: ORGS.east.prefix,
      location: ORGS.east.gln,
      pre_location: ORGS.distributor.gln,
    });
  });

  it("refuses an offer accepted by someone it was not made to, and locks the offered lot", async () => {
    await createLot(chain, "farm", wheat, "W2", 100);
    await chain.ok(chain.keys.operators.farm, [
      {
        action: "offer",
        gtin: wheat,
        lot: "W2",
        to: "west",
        toLocation: ORGS.west.gln,
        kind: "both",
      },
    ]);
    const foreign = await chain.submit(chain.keys.operators.east, [
      { action: "accept_offer", gtin: wheat, lot: "W2", to: "east" },
    ]);
    expect(foreign.valid).toBe(false);
    expect(foreign.message).toMatch(
      /lot W2 is offered to west; east cannot accept an offer made to another organisation/,
    );
    // Naming the real addressee does not help a stranger either.
    const spoofed = await chain.submit(chain.keys.operators.east, [
      { action: "accept_offer", gtin: wheat, lot: "W2", to: "west" },
    ]);
    expect(spoofed.message).toMatch(/east cannot accept an offer made to another organisation/);
    const locked = await chain.submit(chain.keys.operators.farm, [
      {
        action: "split",
        gtin: wheat,
        lot: "W2",
        parts: [
          { lot: "a", quantity: 50 },
          { lot: "b", quantity: 50 },
        ],
      },
    ]);
    expect(locked.message).toMatch(
      /lot W2 is offered to west; the offer must be accepted, rejected or cancelled first/,
    );

    const rejected = await chain.ok(chain.keys.operators.west, [
      { action: "reject_offer", gtin: wheat, lot: "W2", to: "west", reason: "wrong grade" },
    ]);
    expect(rejected.events[0]?.eventType).toBe("APSChain/offer-rejected");
    const w2 = await lotAt(chain, wheat, "W2");
    expect(w2).toMatchObject({ ownerOrg: "farm", custodianOrg: "farm", dir_location: null });
    expect(w2.offer).toBeUndefined();
    expect(w2.step).toMatchObject({
      action: "reject_offer",
      note: "wrong grade",
      counterpart: "farm",
    });

    await chain.ok(chain.keys.operators.farm, [
      {
        action: "offer",
        gtin: wheat,
        lot: "W2",
        to: "east",
        toLocation: ORGS.east.gln,
        kind: "custody",
      },
    ]);
    const cancelByOther = await chain.submit(chain.keys.operators.east, [
      { action: "cancel_offer", gtin: wheat, lot: "W2", to: "east" },
    ]);
    expect(cancelByOther.message).toMatch(/was made by farm, not east/);
    const cancelled = await chain.ok(chain.keys.operators.farm, [
      { action: "cancel_offer", gtin: wheat, lot: "W2", to: "east" },
    ]);
    expect(cancelled.events[0]?.eventType).toBe("APSChain/offer-cancelled");
  });

  it("moves ownership and custody separately", async () => {
    await createLot(chain, "farm", wheat, "W3", 100);
    await chain.ok(chain.keys.operators.farm, [
      {
        action: "offer",
        gtin: wheat,
        lot: "W3",
        to: "mill",
        toLocation: ORGS.mill.gln,
        kind: "ownership",
      },
    ]);
    const receiveOwnership = await chain.submit(chain.keys.operators.mill, [
      { action: "accept_offer", gtin: wheat, lot: "W3", to: "mill", receive: true },
    ]);
    expect(receiveOwnership.message).toMatch(/receive applies to custody transfers/);
    await chain.ok(chain.keys.operators.mill, [
      { action: "accept_offer", gtin: wheat, lot: "W3", to: "mill" },
    ]);
    expect(await lotAt(chain, wheat, "W3")).toMatchObject({
      ownerOrg: "mill",
      owner: ORGS.mill.prefix,
      custodianOrg: "farm",
      location: ORGS.farm.gln,
      dir_location: null,
    });
    // Title without the goods: the mill may not split; the farm holds but does not own.
    const split = await chain.submit(chain.keys.operators.mill, [
      {
        action: "split",
        gtin: wheat,
        lot: "W3",
        parts: [
          { lot: "x", quantity: 60 },
          { lot: "y", quantity: 40 },
        ],
      },
    ]);
    expect(split.message).toMatch(/owned by mill and held by farm; mill must be both/);
    const custodyByOwner = await chain.submit(chain.keys.operators.mill, [
      {
        action: "offer",
        gtin: wheat,
        lot: "W3",
        to: "east",
        toLocation: ORGS.east.gln,
        kind: "custody",
      },
    ]);
    expect(custodyByOwner.message).toMatch(/only the custodian farm may offer custody/);
  });

  it("conserves quantities in splits and merges", async () => {
    await createLot(chain, "farm", wheat, "S1", 90);
    const short = await chain.submit(chain.keys.operators.farm, [
      {
        action: "split",
        gtin: wheat,
        lot: "S1",
        parts: [
          { lot: "S1a", quantity: 40 },
          { lot: "S1b", quantity: 40 },
        ],
      },
    ]);
    expect(short.valid).toBe(false);
    expect(short.message).toMatch(
      /the parts add up to 80 kg but lot S1 holds 90 kg; a split must conserve the quantity/,
    );
    const over = await chain.submit(chain.keys.operators.farm, [
      {
        action: "split",
        gtin: wheat,
        lot: "S1",
        parts: [
          { lot: "S1a", quantity: 50 },
          { lot: "S1b", quantity: 50 },
        ],
      },
    ]);
    expect(over.message).toMatch(/add up to 100 kg but lot S1 holds 90 kg/);
    const duplicate = await chain.submit(chain.keys.operators.farm, [
      {
        action: "split",
        gtin: wheat,
        lot: "S1",
        parts: [
          { lot: "S1a", quantity: 45 },
          { lot: "S1a", quantity: 45 },
        ],
      },
    ]);
    expect(duplicate.message).toMatch(/lists S1a twice/);
    await chain.ok(chain.keys.operators.farm, [
      {
        action: "split",
        gtin: wheat,
        lot: "S1",
        parts: [
          { lot: "S1a", quantity: 45 },
          { lot: "S1b", quantity: 45 },
        ],
      },
    ]);
    await createLot(chain, "farm", wheat, "S2", 10, { harvestDate: "2024-07-15", grade: "A" });
    const disagree = await chain.submit(chain.keys.operators.farm, [
      { action: "merge", gtin: wheat, lots: ["S1a", "S2"], into: "M1" },
    ]);
    expect(disagree.message).toMatch(/inputs disagree on harvestDate/);
    const merged = await chain.ok(chain.keys.operators.farm, [
      {
        action: "merge",
        gtin: wheat,
        lots: ["S1a", "S2"],
        into: "M1",
        attributes: { harvestDate: "2024-07-01" },
      },
    ]);
    expect(merged.events[0]?.eventType).toBe("APSChain/lots-merged");
    const m1 = await lotAt(chain, wheat, "M1");
    expect(m1).toMatchObject({
      quantity: 55,
      pre_product_id: [
        { gtin: parseGtin(wheat), lot: "S1a", quantity: 45 },
        { gtin: parseGtin(wheat), lot: "S2", quantity: 10 },
      ],
    });
    expect(m1.attributes).toEqual({ harvestDate: "2024-07-01" });
    expect(await lotAt(chain, wheat, "S2")).toMatchObject({ status: "merged", quantity: 0 });
    const again = await chain.submit(chain.keys.operators.farm, [
      { action: "sell", gtin: wheat, lot: "S2", quantity: 1 },
    ]);
    expect(again.message).toMatch(/lot S2 is merged and can no longer change hands or form/);
  });

  it("refuses operations without the right role, with the reason", async () => {
    const cases = [
      {
        signer: chain.keys.tracer,
        payload: {
          action: "create_lot",
          gtin: wheat,
          lot: "T1",
          quantity: 1,
          unit: "kg",
          location: ORGS.farm.gln,
          attributes: { harvestDate: "2024-01-01" },
        },
        reason: /auditors \(tracers\) may read and trace, not record supply-chain operations/,
      },
      {
        signer: chain.keys.sysadmin,
        payload: { action: "sell", gtin: wheat, lot: "M1", quantity: 1 },
        reason: /a system administrator governs the network but does not act for an organisation/,
      },
      {
        signer: chain.keys.operators.farm,
        payload: { action: "register_location", gln: withCheckDigit("952001100002"), name: "Barn" },
        reason: /only an administrator of farm may do this, not an operator/,
      },
      {
        signer: chain.keys.admins.farm,
        payload: { action: "register_prefix", prefix: "9520099", organisationId: "farm" },
        reason: /only a system administrator assigns GS1 company prefixes/,
      },
      {
        signer: chain.keys.operators.east,
        payload: { action: "sell", gtin: wheat, lot: "M1", quantity: 1 },
        reason: /lot M1 is owned by farm and held by farm; east must be both/,
      },
      {
        signer: chain.keys.operators.mill,
        payload: {
          action: "create_lot",
          gtin: wheat,
          lot: "T2",
          quantity: 1,
          unit: "kg",
          location: ORGS.mill.gln,
          attributes: { harvestDate: "2024-01-01" },
        },
        reason: /lots of 0952001100010\d can only be created by its brand owner farm, not mill/,
      },
      {
        signer: chain.keys.operators.farm,
        payload: {
          action: "create_lot",
          gtin: wheat,
          lot: "T3",
          quantity: 1,
          unit: "kg",
          location: ORGS.mill.gln,
          attributes: { harvestDate: "2024-01-01" },
        },
        reason: /location 952001200001\d belongs to mill, not farm/,
      },
      {
        signer: chain.keys.operators.farm,
        payload: {
          action: "create_lot",
          gtin: wheat,
          lot: "T4",
          quantity: 1,
          unit: "kg",
          location: ORGS.farm.gln,
        },
        reason: /must carry the attribute\(s\) harvestDate/,
      },
    ] as const;
    for (const c of cases) {
      const result = await chain.submit(c.signer, [c.payload]);
      expect(result.valid, JSON.stringify(c.payload)).toBe(false);
      expect(result.message).toMatch(c.reason);
    }
  });

  it("refuses products and locations under a foreign or unregistered company prefix", async () => {
    const foreignGtin = gtinOf("mill", "00099");
    const product = await chain.submit(chain.keys.admins.farm, [
      { action: "create_product", gtin: foreignGtin, name: "Not mine", productType: "grain" },
    ]);
    expect(product.message).toMatch(
      /GTIN 0952001200099\d lies under company prefix 9520012, registered to mill, not to farm/,
    );
    const location = await chain.submit(chain.keys.admins.farm, [
      { action: "register_location", gln: withCheckDigit("952001400002"), name: "Spy depot" },
    ]);
    expect(location.message).toMatch(
      /GLN 952001400002\d lies under company prefix 9520014, registered to east, not to farm/,
    );
    const unregistered = await chain.submit(chain.keys.admins.farm, [
      { action: "create_product", gtin: "4006381333931", name: "Pen", productType: "other" },
    ]);
    expect(unregistered.message).toMatch(
      /GTIN 04006381333931 is not under any registered GS1 company prefix/,
    );
    const again = await chain.submit(chain.keys.admins.farm, [
      { action: "create_product", gtin: wheat, name: "Again", productType: "grain" },
    ]);
    expect(again.message).toMatch(/already exists/);
  });

  it("refuses bad check digits at the payload, whatever the client declares", async () => {
    const badGtin = `${gtinOf("farm", "00077").slice(0, 12)}${(Number(gtinOf("farm", "00077").at(-1)) + 1) % 10}`;
    const payload = {
      action: "create_product",
      gtin: badGtin,
      name: "Bad",
      productType: "grain",
    } as const;
    expect(() => traceAddresses(payload)).toThrow(/check digit/);
    const result = await chain.submit(chain.keys.admins.farm, [payload], {
      addresses: [TRACE_NAMESPACE],
    });
    expect(result.valid).toBe(false);
    expect(result.message).toMatch(
      /APSChain: invalid payload at gtin: GTIN \d{13} has check digit \d, expected \d/,
    );
    const badGln = await chain.submit(
      chain.keys.admins.farm,
      [{ action: "register_location", gln: "9520011000012", name: "x" }],
      { addresses: [TRACE_NAMESPACE] },
    );
    expect(badGln.message).toMatch(/GLN 9520011000012 has check digit 2, expected/);
  });

  it("keeps company prefixes from nesting, in both directions", async () => {
    const nestedInside = await chain.submit(chain.keys.sysadmin, [
      { action: "register_prefix", prefix: "95200113", organisationId: "east" },
    ]);
    expect(nestedInside.message).toMatch(
      /lies inside 9520011, registered to farm; prefixes must not nest/,
    );
    const containing = await chain.submit(chain.keys.sysadmin, [
      { action: "register_prefix", prefix: "952001", organisationId: "east" },
    ]);
    expect(containing.message).toMatch(/would contain 5 registered longer prefix\(es\)/);
    const duplicate = await chain.submit(chain.keys.sysadmin, [
      { action: "register_prefix", prefix: "9520011", organisationId: "east" },
    ]);
    expect(duplicate.message).toMatch(/already registered to farm/);
    const unknownOrg = await chain.submit(chain.keys.sysadmin, [
      { action: "register_prefix", prefix: "9530001", organisationId: "nowhere" },
    ]);
    expect(unknownOrg.message).toMatch(/organisation nowhere does not exist/);
  });

  it("keeps product history and mirrors identities into S4.5 user records", async () => {
    for (let i = 0; i < 3; i++)
      await chain.ok(chain.keys.admins.farm, [
        { action: "update_product", gtin: wheat, attributes: { revision: i } },
      ]);
    const current = decodeProductRecord(
      (await chain.state.get(chain.root, traceProductAddress(parseGtin(wheat)))) as Uint8Array,
    );
    expect(current).toMatchObject({ seq: 3, attributes: { revision: 2 } });
    const first = decodeProductRecord(
      (await chain.state.get(chain.root, traceProductAddress(parseGtin(wheat), 1))) as Uint8Array,
    );
    expect(first.step.action).toBe("create_product");

    const key = chain.keys.admins.mill.publicKeyHex;
    const synced = await chain.ok(chain.keys.tracer, [{ action: "sync_user", publicKey: key }]);
    expect(synced.events[0]?.eventType).toBe("APSChain/user-synced");
    const user = decodeUserRecord(
      (await chain.state.get(chain.root, traceUserAddress("org_admin", key))) as Uint8Array,
    );
    expect(user).toMatchObject({
      role: "org_admin",
      roleCode: "12",
      organisationId: "mill",
      active: true,
    });
    expect(await chain.state.get(chain.root, traceUserAddress("operator", key))).toBeUndefined();
  });
});
