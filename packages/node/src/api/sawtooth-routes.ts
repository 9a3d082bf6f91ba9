/**
 * Sawtooth's REST endpoints (sawtooth_rest_api/route_handlers.py) with Sawtooth's JSON shapes,
 * paging, links and error codes, served from the node's own stores instead of a validator
 * behind ZMQ. Existing Sawtooth clients (`sawtooth-sdk`, `intkey`/`sawset` workloads, the
 * Sawtooth explorer) talk to a govchain node unchanged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { QueueFullError } from "../admission/mempool.js";
import { toBase64 } from "../common/bytes.js";
import { isGovchainError } from "../common/errors.js";
import { pageOfBatches, pageOfBlocks, pageOfIds, pageOfTransactions } from "./chain-pages.js";
import { ApiError, submissionErrorResponse } from "./errors.js";
import { buildUrl } from "./links.js";
import {
  effectiveLimit,
  isReversed,
  type PageResult,
  type PagingControls,
  pagedMetadata,
  pagingControls,
} from "./paging.js";
import {
  renderBatch,
  renderBatchStatus,
  renderBlock,
  renderReceipt,
  renderTransaction,
} from "./render.js";
import {
  checkResourceId,
  clip,
  parseIdList,
  type RouteContext,
  resolveHead,
  waitMilliseconds,
} from "./route-context.js";
import { SCHEMAS } from "./schemas.js";

interface ListQuery {
  readonly head?: string;
  readonly id?: string;
  readonly start?: string;
  readonly limit?: number;
  readonly reverse?: string;
}

interface StateListQuery {
  readonly head?: string;
  readonly address?: string;
  readonly start?: string;
  readonly limit?: number;
  readonly reverse?: string;
}

/** The media type of a request, without parameters, lower-cased ("" when absent). */
function mediaTypeOf(request: FastifyRequest): string {
  const value = request.headers["content-type"] ?? "";
  return (value.split(";")[0] ?? "").trim().toLowerCase();
}

/**
 * An `onRequest` hook refusing any other content type with `reason`. It runs before the body
 * is parsed, so a wrong type gets Sawtooth's content-type code, not a parser error.
 */
function requireMediaType(
  mediaType: string,
  reason: "WRONG_CONTENT_TYPE" | "STATUS_WRONG_CONTENT_TYPE" | "RECEIPT_WRONG_CONTENT_TYPE",
) {
  return async (request: FastifyRequest): Promise<void> => {
    if (mediaTypeOf(request) !== mediaType)
      throw new ApiError(
        reason,
        ` (got '${clip(request.headers["content-type"] ?? "none", 100)}')`,
      );
  };
}

/**
 * A `preValidation` hook requiring a non-empty JSON array of strings, Sawtooth's check on
 * POSTed id lists. It runs before schema validation, whose type coercion would turn `[1, 2]`
 * into `["1", "2"]` and report a bad id (60) instead of a bad body.
 */
function requireStringArray(reason: "STATUS_BODY_INVALID" | "RECEIPT_BODY_INVALID") {
  return async (request: FastifyRequest): Promise<void> => {
    const body = request.body;
    if (!Array.isArray(body) || body.length === 0 || !body.every((id) => typeof id === "string"))
      throw new ApiError(reason);
  };
}

/** Registers Sawtooth's endpoints. */
export function registerSawtoothRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { node } = ctx;
  const { blocks, chain, state } = node;

  const sendPage = <T, J>(
    request: FastifyRequest,
    reply: FastifyReply,
    head: string,
    controls: PagingControls,
    page: PageResult<T>,
    render: (item: T) => J,
  ): FastifyReply =>
    reply.send({ data: page.items.map(render), ...pagedMetadata(request, head, controls, page) });

  // ---- POST /batches -------------------------------------------------------------------------
  app.post(
    "/batches",
    {
      schema: SCHEMAS.postBatches,
      bodyLimit: ctx.maxBatchListBytes,
      onRequest: requireMediaType("application/octet-stream", "WRONG_CONTENT_TYPE"),
      // The body is protobuf bytes: admission decodes and checks it, so the schema only documents.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const body = request.body;
      if (!(body instanceof Uint8Array) || body.length === 0) throw new ApiError("NO_BATCHES");
      let batchIds: readonly string[];
      try {
        ({ batchIds } = await node.admission.submit(
          new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        ));
      } catch (err) {
        if (!isGovchainError(err)) throw err;
        node.metrics.submissionsRejected.inc({ code: err.code });
        const response = submissionErrorResponse(err);
        if (err instanceof QueueFullError)
          reply.header("retry-after", String(err.retryAfterSeconds));
        ctx.logger.debug("batch submission refused", { reason: err.code, message: err.message });
        return reply.code(response.status).send(response.body);
      }
      node.metrics.batchesAdmitted.inc(batchIds.length);
      return reply
        .code(202)
        .send({ link: buildUrl(request, { id: batchIds.join(",") }, "/batch_statuses") });
    },
  );

  // ---- /batch_statuses ----------------------------------------------------------------------
  const statuses = async (
    ids: readonly string[],
    wait: string | undefined,
    reply: FastifyReply,
  ) => {
    const waitMs = waitMilliseconds(wait, ctx.maxWaitSeconds);
    const found =
      waitMs === undefined
        ? await chain.batchStatuses(ids)
        : await ctx.waits.run(reply, (signal) => chain.waitForBatches(ids, waitMs, signal));
    return found.map(renderBatchStatus);
  };

  app.get<{ Querystring: { id?: string; wait?: string } }>(
    "/batch_statuses",
    { schema: SCHEMAS.getBatchStatuses },
    async (request, reply) => {
      if (request.query.id === undefined) throw new ApiError("STATUS_ID_QUERY_INVALID");
      const ids = parseIdList(request.query.id) ?? [];
      const data = await statuses(ids, request.query.wait, reply);
      return reply.send({ data, link: buildUrl(request) });
    },
  );

  app.post<{ Querystring: { wait?: string }; Body: unknown }>(
    "/batch_statuses",
    {
      schema: SCHEMAS.postBatchStatuses,
      onRequest: requireMediaType("application/json", "STATUS_WRONG_CONTENT_TYPE"),
      preValidation: requireStringArray("STATUS_BODY_INVALID"),
    },
    async (request, reply) => {
      const ids = (request.body as string[]).map(checkResourceId);
      const data = await statuses(ids, request.query.wait, reply);
      return reply.send({ data });
    },
  );

  // ---- /state ------------------------------------------------------------------------------
  app.get<{ Querystring: StateListQuery }>(
    "/state",
    { schema: SCHEMAS.listState },
    async (request, reply) => {
      const { query } = request;
      const controls = pagingControls(query);
      const reversed = isReversed(query.reverse, "default");
      const head = await resolveHead(node, query.head);
      const root = head.header.stateRootHash;
      const prefix = query.address ?? "";
      const page = reversed
        ? await reversedStatePage(root, prefix, controls)
        : await forwardStatePage(root, prefix, controls);
      return sendPage(request, reply, head.id, controls, page, ([address, data]) => ({
        address,
        data: toBase64(data),
      }));
    },
  );

  type Entry = readonly [string, Uint8Array];

  const forwardStatePage = async (
    root: string,
    prefix: string,
    controls: PagingControls,
  ): Promise<PageResult<Entry>> => {
    const limit = effectiveLimit(controls);
    const page = await state.list(root, prefix, {
      ...(controls.start !== undefined ? { start: controls.start } : {}),
      limit,
    });
    const first = page.entries[0];
    if (controls.start !== undefined && first?.[0] !== controls.start) {
      throw new ApiError(
        "INVALID_PAGING",
        ` There is no state entry at ${controls.start} under the prefix.`,
      );
    }
    return {
      items: page.entries,
      ...(first !== undefined ? { start: first[0] } : {}),
      ...(page.next !== undefined ? { next: page.next } : {}),
    };
  };

  // The state tree lists in address order only, so a reversed page scans forward up to
  // `start` keeping the last limit + 1 entries: O(entries before start) time, O(limit) memory.
  const reversedStatePage = async (
    root: string,
    prefix: string,
    controls: PagingControls,
  ): Promise<PageResult<Entry>> => {
    const limit = effectiveLimit(controls);
    const window: Entry[] = [];
    let cursor: string | undefined;
    let reachedStart = false;
    for (;;) {
      const chunk = await state.list(root, prefix, {
        ...(cursor !== undefined ? { start: cursor } : {}),
        limit: 1000,
      });
      for (const entry of chunk.entries) {
        if (controls.start !== undefined && entry[0] > controls.start) {
          reachedStart = true;
          break;
        }
        window.push(entry);
        // Trimmed in bulk so each entry costs O(1) amortised.
        if (window.length > 2 * (limit + 1)) window.splice(0, window.length - (limit + 1));
        if (entry[0] === controls.start) reachedStart = true;
      }
      if (reachedStart || chunk.next === undefined) break;
      cursor = chunk.next;
    }
    const last = window[window.length - 1];
    if (controls.start !== undefined && last?.[0] !== controls.start) {
      throw new ApiError(
        "INVALID_PAGING",
        ` There is no state entry at ${controls.start} under the prefix.`,
      );
    }
    const ordered = window.slice(-(limit + 1)).reverse();
    const items = ordered.slice(0, limit);
    const after = ordered[limit];
    const first = items[0];
    return {
      items,
      ...(first !== undefined ? { start: first[0] } : {}),
      ...(after !== undefined ? { next: after[0] } : {}),
    };
  };

  app.get<{ Params: { address: string }; Querystring: { head?: string } }>(
    "/state/:address",
    { schema: SCHEMAS.getState },
    async (request, reply) => {
      const head = await resolveHead(node, request.query.head);
      const value = await state.get(head.header.stateRootHash, request.params.address);
      if (value === undefined)
        throw new ApiError("STATE_NOT_FOUND", ` (${request.params.address})`);
      return reply.send({
        data: toBase64(value),
        head: head.id,
        link: buildUrl(request, { head: head.id }),
      });
    },
  );

  // ---- /blocks, /batches, /transactions ---------------------------------------------------
  app.get<{ Querystring: ListQuery }>(
    "/blocks",
    { schema: SCHEMAS.listBlocks },
    async (request, reply) => {
      const { query } = request;
      const controls = pagingControls(query);
      const ids = parseIdList(query.id);
      const reversed = isReversed(query.reverse, "block_num");
      const head = await resolveHead(node, query.head);
      const page = ids
        ? await pageOfIds(
            ids,
            head,
            async (id) => {
              const block = await blocks.getBlock(id);
              return block ? { item: block, height: block.height } : undefined;
            },
            (block) => block.id,
            controls,
            reversed,
          )
        : await pageOfBlocks(blocks, head, controls, reversed);
      return sendPage(request, reply, head.id, controls, page, (block) => renderBlock(block.block));
    },
  );

  app.get<{ Params: { block_id: string } }>(
    "/blocks/:block_id",
    { schema: SCHEMAS.getBlock },
    async (request, reply) => {
      const block = await blocks.getBlock(checkResourceId(request.params.block_id));
      if (!block) throw new ApiError("BLOCK_NOT_FOUND", ` (${request.params.block_id})`);
      return reply.send({ data: renderBlock(block.block), link: buildUrl(request) });
    },
  );

  const committedBatch = async (id: string) => {
    const blockId = await blocks.batchBlockId(id);
    const block = blockId === undefined ? undefined : await blocks.getBlock(blockId);
    const batch = block?.block.batches.find((b) => b.headerSignature === id);
    return block && batch ? { item: batch, height: block.height } : undefined;
  };

  const committedTransaction = async (id: string) => {
    const location = await blocks.transactionLocation(id);
    const block = location ? await blocks.getBlock(location.blockId) : undefined;
    const tx = location
      ? block?.block.batches[location.batchIndex]?.transactions[location.transactionIndex]
      : undefined;
    return block && tx ? { item: tx, height: block.height } : undefined;
  };

  app.get<{ Querystring: ListQuery }>(
    "/batches",
    { schema: SCHEMAS.listBatches },
    async (request, reply) => {
      const { query } = request;
      const controls = pagingControls(query);
      const ids = parseIdList(query.id);
      const reversed = isReversed(query.reverse, "default");
      const head = await resolveHead(node, query.head);
      const page = ids
        ? await pageOfIds(ids, head, committedBatch, (b) => b.headerSignature, controls, reversed)
        : await pageOfBatches(blocks, head, controls, reversed);
      return sendPage(request, reply, head.id, controls, page, renderBatch);
    },
  );

  app.get<{ Params: { batch_id: string } }>(
    "/batches/:batch_id",
    { schema: SCHEMAS.getBatch },
    async (request, reply) => {
      const found = await committedBatch(checkResourceId(request.params.batch_id));
      if (!found) throw new ApiError("BATCH_NOT_FOUND", ` (${request.params.batch_id})`);
      return reply.send({ data: renderBatch(found.item), link: buildUrl(request) });
    },
  );

  app.get<{ Querystring: ListQuery }>(
    "/transactions",
    { schema: SCHEMAS.listTransactions },
    async (request, reply) => {
      const { query } = request;
      const controls = pagingControls(query);
      const ids = parseIdList(query.id);
      const reversed = isReversed(query.reverse, "default");
      const head = await resolveHead(node, query.head);
      const page = ids
        ? await pageOfIds(
            ids,
            head,
            committedTransaction,
            (t) => t.headerSignature,
            controls,
            reversed,
          )
        : await pageOfTransactions(blocks, head, controls, reversed);
      return sendPage(request, reply, head.id, controls, page, renderTransaction);
    },
  );

  app.get<{ Params: { transaction_id: string } }>(
    "/transactions/:transaction_id",
    { schema: SCHEMAS.getTransaction },
    async (request, reply) => {
      const found = await committedTransaction(checkResourceId(request.params.transaction_id));
      if (!found)
        throw new ApiError("TRANSACTION_NOT_FOUND", ` (${request.params.transaction_id})`);
      return reply.send({ data: renderTransaction(found.item), link: buildUrl(request) });
    },
  );

  // ---- /receipts ---------------------------------------------------------------------------
  const receipts = async (ids: readonly string[]) => {
    const out = [];
    for (const id of ids) {
      const receipt = await blocks.getReceipt(id);
      // Sawtooth answers 404 for the whole request when any receipt is missing.
      if (!receipt) throw new ApiError("RECEIPT_NOT_FOUND", ` (${id})`);
      out.push(renderReceipt(receipt));
    }
    return out;
  };

  app.get<{ Querystring: { id?: string; wait?: string } }>(
    "/receipts",
    { schema: SCHEMAS.getReceipts },
    async (request, reply) => {
      if (request.query.id === undefined) throw new ApiError("RECEIPT_ID_QUERY_INVALID");
      const ids = parseIdList(request.query.id) ?? [];
      return reply.send({ data: await receipts(ids), link: buildUrl(request) });
    },
  );

  app.post<{ Body: unknown }>(
    "/receipts",
    {
      schema: SCHEMAS.postReceipts,
      onRequest: requireMediaType("application/json", "RECEIPT_WRONG_CONTENT_TYPE"),
      preValidation: requireStringArray("RECEIPT_BODY_INVALID"),
    },
    async (request, reply) => {
      const ids = (request.body as string[]).map(checkResourceId);
      return reply.send({ data: await receipts(ids) });
    },
  );

  // ---- /peers, /status ---------------------------------------------------------------------
  const peerEndpoints = (): string[] =>
    node.status().peers.flatMap((peer) => {
      if (typeof peer === "string") return [peer];
      if (
        typeof peer === "object" &&
        peer !== null &&
        "endpoint" in peer &&
        typeof peer.endpoint === "string"
      )
        return [peer.endpoint];
      return [];
    });

  app.get("/peers", { schema: SCHEMAS.getPeers }, async (request, reply) =>
    reply.send({ data: peerEndpoints(), link: buildUrl(request) }),
  );

  app.get("/status", { schema: SCHEMAS.getSawtoothStatus }, async (request, reply) => {
    const self = node.genesis.validators.find((v) => v.publicKey === node.signer.publicKeyHex);
    return reply.send({
      data: {
        endpoint: self?.endpoint ?? "",
        peers: peerEndpoints()
          .sort()
          .map((endpoint) => ({ endpoint })),
      },
      link: buildUrl(request),
    });
  });
}
