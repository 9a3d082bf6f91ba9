/**
 * The node's HTTP server (fastify): Sawtooth's REST API, govchain's `/v1` endpoints, the
 * event WebSocket, `/metrics`, and the OpenAPI document with Swagger UI at `/docs`.
 *
 * Every failure leaves as the same envelope, `{"error": {code, title, message, reason}}`:
 * handler errors, schema violations (whose Sawtooth code is chosen by the field that failed),
 * body parser errors (413 for an oversized body, answered rather than cut off), unknown
 * routes. Internal errors are logged with their stack and answered with a neutral 500.
 */
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Clock } from "../common/clock.js";
import { errorMessage } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { DEFAULT_WIRE_LIMITS } from "../wire/index.js";
import {
  ApiError,
  type ApiErrorReason,
  ERROR_TABLE,
  type ErrorResponse,
  errorResponse,
  toErrorResponse,
} from "./errors.js";
import { createEventHub } from "./event-hub.js";
import { registerGovchainRoutes } from "./govchain-routes.js";
import { type ApiNode, clip, createWaitTracker, type RouteContext } from "./route-context.js";
import { registerSawtoothRoutes } from "./sawtooth-routes.js";
import { registerTraceRoutes } from "./trace-routes.js";

/** Options of `createApiServer`. */
export interface ApiServerOptions {
  readonly node: ApiNode;
  readonly logger: Logger;
  /** The node's clock (waits use the chain's timers; closing uses it for its grace period). */
  readonly clock: Clock;
  /** Largest `POST /batches` body; default 10 MiB (`DEFAULT_WIRE_LIMITS.maxBatchListBytes`). */
  readonly maxBatchListBytes?: number;
  /** Largest JSON body (`POST /batch_statuses`, `POST /receipts`); default 1 MiB. */
  readonly maxJsonBodyBytes?: number;
  /** Longest `?wait`, seconds; default 300 (Sawtooth's REST API timeout). */
  readonly maxWaitSeconds?: number;
  /** Event stream bounds. */
  readonly events?: {
    /** Send buffer per subscriber before it is disconnected; default 4 MiB. */
    readonly maxBufferedBytes?: number;
    /** Subscribers at once; default 256. */
    readonly maxSubscribers?: number;
  };
}

/** A created (not yet listening) API server. */
export interface ApiServer {
  /** The fastify instance, for `inject` in tests. */
  readonly fastify: FastifyInstance;
  /** Waits (`?wait`) in progress. */
  readonly activeWaits: number;
  /** Event stream subscribers connected. */
  readonly eventSubscribers: number;
  /** Starts listening; port 0 asks the OS for a free port. Resolves to the base URL. */
  listen(host: string, port: number): Promise<string>;
  /** Ends waits and event streams, then stops accepting and closes; idempotent. */
  close(): Promise<void>;
}

/** Which Sawtooth code a failed schema check gets, by the name of the failing field. */
const FIELD_REASONS: Readonly<Record<string, ApiErrorReason>> = {
  limit: "INVALID_COUNT",
  start: "INVALID_PAGING",
  reverse: "INVALID_SORT",
  head: "INVALID_RESOURCE_ID",
  id: "INVALID_RESOURCE_ID",
  block_id: "INVALID_RESOURCE_ID",
  batch_id: "INVALID_RESOURCE_ID",
  transaction_id: "INVALID_RESOURCE_ID",
  address: "INVALID_STATE_ADDRESS",
};

/** Reasons for body faults of the routes that take bodies (Sawtooth has one code per route). */
const BODY_REASONS: Readonly<Record<string, ApiErrorReason>> = {
  "/batches": "UNDECODABLE",
  "/batch_statuses": "STATUS_BODY_INVALID",
  "/receipts": "RECEIPT_BODY_INVALID",
};

/** Above this declared size an oversized body is not drained: the connection is closed instead. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

interface ValidationIssue {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: Readonly<Record<string, unknown>>;
}

function fieldOf(issue: ValidationIssue | undefined): string | undefined {
  if (!issue) return undefined;
  const missing = issue.params?.missingProperty;
  if (typeof missing === "string") return missing;
  const path = issue.instancePath ?? "";
  return path.split("/")[1];
}

function inputValue(request: FastifyRequest, context: string | undefined, field: string): unknown {
  const part: unknown =
    context === "params" ? request.params : context === "querystring" ? request.query : undefined;
  return typeof part === "object" && part !== null
    ? (part as Record<string, unknown>)[field]
    : undefined;
}

/** The envelope for a fastify error (schema, parser, framework) or a handler's error. */
function responseFor(err: FastifyError | Error, request: FastifyRequest): ErrorResponse {
  const fastifyError = err as Partial<FastifyError>;
  const route = request.routeOptions.url ?? "";
  const bodyReason = request.method === "POST" ? BODY_REASONS[route] : undefined;
  if (fastifyError.validation) {
    const issue: ValidationIssue | undefined = fastifyError.validation[0];
    const context = fastifyError.validationContext;
    if (context === "body")
      return errorResponse(
        bodyReason ?? "INVALID_REQUEST",
        `${ERROR_TABLE[bodyReason ?? "INVALID_REQUEST"].message} (${issue?.message ?? "invalid body"})`,
      );
    const field = fieldOf(issue) ?? "";
    const reason = FIELD_REASONS[field] ?? "INVALID_REQUEST";
    const value = inputValue(request, context, field);
    // Sawtooth appends the offending id to code 60's message; the other codes get the field.
    const detail =
      reason === "INVALID_RESOURCE_ID" && typeof value === "string"
        ? clip(value)
        : ` ('${field}' ${issue?.message ?? "is invalid"})`;
    return errorResponse(reason, `${ERROR_TABLE[reason].message}${detail}`);
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errorResponse(
        route === "/batches" ? "BATCH_LIST_TOO_LARGE" : "REQUEST_TOO_LARGE",
        `The request body is larger than the ${route === "/batches" ? "BatchList" : "request"} limit of this node.`,
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errorResponse("UNSUPPORTED_MEDIA_TYPE");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return errorResponse(
        bodyReason ?? "INVALID_REQUEST",
        `${ERROR_TABLE[bodyReason ?? "INVALID_REQUEST"].message} (${err.message})`,
      );
    default:
      break;
  }
  // Other client errors raised by fastify itself (bad URL encoding, bad headers): a 4xx.
  if (
    fastifyError.code?.startsWith("FST_") &&
    typeof fastifyError.statusCode === "number" &&
    fastifyError.statusCode < 500
  ) {
    return errorResponse(
      "INVALID_REQUEST",
      `${ERROR_TABLE.INVALID_REQUEST.message} (${err.message})`,
    );
  }
  return toErrorResponse(err);
}

/** Creates the API server for `node`. Nothing listens until `listen`. */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { node, logger } = options;
  const maxBatchListBytes = options.maxBatchListBytes ?? DEFAULT_WIRE_LIMITS.maxBatchListBytes;
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxJsonBodyBytes ?? 1024 * 1024,
    // Ids are 128 characters; junk longer than that still reaches a handler and gets code 60.
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: true },
    // A closing server still answers with our envelope (the handlers see `closing`).
    return503OnClosing: false,
    // Idle keep-alive connections close at once; requests in flight finish (waits are ended first).
    forceCloseConnections: "idle",
    ajv: { customOptions: { coerceTypes: "array", removeAdditional: false, allErrors: false } },
    frameworkErrors: (error, request, reply) => {
      sendError(reply, responseFor(error, request), error, request);
    },
  });

  const waits = createWaitTracker();
  const hub = createEventHub({
    logger: logger.child("events"),
    ...(options.events?.maxBufferedBytes !== undefined
      ? { maxBufferedBytes: options.events.maxBufferedBytes }
      : {}),
    ...(options.events?.maxSubscribers !== undefined
      ? { maxSubscribers: options.events.maxSubscribers }
      : {}),
  });
  const unsubscribe = node.chain.onCommit((event) => hub.publish(event));
  let closing = false;
  let closed: Promise<void> | undefined;

  const ctx: RouteContext = {
    node,
    logger,
    waits,
    hub,
    maxWaitSeconds: options.maxWaitSeconds ?? 300,
    maxBatchListBytes,
  };

  function sendError(
    reply: FastifyReply,
    response: ErrorResponse,
    err: unknown,
    request: FastifyRequest,
  ): void {
    if (response.internal) {
      logger.error("request failed", {
        method: request.method,
        url: clip(request.url),
        error: errorMessage(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
    }
    if (response.retryAfterSeconds !== undefined)
      reply.header("retry-after", String(response.retryAfterSeconds));
    reply.code(response.status).type("application/json").send(response.body);
  }

  // Responses are plain JSON.stringify: response schemas document, they never filter fields.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Any body type reaches the routes (which check the content type themselves) as bytes.
  app.addContentTypeParser(
    "application/octet-stream",
    { parseAs: "buffer" },
    (_request, body, done) => done(null, body),
  );
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  app.addHook("onRequest", async () => {
    if (closing) throw new ApiError("SHUTTING_DOWN");
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const response = responseFor(err, request);
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      // Fastify asks to close the connection; answering and letting Node discard the rest of a
      // moderately sized body keeps the client able to read the 413 instead of seeing a reset.
      const declared = Number(request.headers["content-length"]);
      if (Number.isFinite(declared) && declared <= MAX_DRAIN_BYTES)
        reply.removeHeader("connection");
    }
    sendError(reply, response, err, request);
  });

  app.setNotFoundHandler((request, reply) => {
    sendError(
      reply,
      errorResponse(
        "ROUTE_NOT_FOUND",
        `${ERROR_TABLE.ROUTE_NOT_FOUND.message} (${request.method} ${clip(request.url)})`,
      ),
      undefined,
      request,
    );
  });

  app.addHook("onResponse", async (request, reply) => {
    logger.debug("request", {
      method: request.method,
      route: request.routeOptions.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });

  void app.register(fastifySwagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "govchain REST API",
        description:
          "Hyperledger Sawtooth's REST API (same paths, JSON shapes, paging and error codes) plus govchain's `/v1` endpoints. Errors: `{error: {code, title, message, reason}}`.",
        version: "1.0.0",
      },
      tags: [
        { name: "sawtooth", description: "Sawtooth-compatible endpoints" },
        { name: "govchain", description: "govchain's own endpoints" },
      ],
    },
  });
  void app.register(fastifySwaggerUi, { routePrefix: "/docs" });
  void app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  // Routes go in a plugin registered after swagger, so swagger sees every one of them.
  void app.register(async (instance) => {
    registerSawtoothRoutes(instance, ctx);
    registerGovchainRoutes(instance, ctx);
    registerTraceRoutes(instance, ctx);
  });

  return {
    fastify: app,
    get activeWaits() {
      return waits.size;
    },
    get eventSubscribers() {
      return hub.size;
    },
    async listen(host, port) {
      const url = await app.listen({ host, port });
      logger.info("api listening", { url });
      return url;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        unsubscribe();
        // Waits and streams would otherwise hold fastify.close() open for minutes.
        waits.abortAll();
        hub.close();
        // Connections busy at close() would otherwise stay open until the keep-alive timeout
        // (72 s): give requests in flight a moment, then close whatever is left.
        const grace = options.clock.setTimer(2_000, () => app.server.closeAllConnections());
        try {
          await app.close();
        } finally {
          grace.cancel();
        }
      })();
      return closed;
    },
  };
}
