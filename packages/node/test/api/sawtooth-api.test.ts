/**
 * Sawtooth's REST API against a real node through `fastify.inject`: a batch built and signed
 * by the real `sawtooth-sdk` goes from POST /batches to COMMITTED, its state and receipt are
 * served in Sawtooth's shapes, every bad input gets Sawtooth's code and status (plus our
 * reason) and leaves the node answering, and lists page exactly like Sawtooth.
 */
import { decode } from "cborg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../../src/api/index.js";
import { createApiServer } from "../../src/api/index.js";
import { systemClock } from "../../src/common/clock.js";
import { isGovchainError } from "../../src/common/errors.js";
import { createMemoryLogger } from "../../src/common/logger.js";
import { parseBatchList } from "../../src/wire/index.js";
import { sdkProtobuf } from "../wire/sawtooth-sdk.js";
import {
  injectServer,
  intkeyAddress,
  newSdkSigner,
  type SdkTxOptions,
  sdkBatchList,
  sdkIntkeyBatch,
  startTestNode,
  type TestNode,
} from "./helpers.js";

type Json = Record<string, unknown>;
type ErrorBody = {
  error: {
    code: number;
    title: string;
    message: string;
    reason: string;
    batch_id?: string;
    transaction_id?: string;
  };
};

interface Harness {
  readonly test: TestNode;
  readonly api: ApiServer;
  get(url: string): Promise<{ status: number; body: Json }>;
  post(
    url: string,
    payload: Uint8Array | string,
    contentType?: string,
  ): Promise<{ status: number; body: Json; headers: Record<string, unknown> }>;
  /** POSTs a BatchList and waits for COMMITTED. */
  commit(batches: readonly object[]): Promise<void>;
  stop(): Promise<void>;
}

async function harness(options: Parameters<typeof startTestNode>[0] = {}): Promise<Harness> {
  const test = await startTestNode(options);
  const api = injectServer(test.node);
  const get = async (url: string) => {
    const r = await api.fastify.inject({ method: "GET", url });
    return { status: r.statusCode, body: r.json<Json>() };
  };
  const post = async (
    url: string,
    payload: Uint8Array | string,
    contentType = "application/octet-stream",
  ) => {
    const r = await api.fastify.inject({
      method: "POST",
      url,
      headers: { "content-type": contentType },
      payload: typeof payload === "string" ? payload : Buffer.from(payload),
    });
    return { status: r.statusCode, body: r.json<Json>(), headers: r.headers };
  };
  return {
    test,
    api,
    get,
    post,
    async commit(batches) {
      const submitted = await post("/batches", sdkBatchList(batches));
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const link = new URL(String(submitted.body.link));
      const status = await get(`${link.pathname}${link.search}&wait=30`);
      for (const s of status.body.data as { status: string }[]) expect(s.status).toBe("COMMITTED");
    },
    async stop() {
      await api.close();
      await test.stop();
    },
  };
}

function errorOf(body: Json): ErrorBody["error"] {
  return (body as unknown as ErrorBody).error;
}

describe("a Sawtooth client's batch, end to end (LevelDB)", () => {
  let h: Harness;
  const signer = newSdkSigner();
  const { batch, batchId, transactionId } = sdkIntkeyBatch(signer, "alpha", { value: 42 });
  const address = intkeyAddress("alpha");

  beforeAll(async () => {
    h = await harness({ level: true });
  });
  afterAll(async () => {
    await h.stop();
  });

  it("accepts it with 202 and a link to its status", async () => {
    const response = await h.post("/batches", sdkBatchList([batch]));
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ link: `http://localhost:80/batch_statuses?id=${batchId}` });
  });

  it("reports it COMMITTED through /batch_statuses?wait", async () => {
    const response = await h.get(`/batch_statuses?id=${batchId}&wait=30`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: [{ id: batchId, status: "COMMITTED", invalid_transactions: [] }],
      link: `http://localhost:80/batch_statuses?id=${batchId}&wait=30`,
    });
    const posted = await h.post(
      "/batch_statuses",
      JSON.stringify([batchId, "f".repeat(128)]),
      "application/json",
    );
    expect(posted.body).toEqual({
      data: [
        { id: batchId, status: "COMMITTED", invalid_transactions: [] },
        { id: "f".repeat(128), status: "UNKNOWN", invalid_transactions: [] },
      ],
    });
  });

  it("serves its value from /state/{address} and /state", async () => {
    const response = await h.get(`/state/${address}`);
    expect(response.status).toBe(200);
    const value = decode(Buffer.from(String(response.body.data), "base64"), {
      useMaps: true,
    }) as Map<string, number>;
    expect(value.get("alpha")).toBe(42);
    const head = h.test.node.blocks.head()?.id;
    expect(response.body.head).toBe(head);
    expect(response.body.link).toBe(`http://localhost:80/state/${address}?head=${head}`);

    const list = await h.get("/state?address=1cf126");
    expect(list.body.data).toEqual([{ address, data: response.body.data }]);
    expect(list.body.paging).toEqual({ start: null, limit: null });
  });

  it("serves its receipt with the state change", async () => {
    const response = await h.get(`/receipts?id=${transactionId}`);
    expect(response.status).toBe(200);
    const state = await h.get(`/state/${address}`);
    expect(response.body).toEqual({
      data: [
        {
          id: transactionId,
          state_changes: [{ address, type: "SET", value: state.body.data }],
          events: [],
          data: [],
        },
      ],
      link: `http://localhost:80/receipts?id=${transactionId}`,
    });
    const posted = await h.post("/receipts", JSON.stringify([transactionId]), "application/json");
    expect(posted.body).toEqual({ data: (response.body as { data: unknown }).data });
  });

  it("serves the batch, transaction and block in Sawtooth's JSON", async () => {
    const tx = await h.get(`/transactions/${transactionId}`);
    const txJson = tx.body.data as Json & { header: Json };
    expect(txJson.header_signature).toBe(transactionId);
    expect(txJson.header).toMatchObject({
      family_name: "intkey",
      family_version: "1.0",
      inputs: [address],
      outputs: [address],
      signer_public_key: signer.getPublicKey().asHex(),
      batcher_public_key: signer.getPublicKey().asHex(),
      dependencies: [],
    });
    expect(decode(Buffer.from(String(txJson.payload), "base64"))).toEqual({
      Verb: "set",
      Name: "alpha",
      Value: 42,
    });

    const b = await h.get(`/batches/${batchId}`);
    expect(b.body.data).toEqual({
      header: {
        signer_public_key: signer.getPublicKey().asHex(),
        transaction_ids: [transactionId],
      },
      header_signature: batchId,
      transactions: [txJson],
      trace: false,
    });

    const head = h.test.node.blocks.head();
    const block = await h.get(`/blocks/${head?.id}`);
    expect(block.body).toMatchObject({
      data: {
        header_signature: head?.id,
        header: {
          block_num: "1",
          batch_ids: [batchId],
          state_root_hash: head?.stateRoot,
          signer_public_key: h.test.node.signer.publicKeyHex,
        },
        batches: [b.body.data],
      },
      link: `http://localhost:80/blocks/${head?.id}`,
    });
    expect(typeof (block.body.data as { header: Json }).header.consensus).toBe("string");
  });

  it("decodes the served block with the SDK's own protobufs", async () => {
    const head = h.test.node.blocks.head();
    const stored = head ? await h.test.node.blocks.getBlock(head.id) : undefined;
    const header = sdkProtobuf.BlockHeader.toObject(
      sdkProtobuf.BlockHeader.decode(stored?.block.header ?? new Uint8Array()),
      {
        longs: String,
      },
    );
    expect(header.blockNum).toBe("1");
    expect(header.batchIds).toEqual([batchId]);
  });

  it("refuses a replay of the committed batch with code 30 and ALREADY_COMMITTED", async () => {
    const response = await h.post("/batches", sdkBatchList([batch]));
    expect(response.status).toBe(400);
    expect(errorOf(response.body)).toMatchObject({
      code: 30,
      reason: "ALREADY_COMMITTED",
      batch_id: batchId,
    });
    expect(errorOf(response.body).message).toContain(batchId);
  });
});

describe("bad submissions get Sawtooth's codes and the node keeps answering", () => {
  let h: Harness;
  const signer = newSdkSigner();

  beforeAll(async () => {
    h = await harness({
      settings: { "govchain.family.identity.policy": "registered" },
      wireLimits: { maxBatchListBytes: 4096 },
    });
  });
  afterAll(async () => {
    await h.stop();
  });
  afterEach(async () => {
    expect((await h.get("/v1/status")).status).toBe(200);
  });

  const cases: [string, () => Uint8Array, number, number, string][] = [
    [
      "malformed bytes",
      () => new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]),
      400,
      35,
      "UNDECODABLE",
    ],
    ["an empty BatchList", () => sdkBatchList([]), 400, 34, "NO_BATCHES"],
    [
      "a bad transaction signature",
      () => sdkBatchList([sdkIntkeyBatch(signer, "s1", { badSignature: true }).batch]),
      400,
      30,
      "INVALID_TRANSACTION_SIGNATURE",
    ],
    [
      "a payload-hash mismatch",
      () => sdkBatchList([sdkIntkeyBatch(signer, "s2", { payloadSha512: "0".repeat(128) }).batch]),
      400,
      30,
      "PAYLOAD_HASH_MISMATCH",
    ],
    [
      "an unknown family",
      () => sdkBatchList([sdkIntkeyBatch(signer, "s3", { familyName: "nosuch" }).batch]),
      400,
      30,
      "UNKNOWN_FAMILY",
    ],
    [
      "an unregistered signer of a registered-policy family",
      () =>
        sdkBatchList([
          sdkIntkeyBatch(signer, "s4", { familyName: "identity" } satisfies SdkTxOptions).batch,
        ]),
      400,
      30,
      "UNAUTHORIZED",
    ],
    [
      "a payload the family refuses",
      () => sdkBatchList([sdkIntkeyBatch(signer, "s5", { verb: "frobnicate" }).batch]),
      400,
      30,
      "INVALID_PAYLOAD",
    ],
    [
      "a BatchList over the node's wire limit",
      () =>
        sdkBatchList(Array.from({ length: 12 }, (_, i) => sdkIntkeyBatch(signer, `big${i}`).batch)),
      413,
      100,
      "BATCH_LIST_TOO_LARGE",
    ],
  ];

  it.each(cases)("%s", async (_name, body, status, code, reason) => {
    const response = await h.post("/batches", body());
    expect(response.status).toBe(status);
    const error = errorOf(response.body);
    expect(error).toMatchObject({ code, reason });
    expect(typeof error.title).toBe("string");
    expect(error.message.length).toBeGreaterThan(10);
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it("names the batch and transaction at fault", async () => {
    const { batch, batchId, transactionId } = sdkIntkeyBatch(signer, "named", {
      payloadSha512: "1".repeat(128),
    });
    const error = errorOf((await h.post("/batches", sdkBatchList([batch]))).body);
    expect(error).toMatchObject({ batch_id: batchId, transaction_id: transactionId });
    expect(error.message).toMatch(/^The submitted BatchList was rejected: payload_sha512/);
    expect(error.message).toContain(batchId);
    expect(error.message).toContain(transactionId);
  });

  it("refuses an empty body with code 34", async () => {
    const response = await h.post("/batches", new Uint8Array(0));
    expect([response.status, errorOf(response.body).code]).toEqual([400, 34]);
  });

  it("refuses another content type with code 42", async () => {
    const json = await h.post("/batches", JSON.stringify({ batches: [] }), "application/json");
    expect([json.status, errorOf(json.body).code, errorOf(json.body).reason]).toEqual([
      400,
      42,
      "WRONG_CONTENT_TYPE",
    ]);
    const none = await h.api.fastify.inject({ method: "POST", url: "/batches", payload: "x" });
    expect([none.statusCode, none.json<ErrorBody>().error.code]).toEqual([400, 42]);
  });

  it("refuses a body over the HTTP limit with 413", async () => {
    const response = await h.post("/batches", new Uint8Array(10 * 1024 * 1024 + 1));
    expect([response.status, errorOf(response.body).code]).toEqual([413, 100]);
  });

  it("refuses a batch already pending with ALREADY_PENDING", async () => {
    await h.test.node.consensus.stop();
    try {
      const { batch } = sdkIntkeyBatch(signer, "twice");
      expect((await h.post("/batches", sdkBatchList([batch]))).status).toBe(202);
      const again = await h.post("/batches", sdkBatchList([batch]));
      expect([again.status, errorOf(again.body).code, errorOf(again.body).reason]).toEqual([
        400,
        30,
        "ALREADY_PENDING",
      ]);
    } finally {
      await h.test.node.consensus.start();
    }
  });

  it("drops known batches of a gossiped list with dropKnown, and queues the rest", async () => {
    await h.test.node.consensus.stop();
    try {
      const known = sdkIntkeyBatch(signer, "gossip-known");
      const fresh = sdkIntkeyBatch(signer, "gossip-fresh");
      expect((await h.post("/batches", sdkBatchList([known.batch]))).status).toBe(202);
      const parsed = parseBatchList(sdkBatchList([known.batch, fresh.batch]), {
        suite: h.test.node.suite,
      });
      const refusal = await h.test.node.admission.submitParsed(parsed, "peer").catch((e) => e);
      expect(isGovchainError(refusal, "ALREADY_PENDING")).toBe(true);
      const admitted = await h.test.node.admission.submitParsed(parsed, "peer", {
        dropKnown: true,
      });
      expect(admitted.batchIds).toEqual([fresh.batchId]);
      expect(h.test.node.mempool.has(fresh.batchId)).toBe(true);
      const again = await h.test.node.admission.submitParsed(parsed, "peer", { dropKnown: true });
      expect(again.batchIds).toEqual([]);
    } finally {
      await h.test.node.consensus.start();
    }
  });

  it("counts admitted and refused submissions in /metrics", async () => {
    const text = (await h.api.fastify.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toMatch(
      /govchain_submissions_rejected_total\{code="PAYLOAD_HASH_MISMATCH",node="node0"\} [1-9]/,
    );
    expect(text).toMatch(/govchain_batches_admitted_total\{node="node0"\} [1-9]/);
  });
});

describe("bad queries get Sawtooth's codes", () => {
  let h: Harness;
  const unknownId = "e".repeat(128);
  const unknownAddress = `1cf126${"0".repeat(64)}`;

  beforeAll(async () => {
    h = await harness();
    await h.commit([sdkIntkeyBatch(newSdkSigner(), "q").batch]);
  });
  afterAll(async () => {
    await h.stop();
  });

  const cases: [string, number, number][] = [
    ["/blocks?limit=0", 400, 53],
    ["/blocks?limit=abc", 400, 53],
    ["/batches?limit=-1", 400, 53],
    ["/blocks?start=-1", 400, 54],
    ["/blocks?start=0x00000000000000ff", 400, 54],
    [`/batches?start=${unknownId}`, 400, 54],
    ["/transactions?start=nothex", 400, 54],
    [`/state?start=${unknownAddress}`, 400, 54],
    ["/blocks?reverse=signer", 400, 57],
    ["/state?reverse=block_num", 400, 57],
    ["/blocks/abc", 400, 60],
    [`/blocks/${"A".repeat(128)}`, 400, 60],
    ["/blocks?head=abc", 400, 60],
    ["/batches?id=abc", 400, 60],
    [`/transactions?id=${unknownId},xyz`, 400, 60],
    ["/batch_statuses?id=abc", 400, 60],
    [`/blocks?head=${unknownId}`, 404, 50],
    [`/state/${unknownAddress}?head=${unknownId}`, 404, 50],
    ["/state/1cf126", 400, 62],
    [`/state/${"Z".repeat(70)}`, 400, 62],
    ["/state?address=XYZ", 400, 62],
    [`/v1/proof/abc`, 400, 62],
    ["/batch_statuses", 400, 66],
    [`/blocks/${unknownId}`, 404, 70],
    [`/batches/${unknownId}`, 404, 71],
    [`/transactions/${unknownId}`, 404, 72],
    [`/state/${unknownAddress}`, 404, 75],
    [`/receipts?id=${unknownId}`, 404, 80],
    ["/receipts", 400, 83],
    ["/no/such/route", 404, 101],
    ["/blocks/%zz", 400, 102],
    ["/blocks?limit=1&limit=2", 400, 53],
  ];

  it.each(cases)("GET %s → %i, code %i", async (url, status, code) => {
    const response = await h.get(url);
    expect(response.status).toBe(status);
    expect(errorOf(response.body).code).toBe(code);
    expect(typeof errorOf(response.body).reason).toBe("string");
  });

  it("puts the offending id in code 60's message, as Sawtooth does", async () => {
    expect(errorOf((await h.get("/batches/xyz")).body).message).toMatch(/was invalid: xyz$/);
  });

  it("checks POST bodies of /batch_statuses and /receipts", async () => {
    const expectCode = async (url: string, payload: string, type: string, code: number) => {
      const response = await h.post(url, payload, type);
      expect([response.status, errorOf(response.body).code], `${url} ${payload} ${type}`).toEqual([
        400,
        code,
      ]);
    };
    await expectCode("/batch_statuses", JSON.stringify([unknownId]), "text/plain", 43);
    await expectCode("/batch_statuses", JSON.stringify({ id: unknownId }), "application/json", 46);
    await expectCode("/batch_statuses", "[]", "application/json", 46);
    await expectCode("/batch_statuses", "[1, 2]", "application/json", 46);
    await expectCode("/batch_statuses", "[not json", "application/json", 46);
    await expectCode("/batch_statuses", JSON.stringify(["abc"]), "application/json", 60);
    await expectCode("/receipts", JSON.stringify([unknownId]), "application/octet-stream", 81);
    await expectCode("/receipts", "{}", "application/json", 82);
    const missing = await h.post("/receipts", JSON.stringify([unknownId]), "application/json");
    expect([missing.status, errorOf(missing.body).code]).toEqual([404, 80]);
  });

  it("answers an internal failure with 500 and code 10, logging it without leaking it", async () => {
    const records = createMemoryLogger();
    const broken = createApiServer({
      node: {
        ...h.test.node,
        blocks: {
          ...h.test.node.blocks,
          getBlock: async () => {
            throw new Error("disk on fire at /var/lib/govchain");
          },
        },
      },
      logger: records,
      clock: systemClock,
    });
    try {
      const response = await broken.fastify.inject({ method: "GET", url: `/blocks/${unknownId}` });
      expect(response.statusCode).toBe(500);
      expect(response.json<ErrorBody>().error).toMatchObject({
        code: 10,
        reason: "INTERNAL_ERROR",
      });
      expect(response.body).not.toContain("disk on fire");
      expect(response.body).not.toContain(".ts:");
      expect(
        records.records.some(
          (r) => r.level === "error" && String(r.fields.error).includes("disk on fire"),
        ),
      ).toBe(true);
    } finally {
      await broken.close();
    }
    expect((await h.get("/v1/status")).status).toBe(200);
  });
});

describe("paging over many blocks", () => {
  let h: Harness;
  const signer = newSdkSigner();
  const BLOCKS = 25;
  const batchIds: string[] = [];
  const txIds: string[] = [];

  beforeAll(async () => {
    h = await harness({ level: true });
    for (let i = 0; i < BLOCKS; i++) {
      const { batch, batchId, transactionId } = sdkIntkeyBatch(
        signer,
        `k${String(i).padStart(2, "0")}`,
        { value: i },
      );
      await h.commit([batch]);
      batchIds.push(batchId);
      txIds.push(transactionId);
    }
  });
  afterAll(async () => {
    await h.stop();
  });

  /** Follows `paging.next` from `first` and returns every item's id and each page's paging. */
  async function walk(
    first: string,
    idOf: (item: Json) => string,
  ): Promise<{ ids: string[]; pages: Json[] }> {
    const ids: string[] = [];
    const pages: Json[] = [];
    let url: string | undefined = first;
    while (url !== undefined) {
      const response = await h.get(url);
      expect(response.status).toBe(200);
      pages.push(response.body);
      ids.push(...(response.body.data as Json[]).map(idOf));
      const next = (response.body.paging as { next?: string }).next;
      url = next === undefined ? undefined : `${new URL(next).pathname}${new URL(next).search}`;
    }
    return { ids, pages };
  }

  const heightOf = (block: Json) => (block.header as { block_num: string }).block_num;

  it("pages blocks newest first, with Sawtooth's links and positions", async () => {
    const head = h.test.node.blocks.head()?.id;
    const first = await h.get("/blocks?limit=10");
    expect(first.body.head).toBe(head);
    expect(first.body.link).toBe(
      `http://localhost:80/blocks?head=${head}&start=0x0000000000000019&limit=10`,
    );
    expect(first.body.paging).toEqual({
      start: null,
      limit: 10,
      next_position: "0x000000000000000f",
      next: `http://localhost:80/blocks?head=${head}&start=0x000000000000000f&limit=10`,
    });
    const { ids, pages } = await walk("/blocks?limit=10", heightOf);
    expect(ids).toEqual(Array.from({ length: BLOCKS + 1 }, (_, i) => String(BLOCKS - i)));
    expect(pages).toHaveLength(3);
    expect(pages[2]?.paging).toEqual({ start: "0x0000000000000005", limit: 10 });
  });

  it("pages blocks oldest first with reverse, and from an older head", async () => {
    const { ids } = await walk("/blocks?limit=7&reverse", heightOf);
    expect(ids).toEqual(Array.from({ length: BLOCKS + 1 }, (_, i) => String(i)));
    const older = await h.test.node.blocks.getBlockByHeight(10n);
    const fromOlder = await h.get(`/blocks?head=${older?.id}&limit=3`);
    expect((fromOlder.body.data as Json[]).map(heightOf)).toEqual(["10", "9", "8"]);
    expect(fromOlder.body.head).toBe(older?.id);
  });

  it("serves at most 1000 items and 100 by default", async () => {
    const capped = await h.get("/blocks?limit=5000");
    expect((capped.body.data as Json[]).length).toBe(BLOCKS + 1);
    expect(String(capped.body.link)).toContain("&limit=1000");
    expect(capped.body.paging).toEqual({ start: null, limit: 5000 });
    const byDefault = await h.get("/blocks");
    expect(String(byDefault.body.link)).toContain("&limit=100");
  });

  it("pages batches and transactions in Sawtooth's order, both ways", async () => {
    const newestFirst = [...batchIds].reverse();
    expect((await walk("/batches?limit=4", (b) => String(b.header_signature))).ids).toEqual(
      newestFirst,
    );
    expect((await walk("/batches?limit=6&reverse", (b) => String(b.header_signature))).ids).toEqual(
      batchIds,
    );
    expect((await walk("/transactions?limit=9", (t) => String(t.header_signature))).ids).toEqual(
      [...txIds].reverse(),
    );
    expect(
      (await walk("/transactions?limit=9&reverse=default", (t) => String(t.header_signature))).ids,
    ).toEqual(txIds);
    const fromMiddle = await h.get(`/batches?start=${batchIds[5]}&limit=2`);
    expect((fromMiddle.body.data as Json[]).map((b) => b.header_signature)).toEqual([
      batchIds[5],
      batchIds[4],
    ]);
    expect((fromMiddle.body.paging as Json).next_position).toBe(batchIds[3]);
  });

  it("filters by id in the order given", async () => {
    const picked = [batchIds[3], batchIds[20], "d".repeat(128), batchIds[0]];
    const response = await h.get(`/batches?id=${picked.join(",")}`);
    expect((response.body.data as Json[]).map((b) => b.header_signature)).toEqual([
      batchIds[3],
      batchIds[20],
      batchIds[0],
    ]);
    const older = await h.test.node.blocks.getBlockByHeight(10n);
    const atOlder = await h.get(`/batches?id=${picked.join(",")}&head=${older?.id}`);
    expect((atOlder.body.data as Json[]).map((b) => b.header_signature)).toEqual([
      batchIds[3],
      batchIds[0],
    ]);
  });

  it("pages state entries in address order, both ways, and reads state at an older head", async () => {
    const all = await walk("/state?address=1cf126&limit=6", (e) => String(e.address));
    expect(all.ids).toHaveLength(BLOCKS);
    expect([...all.ids].sort()).toEqual(all.ids);
    const reversed = await walk("/state?address=1cf126&limit=4&reverse", (e) => String(e.address));
    expect(reversed.ids).toEqual([...all.ids].reverse());
    const older = await h.test.node.blocks.getBlockByHeight(10n);
    const atOlder = await h.get(`/state?address=1cf126&head=${older?.id}`);
    expect((atOlder.body.data as Json[]).length).toBe(10);
    const missingThen = await h.get(`/state/${intkeyAddress("k20")}?head=${older?.id}`);
    expect(missingThen.status).toBe(404);
    expect((await h.get(`/state/${intkeyAddress("k20")}`)).status).toBe(200);
  });
});
