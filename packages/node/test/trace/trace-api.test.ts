/**
 * The traceability REST routes against a real node (devmode, memory store, its own API on a
 * real socket) loaded with the demo scenario through `POST /batches`: traces, paging, proofs a
 * client verifies against the block header, QR codes, Digital Link resolution, the resolver
 * setting, and every error with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../../src/api/index.js";
import { DIGITAL_LINK_RESOLVER_SETTING } from "../../src/api/trace-routes.js";
import { fromHex } from "../../src/common/bytes.js";
import { silentLogger } from "../../src/common/logger.js";
import { AUTHORIZED_KEYS_SETTING } from "../../src/families/index.js";
import { signGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode } from "../../src/node.js";
import { createStateTree, type StateProof, verifyStateProof } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { buildTraceDemo, type TraceDemo } from "../../src/trace/index.js";
import { decodeBlockHeader, encodeBatchList } from "../../src/wire/index.js";
import type { Batch } from "../../src/wire/types.js";
import { injectServer, settingsBatch, suite } from "../api/helpers.js";
import { newSigner } from "../support/fixtures.js";

type Json = Record<string, unknown>;

interface TraceBody {
  readonly block: {
    id: string;
    height: string;
    stateRoot: string;
    header?: string;
    headerSignature?: string;
  };
  readonly digitalLink: string;
  readonly nodes: {
    lot: string;
    relation: string;
    steps: {
      action: string;
      address: string;
      proof?: StateProof;
      transactionId: string;
      blockHeight: number;
    }[];
  }[];
  readonly page: { complete: boolean; next?: string; nextUrl?: string; count: number };
}

describe("trace REST API", () => {
  let node: GovchainNode;
  let api: ApiServer;
  let demo: TraceDemo;
  let blockBeforeRetail = "";
  const admin = newSigner();

  const get = async (url: string) => {
    const r = await api.fastify.inject({ method: "GET", url });
    const isJson = String(r.headers["content-type"]).startsWith("application/json");
    return {
      status: r.statusCode,
      body: isJson ? r.json<Json>() : {},
      raw: r.rawPayload,
      headers: r.headers,
    };
  };

  async function submit(batches: readonly Batch[]): Promise<void> {
    const response = await api.fastify.inject({
      method: "POST",
      url: "/batches",
      headers: { "content-type": "application/octet-stream" },
      payload: Buffer.from(encodeBatchList(batches)),
    });
    expect(response.statusCode, response.body).toBe(202);
    const ids = batches.map((b) => b.headerSignature).join(",");
    const statuses = await get(`/batch_statuses?id=${ids}&wait=60`);
    const data = statuses.body.data as {
      status: string;
      invalid_transactions: { message: string }[];
    }[];
    expect(
      data.map((d) => d.status),
      JSON.stringify(data),
    ).toEqual(batches.map(() => "COMMITTED"));
  }

  beforeAll(async () => {
    const nodeKey = suite.generateKey();
    const nodeSigner = suite.createSigner(nodeKey);
    const sysadmin = newSigner();
    const scratch = createMemoryStore();
    await scratch.open();
    const genesis = await signGenesis(
      {
        format: "govchain-genesis/1",
        chainId: "trace-test",
        suite: "standard",
        timestampMs: 1_700_000_000_000,
        consensus: { engine: "devmode" },
        validators: [
          { id: "node0", publicKey: nodeSigner.publicKeyHex, endpoint: "tcp://127.0.0.1:8800" },
        ],
        settings: { [AUTHORIZED_KEYS_SETTING]: admin.publicKeyHex },
        identity: {
          agents: [{ publicKey: sysadmin.publicKeyHex, name: "root", roles: ["system_admin"] }],
        },
      },
      nodeSigner,
      suite,
      createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
    );
    await scratch.close();
    node = createNode({
      nodeId: "node0",
      dataDir: "/nonexistent",
      genesis,
      key: nodeKey,
      api: { host: "127.0.0.1", port: 0 },
      store: createMemoryStore(),
      block: { maxWaitMs: 1 },
      logger: silentLogger,
    });
    await node.start();
    api = injectServer(node);
    demo = buildTraceDemo(
      {
        systemAdmin: sysadmin,
        farm: newSigner(),
        mill: newSigner(),
        distributor: newSigner(),
        retailerEast: newSigner(),
        retailerWest: newSigner(),
      },
      { suite },
    );
    // Stage 1, stage 2 up to the retailers, then the retail batches in a later block.
    const [stage1 = [], stage2 = []] = demo.stages;
    expect(stage1.length + stage2.length).toBe(demo.batches.length);
    await submit(stage1);
    await submit(stage2.slice(0, -2));
    blockBeforeRetail = node.blocks.head()?.id ?? "";
    await submit(stage2.slice(-2));
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await node?.stop();
  });

  it("traces a lot upstream and downstream", async () => {
    const { wheat, flourEast } = demo.lots;
    const { status, body } = await get(`/v1/trace/${wheat.gtin}?lot=${wheat.lot}`);
    expect(status).toBe(200);
    const trace = body as unknown as TraceBody;
    expect(trace.nodes.map((n) => `${n.relation}:${n.lot}`)).toEqual([
      "origin:WHEAT-2024-07",
      "downstream:FLOUR-24-001",
      "downstream:FLOUR-24-001-E",
      "downstream:FLOUR-24-001-W",
    ]);
    expect(trace.digitalLink).toBe(wheat.digitalLink);
    expect(trace.block.id).toBe(node.blocks.head()?.id);
    expect(trace.page.complete).toBe(true);
    const east = trace.nodes[2];
    expect(east?.steps.at(-1)).toMatchObject({ action: "sell" });
    expect(east?.steps.at(-1)?.transactionId).toMatch(/^[0-9a-f]{128}$/);

    // GTIN-13 form, the upstream direction, and a block before the retailers sold anything.
    const up = await get(
      `/v1/trace/${flourEast.gtin.slice(1)}?lot=${flourEast.lot}&direction=up&head=${blockBeforeRetail}`,
    );
    expect(up.status).toBe(200);
    const upTrace = up.body as unknown as TraceBody;
    expect(upTrace.nodes.map((n) => n.lot)).toEqual([
      "FLOUR-24-001-E",
      "FLOUR-24-001",
      "WHEAT-2024-07",
    ]);
    expect(upTrace.nodes[0]?.steps.some((s) => s.action === "sell")).toBe(false);
  });

  it("pages large traces, following nextUrl at the same block", async () => {
    const { wheat } = demo.lots;
    const lots: string[] = [];
    let url: string | undefined = `/v1/trace/${wheat.gtin}?lot=${wheat.lot}&maxNodes=1&maxSteps=0`;
    let pages = 0;
    while (url !== undefined) {
      const { status, body } = await get(url);
      expect(status, JSON.stringify(body)).toBe(200);
      const page = body as unknown as TraceBody;
      lots.push(...page.nodes.map((n) => n.lot));
      url = page.page.nextUrl;
      pages++;
    }
    expect(pages).toBe(4);
    expect(lots).toEqual(["WHEAT-2024-07", "FLOUR-24-001", "FLOUR-24-001-E", "FLOUR-24-001-W"]);
    const first = (await get(`/v1/trace/${wheat.gtin}?lot=${wheat.lot}&maxNodes=1`))
      .body as unknown as TraceBody;
    const cursorOnly = await get(
      `/v1/trace/${wheat.gtin}?lot=${wheat.lot}&maxNodes=1&cursor=${first.page.next ?? ""}`,
    );
    expect((cursorOnly.body as unknown as TraceBody).nodes[0]?.lot).toBe("FLOUR-24-001");
    const wrongLot = await get(`/v1/trace/${wheat.gtin}?lot=OTHER&cursor=${first.page.next ?? ""}`);
    expect(wrongLot.status).toBe(400);
  });

  it("adds proofs a client verifies against the signed block header", async () => {
    const { flourWest } = demo.lots;
    const { status, body } = await get(
      `/v1/trace/${flourWest.gtin}?lot=${flourWest.lot}&direction=up&proofs=true`,
    );
    expect(status).toBe(200);
    const trace = body as unknown as TraceBody;
    const headerBytes = fromHex(trace.block.header ?? "");
    const header = decodeBlockHeader(headerBytes);
    expect(
      suite.verify(
        fromHex(header.signerPublicKey),
        headerBytes,
        fromHex(trace.block.headerSignature ?? ""),
      ),
    ).toBe(true);
    let verified = 0;
    for (const n of trace.nodes)
      for (const step of n.steps) {
        const result = verifyStateProof(step.proof as StateProof, {
          root: header.stateRootHash,
          address: step.address,
          hash: suite.hashName,
        });
        expect(result.included).toBe(true);
        verified++;
      }
    expect(verified).toBeGreaterThan(15);
  });

  it("lists a product's lots when no lot is given", async () => {
    const { status, body } = await get(`/v1/trace/${demo.products.flour}?limit=2`);
    expect(status).toBe(200);
    expect(body.product).toMatchObject({ gtin: demo.products.flour, organisationId: "demo-mill" });
    expect((body.lots as unknown[]).length).toBe(2);
    const next = (body.paging as { next?: string }).next;
    expect(next).toBeDefined();
    const rest = await get(next ?? "");
    expect((rest.body.lots as unknown[]).length).toBe(1);
  });

  it("answers errors with the envelope and a precise reason", async () => {
    const { wheat } = demo.lots;
    const cases: [string, number, string][] = [
      [`/v1/trace/12345?lot=A`, 400, "INVALID_GTIN"],
      [`/v1/trace/09520123456781?lot=A`, 400, "INVALID_CHECK_DIGIT"],
      [`/v1/trace/${wheat.gtin}?lot=${encodeURIComponent("bad lot")}`, 400, "INVALID_LOT"],
      [`/v1/trace/${wheat.gtin}?lot=NOPE`, 404, "UNKNOWN_LOT"],
      [`/v1/trace/09520123456788?lot=A`, 404, "UNKNOWN_PRODUCT"],
      [`/v1/trace/09520123456788`, 404, "UNKNOWN_PRODUCT"],
      [`/v1/trace/${wheat.gtin}?lot=${wheat.lot}&direction=sideways`, 400, "INVALID_REQUEST"],
      [`/v1/trace/${wheat.gtin}?lot=${wheat.lot}&cursor=abc`, 400, "INVALID_CURSOR"],
      [
        `/v1/trace/${wheat.gtin}?lot=${wheat.lot}&proofs=true&maxNodes=500`,
        400,
        "INVALID_TRACE_OPTIONS",
      ],
      [`/v1/trace/${wheat.gtin}?lot=${wheat.lot}&head=${"0".repeat(128)}`, 404, "HEAD_NOT_FOUND"],
      [`/v1/trace/${wheat.gtin}/qr?lot=NOPE`, 404, "UNKNOWN_LOT"],
      [`/v1/trace/${wheat.gtin}/qr?lot=${wheat.lot}&format=gif`, 400, "INVALID_REQUEST"],
    ];
    for (const [url, status, reason] of cases) {
      const response = await get(url);
      expect(response.status, url).toBe(status);
      expect((response.body.error as { reason: string }).reason, url).toBe(reason);
    }
    const badCheck = await get(`/v1/trace/09520123456781?lot=A`);
    expect(badCheck.body.error).toMatchObject({
      code: 102,
      title: "Invalid Request",
      message: "GTIN 09520123456781 has check digit 1, expected 8",
    });
    expect((await get(`/v1/trace/${wheat.gtin}?lot=NOPE`)).body.error).toMatchObject({
      code: 75,
      message: `product ${wheat.gtin} has no lot NOPE`,
    });
  });

  it("renders the lot's Digital Link as SVG and PNG QR codes", async () => {
    const { flourEast } = demo.lots;
    const svg = await get(`/v1/trace/${flourEast.gtin}/qr?lot=${flourEast.lot}`);
    expect(svg.status).toBe(200);
    expect(svg.headers["content-type"]).toMatch(/^image\/svg\+xml/);
    expect(svg.headers["x-digital-link"]).toBe(flourEast.digitalLink);
    expect(svg.raw.toString("utf8")).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const png = await get(
      `/v1/trace/${flourEast.gtin}/qr?lot=${flourEast.lot}&format=png&size=200`,
    );
    expect(png.status).toBe(200);
    expect(png.headers["content-type"]).toBe("image/png");
    expect([...png.raw.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // PNG width lives in the IHDR chunk.
    expect(png.raw.readUInt32BE(16)).toBe(200);
  });

  it("resolves a scanned Digital Link URI to the trace", async () => {
    const { flourWest } = demo.lots;
    const uri = `https://id.gs1.org/01/${flourWest.gtin}/10/${flourWest.lot}?17=261231`;
    const { status, body } = await get(
      `/v1/trace/resolve?uri=${encodeURIComponent(uri)}&direction=up`,
    );
    expect(status).toBe(200);
    expect(body.resolved).toEqual({
      gtin: flourWest.gtin,
      lot: flourWest.lot,
      attributes: { "17": "261231" },
      resolver: "https://id.gs1.org",
    });
    expect((body as unknown as TraceBody).nodes.map((n) => n.lot)).toEqual([
      "FLOUR-24-001-W",
      "FLOUR-24-001",
      "WHEAT-2024-07",
    ]);
    const cases: [string, string][] = [
      ["https://id.gs1.org/01/09520123456788/21/12345/10/ABC123", "INVALID_DIGITAL_LINK"],
      ["https://id.gs1.org/01/09520123456781/10/ABC123", "INVALID_CHECK_DIGIT"],
      [`https://id.gs1.org/01/${flourWest.gtin}`, "INVALID_DIGITAL_LINK"],
      [`https://id.gs1.org/01/${flourWest.gtin}/10/NOPE`, "UNKNOWN_LOT"],
    ];
    for (const [bad, reason] of cases) {
      const response = await get(`/v1/trace/resolve?uri=${encodeURIComponent(bad)}`);
      expect((response.body.error as { reason: string }).reason, bad).toBe(reason);
    }
  });

  it("takes the resolver host from the chain setting", async () => {
    await submit([settingsBatch(admin, DIGITAL_LINK_RESOLVER_SETTING, "trace.example.gov.cn/r")]);
    const { flourEast } = demo.lots;
    const svg = await get(`/v1/trace/${flourEast.gtin}/qr?lot=${flourEast.lot}`);
    expect(svg.headers["x-digital-link"]).toBe(
      `https://trace.example.gov.cn/r/01/${flourEast.gtin}/10/${flourEast.lot}`,
    );
  });

  it("is served by the node's own API on a real socket", async () => {
    const { wheat } = demo.lots;
    const response = await fetch(
      `${node.apiUrl}/v1/trace/${wheat.gtin}?lot=${wheat.lot}&direction=down`,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as TraceBody;
    expect(body.nodes).toHaveLength(4);
    const docs = await get("/docs/json");
    expect(Object.keys(docs.body.paths as Json)).toEqual(
      expect.arrayContaining(["/v1/trace/{gtin}", "/v1/trace/{gtin}/qr", "/v1/trace/resolve"]),
    );
  });
});
