/**
 * Traceability endpoints (S4.7) over `APSChain` state at the chain head or any retained block:
 *
 * - `GET /v1/trace/{gtin}?lot=…` — the trace of a lot: upstream chain, downstream tree, every
 *   stage with time, organisation, location, transaction id and block height; paged
 *   (`maxNodes`, `cursor`), optionally with a state proof per stage (`proofs=true`). Without
 *   `lot`: the product and a page of its lots.
 * - `GET /v1/trace/{gtin}/qr?lot=…&format=svg|png` — the lot's GS1 Digital Link as a QR code.
 * - `GET /v1/trace/resolve?uri=…` — a scanned Digital Link URI resolved to the same trace.
 *
 * Errors use the API's envelope; `reason` names the precise condition (`INVALID_GTIN`,
 * `INVALID_CHECK_DIGIT`, `INVALID_LOT`, `INVALID_DIGITAL_LINK`, `INVALID_CURSOR`,
 * `INVALID_TRACE_OPTIONS` with 400; `UNKNOWN_PRODUCT`, `UNKNOWN_LOT` with 404).
 */
import type { FastifyInstance, FastifyReply, FastifySchema } from "fastify";
import { toBuffer as qrToBuffer, toString as qrToString } from "qrcode";
import { toHex } from "../common/bytes.js";
import { settingAddress, settingValue } from "../families/index.js";
import { TRACE_HISTORY_PAGES } from "../families/trace/index.js";
import {
  buildDigitalLink,
  DEFAULT_DIGITAL_LINK_RESOLVER,
  Gs1Error,
  type Gtin14,
  isDigitalLinkResolver,
  parseDigitalLink,
  parseGtin,
  parseLotNumber,
} from "../gs1/index.js";
import type { StoredBlock } from "../ledger/block-store.js";
import {
  listLots,
  MAX_TRACE_NODES,
  MAX_TRACE_STEPS,
  readProduct,
  requireTracedLot,
  type TraceDirection,
  TraceQueryError,
  traceCursorHead,
  traceLot,
} from "../trace/index.js";
import { type ApiErrorReason, ERROR_TABLE } from "./errors.js";
import { clip, type RouteContext, resolveHead } from "./route-context.js";
import { ID_PATTERN } from "./schemas.js";

/** Chain setting holding the Digital Link resolver (`host[:port][/path]`) for QR codes. */
export const DIGITAL_LINK_RESOLVER_SETTING = "apschain.digital_link.resolver";

/** Options of `registerTraceRoutes`. */
export interface TraceRouteOptions {
  /**
   * Resolver host of the Digital Links this node prints; when unset, the chain setting
   * `apschain.digital_link.resolver`, else `id.govchain.example`.
   */
  readonly resolver?: string;
  /** History ring size of the chain's `APSChain` family; default 0xffff. */
  readonly historyPages?: number;
}

/** The API reason (status, Sawtooth code, title) each trace/GS1 error code is answered with. */
const TRACE_ERROR_SPECS: Readonly<Record<string, ApiErrorReason>> = {
  INVALID_GTIN: "INVALID_REQUEST",
  INVALID_CHECK_DIGIT: "INVALID_REQUEST",
  INVALID_GLN: "INVALID_REQUEST",
  INVALID_COMPANY_PREFIX: "INVALID_REQUEST",
  INVALID_LOT: "INVALID_REQUEST",
  INVALID_DIGITAL_LINK: "INVALID_REQUEST",
  INVALID_CURSOR: "INVALID_REQUEST",
  INVALID_TRACE_OPTIONS: "INVALID_REQUEST",
  UNKNOWN_PRODUCT: "STATE_NOT_FOUND",
  UNKNOWN_LOT: "STATE_NOT_FOUND",
};

/**
 * Answers GS1 and trace errors with the envelope and their own `reason`; anything else goes
 * on to the server's error handler.
 */
async function answering<T>(
  reply: FastifyReply,
  handler: () => Promise<T>,
): Promise<T | FastifyReply> {
  try {
    return await handler();
  } catch (err) {
    if (!(err instanceof Gs1Error || err instanceof TraceQueryError)) throw err;
    const spec = ERROR_TABLE[TRACE_ERROR_SPECS[err.code] ?? "INVALID_REQUEST"];
    return reply
      .code(spec.status)
      .type("application/json")
      .send({
        error: { code: spec.code, title: spec.title, message: err.message, reason: err.code },
      });
  }
}

const govchain = ["govchain"];
const direction = {
  type: "string",
  enum: ["up", "down", "both"],
  default: "both",
  description: "`up`: towards the origins; `down`: to every destination; `both`",
} as const;
const traceQuery = {
  direction,
  maxNodes: {
    type: "integer",
    minimum: 1,
    maximum: MAX_TRACE_NODES,
    description: "Lots per page (default 200; at most 100 with proofs)",
  },
  maxSteps: {
    type: "integer",
    minimum: 0,
    maximum: MAX_TRACE_STEPS,
    description: "Versions shown per lot, newest kept (default 100)",
  },
  head: { type: "string", pattern: ID_PATTERN, description: "Block to read at (default: head)" },
  cursor: { type: "string", maxLength: 512, description: "`page.next` of the previous page" },
  proofs: {
    type: "boolean",
    default: false,
    description: "Attach the state proof of every stage's record version",
  },
} as const;
const traceResponse = {
  type: "object",
  description:
    "A page of the trace: `nodes` (origin, then upstream, then downstream, depth-first), `edges` (material flow), `locations`, `page` (cursor of the next page).",
  additionalProperties: true,
} as const;

const SCHEMAS = {
  trace: {
    tags: govchain,
    summary: "Trace a lot upstream to its origins and downstream to every destination",
    description:
      "Without `lot`: the product and a page of its lots (`limit`, `start`). With `lot`: one page of the lot's trace at block `head` (default: the chain head).",
    params: {
      type: "object",
      required: ["gtin"],
      properties: {
        gtin: { type: "string", maxLength: 64, description: "GTIN-8/12/13/14" },
      },
    },
    querystring: {
      type: "object",
      properties: {
        lot: { type: "string", maxLength: 64, description: "Batch/lot number (AI 10)" },
        ...traceQuery,
        limit: { type: "integer", minimum: 1, maximum: 1000, description: "Lots per listing page" },
        start: { type: "string", pattern: "^[0-9a-f]{70}$", description: "Listing position" },
      },
    },
    response: { 200: traceResponse },
  },
  qr: {
    tags: govchain,
    summary: "The GS1 Digital Link QR code of a lot",
    params: {
      type: "object",
      required: ["gtin"],
      properties: { gtin: { type: "string", maxLength: 64 } },
    },
    querystring: {
      type: "object",
      required: ["lot"],
      properties: {
        lot: { type: "string", maxLength: 64 },
        format: { type: "string", enum: ["svg", "png"], default: "svg" },
        size: {
          type: "integer",
          minimum: 64,
          maximum: 2048,
          default: 320,
          description: "PNG width in pixels",
        },
        head: traceQuery.head,
      },
    },
  },
  resolve: {
    tags: govchain,
    summary: "Resolve a GS1 Digital Link URI to the lot's trace",
    querystring: {
      type: "object",
      required: ["uri"],
      properties: {
        uri: { type: "string", maxLength: 2048, description: "e.g. https://id.gs1.org/01/…/10/…" },
        ...traceQuery,
      },
    },
    response: { 200: traceResponse },
  },
} as const satisfies Readonly<Record<string, FastifySchema>>;

interface TraceQuery {
  readonly direction?: TraceDirection;
  readonly maxNodes?: number;
  readonly maxSteps?: number;
  readonly head?: string;
  readonly cursor?: string;
  readonly proofs?: boolean;
}

/** Registers `/v1/trace/resolve`, `/v1/trace/{gtin}` and `/v1/trace/{gtin}/qr`. */
export function registerTraceRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  options: TraceRouteOptions = {},
): void {
  const { node } = ctx;
  const historyPages = options.historyPages ?? TRACE_HISTORY_PAGES;

  async function resolverAt(block: StoredBlock): Promise<string> {
    if (options.resolver !== undefined) return options.resolver;
    const address = settingAddress(DIGITAL_LINK_RESOLVER_SETTING);
    const value = settingValue(
      await node.state.get(block.header.stateRootHash, address),
      DIGITAL_LINK_RESOLVER_SETTING,
    );
    if (value !== undefined && isDigitalLinkResolver(value)) return value;
    if (value !== undefined)
      ctx.logger.warn("ignoring malformed digital link resolver setting", { value: clip(value) });
    return DEFAULT_DIGITAL_LINK_RESOLVER;
  }

  function blockInfo(block: StoredBlock, withHeader: boolean): Record<string, unknown> {
    return {
      id: block.id,
      height: block.height.toString(),
      stateRoot: block.header.stateRootHash,
      ...(withHeader
        ? {
            header: toHex(block.block.header),
            headerSignature: block.block.headerSignature,
            signerPublicKey: block.header.signerPublicKey,
          }
        : {}),
    };
  }

  /** The trace of a lot, as both `/v1/trace/{gtin}` and `/v1/trace/resolve` answer it. */
  async function traceResponseOf(
    gtin: Gtin14,
    lot: string,
    query: TraceQuery,
    url: (cursor: string, head: string) => string,
  ): Promise<Record<string, unknown>> {
    // A continuation reads the block its first page read, unless told otherwise.
    const head =
      query.head ?? (query.cursor !== undefined ? traceCursorHead(query.cursor) : undefined);
    const block = await resolveHead(node, head);
    const proofs = query.proofs === true;
    const result = await traceLot(node.state, block.header.stateRootHash, gtin, lot, {
      historyPages,
      head: block.id,
      proofs,
      ...(query.direction !== undefined ? { direction: query.direction } : {}),
      ...(query.maxNodes !== undefined ? { maxNodes: query.maxNodes } : {}),
      ...(query.maxSteps !== undefined ? { maxSteps: query.maxSteps } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    const certificate = proofs ? await node.blocks.getCertificate(block.id) : undefined;
    return {
      block: {
        ...blockInfo(block, proofs),
        ...(certificate !== undefined ? { certificate: toHex(certificate) } : {}),
      },
      digitalLink: buildDigitalLink({ gtin, lot }, await resolverAt(block)),
      ...result,
      page: {
        ...result.page,
        ...(result.page.next !== undefined ? { nextUrl: url(result.page.next, block.id) } : {}),
      },
    };
  }

  app.get<{ Querystring: TraceQuery & { uri: string } }>(
    "/v1/trace/resolve",
    { schema: SCHEMAS.resolve },
    async (request, reply) =>
      answering(reply, async () => {
        const key = parseDigitalLink(request.query.uri);
        if (key.lot === undefined)
          throw new Gs1Error(
            "INVALID_DIGITAL_LINK",
            "the Digital Link names no lot (/10/…): govchain traces lots",
          );
        const lot = key.lot;
        const body = await traceResponseOf(key.gtin, lot, request.query, (cursor, head) =>
          pageUrl("/v1/trace/resolve", { ...request.query, cursor, head }),
        );
        return reply.send({
          resolved: {
            gtin: key.gtin,
            lot,
            ...(key.serial !== undefined ? { serial: key.serial } : {}),
            attributes: key.attributes,
            resolver: key.resolver,
          },
          ...body,
        });
      }),
  );

  app.get<{
    Params: { gtin: string };
    Querystring: TraceQuery & { lot?: string; limit?: number; start?: string };
  }>("/v1/trace/:gtin", { schema: SCHEMAS.trace }, async (request, reply) =>
    answering(reply, async () => {
      const gtin = parseGtin(request.params.gtin);
      const { lot } = request.query;
      if (lot !== undefined) {
        const body = await traceResponseOf(
          gtin,
          parseLotNumber(lot),
          request.query,
          (cursor, head) => pageUrl(`/v1/trace/${gtin}`, { ...request.query, cursor, head }),
        );
        return reply.send(body);
      }
      const block = await resolveHead(node, request.query.head);
      const root = block.header.stateRootHash;
      const product = await readProduct(node.state, root, gtin);
      if (!product)
        throw new TraceQueryError("UNKNOWN_PRODUCT", `no product with GTIN ${gtin} is registered`);
      const listing = await listLots(node.state, root, gtin, {
        ...(request.query.limit !== undefined ? { limit: request.query.limit } : {}),
        ...(request.query.start !== undefined ? { start: request.query.start } : {}),
      });
      const { step: _step, seq: _seq, ...master } = product;
      return reply.send({
        block: blockInfo(block, false),
        product: master,
        lots: listing.lots,
        paging: {
          ...(listing.next !== undefined
            ? {
                next_position: listing.next,
                next: pageUrl(`/v1/trace/${gtin}`, {
                  ...request.query,
                  start: listing.next,
                  head: block.id,
                }),
              }
            : {}),
        },
      });
    }),
  );

  app.get<{
    Params: { gtin: string };
    Querystring: { lot: string; format?: "svg" | "png"; size?: number; head?: string };
  }>("/v1/trace/:gtin/qr", { schema: SCHEMAS.qr }, async (request, reply) =>
    answering(reply, async () => {
      const gtin = parseGtin(request.params.gtin);
      const lot = parseLotNumber(request.query.lot);
      const block = await resolveHead(node, request.query.head);
      // A code is only printed for a lot the chain knows, so a label never points nowhere.
      await requireTracedLot(node.state, block.header.stateRootHash, gtin, lot);
      const uri = buildDigitalLink({ gtin, lot }, await resolverAt(block));
      reply.header("x-digital-link", uri);
      if ((request.query.format ?? "svg") === "png") {
        const png = await qrToBuffer(uri, {
          type: "png",
          errorCorrectionLevel: "M",
          margin: 4,
          width: request.query.size ?? 320,
        });
        return reply.type("image/png").send(png);
      }
      const svg = await qrToString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 4 });
      return reply.type("image/svg+xml").send(svg);
    }),
  );
}

/** A URL of `path` with the query's parameters (undefined ones dropped). */
function pageUrl(path: string, query: Readonly<Record<string, unknown>>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null) params.set(k, String(v));
  return `${path}?${params.toString()}`;
}
