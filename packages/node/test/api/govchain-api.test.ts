/**
 * govchain's own endpoints against a real node: status, state proofs checked the way a client
 * holding only the genesis file checks them, Prometheus metrics, and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../../src/api/index.js";
import { fromHex } from "../../src/common/bytes.js";
import { GovchainError } from "../../src/common/errors.js";
import type { GenesisConfig } from "../../src/genesis/genesis.js";
import { type StateProof, verifyStateProof } from "../../src/state/index.js";
import { decodeBlockHeader } from "../../src/wire/index.js";
import {
  injectServer,
  intkeyAddress,
  newSdkSigner,
  sdkBatchList,
  sdkIntkeyBatch,
  startTestNode,
  suite,
  type TestNode,
} from "./helpers.js";

type Json = Record<string, unknown>;

interface ProofResponse {
  readonly address: string;
  readonly block: {
    readonly id: string;
    readonly height: string;
    readonly header: string;
    readonly headerSignature: string;
    readonly signerPublicKey: string;
    readonly stateRoot: string;
  };
  readonly proof: StateProof;
}

/**
 * What a light client does with a proof and nothing but the genesis file: the block signer
 * must be a genesis validator, the signature must cover the header bytes, the header's state
 * root must be the proof's root, and the proof must verify under it.
 */
function verifyAsClient(
  genesis: GenesisConfig,
  response: ProofResponse,
  address: string,
): Uint8Array | undefined {
  const headerBytes = fromHex(response.block.header);
  const header = decodeBlockHeader(headerBytes);
  if (!genesis.validators.some((v) => v.publicKey === header.signerPublicKey))
    throw new Error("signer is not a genesis validator");
  if (
    !suite.verify(
      fromHex(header.signerPublicKey),
      headerBytes,
      fromHex(response.block.headerSignature),
    )
  ) {
    throw new Error("block signature does not verify");
  }
  const result = verifyStateProof(response.proof, {
    root: header.stateRootHash,
    address,
    hash: suite.hashName,
  });
  return result.included ? result.value : undefined;
}

describe("govchain endpoints", () => {
  let test: TestNode;
  let api: ApiServer;
  const address = intkeyAddress("proved");
  let firstBlockId = "";

  const get = async (url: string) => {
    const r = await api.fastify.inject({ method: "GET", url });
    const isJson = String(r.headers["content-type"]).startsWith("application/json");
    return {
      status: r.statusCode,
      body: isJson ? r.json<Json>() : {},
      raw: r.body,
      headers: r.headers,
    };
  };

  beforeAll(async () => {
    test = await startTestNode();
    api = injectServer(test.node);
    const signer = newSdkSigner();
    const submit = async (name: string) => {
      const { batch, batchId } = sdkIntkeyBatch(signer, name, { value: 7 });
      const response = await api.fastify.inject({
        method: "POST",
        url: "/batches",
        headers: { "content-type": "application/octet-stream" },
        payload: Buffer.from(sdkBatchList([batch])),
      });
      expect(response.statusCode).toBe(202);
      await get(`/batch_statuses?id=${batchId}&wait=30`);
    };
    await submit("other");
    firstBlockId = test.node.blocks.head()?.id ?? "";
    await submit("proved");
  });

  afterAll(async () => {
    await api.close();
    await test.stop();
  });

  it("reports node status at /v1/status", async () => {
    const { status, body } = await get("/v1/status");
    expect(status).toBe(200);
    const head = test.node.blocks.head();
    expect(body).toMatchObject({
      nodeId: "node0",
      chainId: "api-test",
      suite: "standard",
      height: "2",
      head: head?.id,
      stateRoot: head?.stateRoot,
      view: 0,
      primary: "node0",
      validators: ["node0"],
      peers: [],
      mempool: { batches: 0, bytes: 0 },
    });
  });

  it("serves Sawtooth's /status and /peers", async () => {
    expect((await get("/status")).body).toEqual({
      data: { endpoint: "tcp://127.0.0.1:8800", peers: [] },
      link: "http://localhost:80/status",
    });
    expect((await get("/peers")).body).toEqual({ data: [], link: "http://localhost:80/peers" });
  });

  it("serves an inclusion proof a client verifies with the genesis file alone", async () => {
    const { status, body } = await get(`/v1/proof/${address}`);
    expect(status).toBe(200);
    const response = body as unknown as ProofResponse;
    const head = test.node.blocks.head();
    expect(response.address).toBe(address);
    expect(response.block).toMatchObject({
      id: head?.id,
      height: "2",
      headerSignature: head?.id,
      stateRoot: head?.stateRoot,
    });
    const value = verifyAsClient(test.node.genesis, response, address);
    const state = await get(`/state/${address}`);
    expect(Buffer.from(value ?? []).toString("base64")).toBe(state.body.data);
  });

  it("serves an exclusion proof at an older head", async () => {
    const response = (await get(`/v1/proof/${address}?head=${firstBlockId}`))
      .body as unknown as ProofResponse;
    expect(response.block.id).toBe(firstBlockId);
    expect(response.block.height).toBe("1");
    expect(verifyAsClient(test.node.genesis, response, address)).toBeUndefined();
  });

  it("rejects a tampered proof, header or signature", async () => {
    const response = (await get(`/v1/proof/${address}`)).body as unknown as ProofResponse;
    const otherValue = { ...response, proof: { ...response.proof, value: "00" } };
    expect(() => verifyAsClient(test.node.genesis, otherValue, address)).toThrow(GovchainError);
    const lastNode = response.proof.nodes.at(-1) ?? "";
    const flipped = `${lastNode.slice(0, -2)}${lastNode.endsWith("00") ? "01" : "00"}`;
    const otherNode = {
      ...response,
      proof: { ...response.proof, nodes: [...response.proof.nodes.slice(0, -1), flipped] },
    };
    expect(() => verifyAsClient(test.node.genesis, otherNode, address)).toThrow(
      /invalid state proof/,
    );
    const otherAddress = intkeyAddress("other");
    expect(() => verifyAsClient(test.node.genesis, response, otherAddress)).toThrow(GovchainError);
    const sig = response.block.headerSignature;
    const badSignature = {
      ...response,
      block: {
        ...response.block,
        headerSignature: `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`,
      },
    };
    expect(() => verifyAsClient(test.node.genesis, badSignature, address)).toThrow(/signature/);
    const older = (await get(`/v1/proof/${address}?head=${firstBlockId}`))
      .body as unknown as ProofResponse;
    const mixed = { ...response, block: older.block };
    expect(() => verifyAsClient(test.node.genesis, mixed, address)).toThrow(/another root/);
    const stranger = {
      ...test.node.genesis,
      validators: [{ id: "x", publicKey: "ab".repeat(32) }],
    };
    expect(() => verifyAsClient(stranger, response, address)).toThrow(/genesis validator/);
  });

  it("exports Prometheus metrics with event-loop lag and committed blocks", async () => {
    const { status, raw, headers } = await get("/metrics");
    expect(status).toBe(200);
    expect(String(headers["content-type"])).toMatch(/^text\/plain/);
    expect(raw).toMatch(/^nodejs_eventloop_lag_seconds\{node="node0"\} /m);
    expect(raw).toMatch(/^govchain_blocks_committed_total\{node="node0"\} 2$/m);
  });

  it("publishes an OpenAPI document listing every route, and the Swagger UI", async () => {
    const { status, body } = await get("/docs/json");
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.0.3");
    expect((body.info as Json).title).toBe("govchain REST API");
    const paths = body.paths as Record<string, Record<string, Json>>;
    const expected: [string, string][] = [
      ["/batches", "post"],
      ["/batches", "get"],
      ["/batches/{batch_id}", "get"],
      ["/batch_statuses", "get"],
      ["/batch_statuses", "post"],
      ["/state", "get"],
      ["/state/{address}", "get"],
      ["/blocks", "get"],
      ["/blocks/{block_id}", "get"],
      ["/transactions", "get"],
      ["/transactions/{transaction_id}", "get"],
      ["/receipts", "get"],
      ["/receipts", "post"],
      ["/peers", "get"],
      ["/status", "get"],
      ["/v1/status", "get"],
      ["/v1/proof/{address}", "get"],
      ["/v1/events", "get"],
      ["/metrics", "get"],
    ];
    for (const [path, method] of expected)
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const listBlocks = paths["/blocks"]?.get as {
      parameters: { name: string; in: string }[];
      responses: Record<string, unknown>;
    };
    expect(listBlocks.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining([
        "query:head",
        "query:start",
        "query:limit",
        "query:reverse",
        "query:id",
      ]),
    );
    expect(Object.keys(listBlocks.responses)).toEqual(expect.arrayContaining(["200", "400"]));
    const submit = paths["/batches"]?.post as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(submit.requestBody.content)).toEqual(["application/octet-stream"]);
    // Structural rules of OpenAPI 3.0 operations: responses present, parameters well formed,
    // every path template variable declared as a required path parameter.
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const where = `${method} ${path}`;
        expect(["get", "post", "put", "delete", "patch", "head", "options"], where).toContain(
          method,
        );
        expect(Object.keys(operation.responses as Json).length, where).toBeGreaterThan(0);
        const parameters = (operation.parameters ?? []) as {
          name?: unknown;
          in?: unknown;
          schema?: unknown;
          required?: unknown;
        }[];
        for (const p of parameters) {
          expect(typeof p.name, where).toBe("string");
          expect(["query", "path", "header", "cookie"], where).toContain(p.in);
          expect(typeof p.schema, where).toBe("object");
        }
        for (const [, variable] of path.matchAll(/\{([^}]+)\}/g)) {
          const declared = parameters.some(
            (p) => p.in === "path" && p.name === variable && p.required === true,
          );
          expect(declared, `${where} declares ${variable}`).toBe(true);
        }
      }
    }
    // OpenAPI 3.0 has no type arrays (nullable instead): the conversion must have happened.
    expect(JSON.stringify(body)).not.toMatch(/"type":\[/);
    const ui = await api.fastify.inject({ method: "GET", url: "/docs" });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toMatch(/swagger/i);
  });
});
