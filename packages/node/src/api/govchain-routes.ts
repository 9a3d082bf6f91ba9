/**
 * govchain's own endpoints beside Sawtooth's: node status, state proofs a client can check
 * against the genesis file alone, the WebSocket event stream, and Prometheus metrics.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { toHex } from "../common/bytes.js";
import { ApiError } from "./errors.js";
import type { EventSocket } from "./event-hub.js";
import { type RouteContext, resolveHead } from "./route-context.js";
import { SCHEMAS } from "./schemas.js";

/** Most prefixes in one subscription filter. */
const MAX_FILTER_PREFIXES = 64;

/** Longest prefix in a subscription filter. */
const MAX_PREFIX_LENGTH = 256;

/** A client's subscription message on `/v1/events`. */
const subscribeMessage = z.strictObject({
  type: z.literal("subscribe"),
  eventTypes: z.array(z.string().max(MAX_PREFIX_LENGTH)).max(MAX_FILTER_PREFIXES),
});

/** The `types` query of `/v1/events` as a prefix list (empty: everything). */
export function parseTypesQuery(raw: string | undefined): string[] {
  if (raw === undefined || raw === "") return [];
  const prefixes = raw.split(",").filter((p) => p.length > 0);
  if (prefixes.length > MAX_FILTER_PREFIXES || prefixes.some((p) => p.length > MAX_PREFIX_LENGTH)) {
    throw new ApiError(
      "INVALID_REQUEST",
      ` At most ${MAX_FILTER_PREFIXES} event type prefixes of ${MAX_PREFIX_LENGTH} characters.`,
    );
  }
  return prefixes;
}

/** The `ws` socket events the stream listens to (ws has no bundled types). */
interface StreamSocket extends EventSocket {
  on(
    event: "message",
    listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): void;
  on(event: "close", listener: () => void): void;
}

function textOf(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString("utf8");
}

/** Registers `/v1/status`, `/v1/proof/{address}`, `/v1/events` and `/metrics`. */
export function registerGovchainRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { node, hub, logger } = ctx;

  app.get("/v1/status", { schema: SCHEMAS.getNodeStatus }, async (_request, reply) => {
    if (!node.blocks.head()) throw new ApiError("NO_GENESIS");
    return reply.send(node.status());
  });

  app.get<{ Params: { address: string }; Querystring: { head?: string } }>(
    "/v1/proof/:address",
    { schema: SCHEMAS.getProof },
    async (request, reply) => {
      const block = await resolveHead(node, request.query.head);
      const stateRoot = block.header.stateRootHash;
      const proof = await node.state.prove(stateRoot, request.params.address);
      const certificate = await node.blocks.getCertificate(block.id);
      return reply.send({
        address: request.params.address,
        block: {
          id: block.id,
          height: block.height.toString(),
          header: toHex(block.block.header),
          headerSignature: block.block.headerSignature,
          signerPublicKey: block.header.signerPublicKey,
          stateRoot,
          ...(certificate !== undefined ? { certificate: toHex(certificate) } : {}),
        },
        proof,
      });
    },
  );

  app.route<{ Querystring: { types?: string } }>({
    method: "GET",
    url: "/v1/events",
    schema: SCHEMAS.events,
    // A plain GET (no Upgrade header) cannot stream: say so in the error envelope.
    handler: async () => {
      throw new ApiError("UPGRADE_REQUIRED");
    },
    wsHandler: (
      socket: StreamSocket,
      request: FastifyRequest<{ Querystring: { types?: string } }>,
    ) => {
      let prefixes: string[];
      try {
        prefixes = parseTypesQuery(request.query.types);
      } catch (err) {
        socket.close(1008, err instanceof Error ? err.message.slice(0, 120) : "invalid filter");
        return;
      }
      const subscriber = hub.add(socket, prefixes);
      if (!subscriber) return;
      const acknowledge = (eventTypes: readonly string[]): void =>
        socket.send(JSON.stringify({ type: "subscribed", eventTypes }));
      socket.on("close", () => subscriber.remove());
      socket.on("message", (data, isBinary) => {
        const parsed = isBinary ? undefined : subscribeMessage.safeParse(safeJson(textOf(data)));
        if (!parsed?.success) {
          socket.send(
            JSON.stringify({
              type: "error",
              message: `expected {"type":"subscribe","eventTypes":[prefix, …]} with at most ${MAX_FILTER_PREFIXES} prefixes`,
            }),
          );
          return;
        }
        const next = parsed.data.eventTypes.filter((p) => p.length > 0);
        subscriber.setFilter(next);
        acknowledge(next);
      });
      acknowledge(prefixes);
      logger.debug("event subscriber connected", { prefixes, subscribers: hub.size });
    },
  });

  app.get("/metrics", { schema: SCHEMAS.metrics }, async (_request, reply) => {
    const { registry } = node.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
