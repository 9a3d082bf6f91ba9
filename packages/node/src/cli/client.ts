/**
 * A small client of the node's REST API for the CLI, over Node's built-in `fetch`. It speaks
 * the Sawtooth-compatible endpoints (`/batches`, `/batch_statuses`, `/state`, `/blocks`) and
 * govchain's own (`/v1/status`, `/v1/proof/{address}`). Responses are checked with zod before
 * use, because the CLI also talks to nodes of other versions; every failure becomes a
 * `GovchainError` with a code (the API's own code when it sent one).
 */
import { z } from "zod";
import { fromBase64 } from "../common/bytes.js";
import { GovchainError } from "../common/errors.js";
import { CliErrorCode, cliError } from "./errors.js";

/** Default REST API URL of a local node. */
export const DEFAULT_API_URL = "http://127.0.0.1:8008";

/** Default bound of one request, not counting a batch-status long poll. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Options of `createApiClient`. */
export interface ApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8008`. */
  readonly url: string;
  /** Aborts every request (the CLI's SIGINT). */
  readonly signal?: AbortSignal;
  /** Bound of one request in milliseconds; default 30,000. */
  readonly timeoutMs?: number;
}

/** A batch's status as the API reports it. */
export interface BatchStatusView {
  readonly id: string;
  readonly status: "COMMITTED" | "INVALID" | "PENDING" | "UNKNOWN";
  readonly invalidTransactions: readonly { readonly id: string; readonly message: string }[];
}

/** A state entry. */
export interface StateEntry {
  readonly address: string;
  readonly value: Uint8Array;
}

/** A block as the CLI shows it. */
export interface BlockView {
  readonly id: string;
  readonly height: bigint;
  readonly previousId: string;
  readonly signerPublicKey: string;
  readonly stateRoot: string;
  readonly batchIds: readonly string[];
  readonly transactionCount: number;
  /** The Sawtooth JSON as received, for `--json`. */
  readonly raw: unknown;
}

/** One page of a listing. */
export interface Page<T> {
  readonly items: readonly T[];
  /** Block id the listing was read at. */
  readonly head: string | undefined;
  /** Start token of the next page, if any. */
  readonly next: string | undefined;
}

/** The document `GET /v1/proof/{address}` returns and `proof verify` checks. */
export interface ProofDocument {
  readonly address: string;
  readonly block: {
    readonly id: string;
    readonly height: string | number;
    /** Hex of the block header bytes the signature covers. */
    readonly header: string;
    readonly headerSignature: string;
    readonly signerPublicKey: string;
    readonly stateRoot: string;
  };
  readonly proof: unknown;
}

/** The client. */
export interface ApiClient {
  readonly url: string;
  /** `GET /v1/status`. */
  status(): Promise<NodeStatusView>;
  /** `POST /batches` with an encoded BatchList. */
  submitBatches(batchList: Uint8Array): Promise<void>;
  /** `GET /batch_statuses`, long-polling up to `waitSeconds` when given. */
  batchStatuses(ids: readonly string[], waitSeconds?: number): Promise<BatchStatusView[]>;
  /** `GET /state/{address}`; undefined when the address has no value. */
  getState(
    address: string,
    head?: string,
  ): Promise<{ value: Uint8Array; head: string | undefined } | undefined>;
  /** `GET /state?address=prefix`. */
  listState(
    prefix: string,
    options?: { limit?: number; head?: string; start?: string },
  ): Promise<Page<StateEntry>>;
  /** `GET /blocks`, newest first. */
  listBlocks(options?: { limit?: number; start?: string }): Promise<Page<BlockView>>;
  /** `GET /blocks/{id}`; undefined when unknown. */
  getBlock(id: string): Promise<BlockView | undefined>;
  /** `GET /v1/proof/{address}`. */
  getProof(address: string, head?: string): Promise<ProofDocument>;
  /** Any GET returning JSON (e.g. `/v1/trace/…`), the body as it came. */
  getJson(pathAndQuery: string): Promise<unknown>;
}

/** What `/v1/status` reports (the fields the CLI uses; others pass through). */
export const nodeStatusSchema = z.looseObject({
  nodeId: z.string(),
  chainId: z.string(),
  suite: z.string(),
  height: z.union([z.string(), z.number()]).transform(String),
  head: z.string(),
  stateRoot: z.string(),
});

/** A parsed `/v1/status`. */
export type NodeStatusView = z.infer<typeof nodeStatusSchema>;

const errorBody = z.object({
  error: z.looseObject({
    code: z.union([z.string(), z.number()]).optional(),
    title: z.string().optional(),
    message: z.string().optional(),
    /** govchain's stable error code beside Sawtooth's numeric one. */
    reason: z.string().optional(),
  }),
});

const pagingSchema = z
  .looseObject({
    next_position: z.union([z.string(), z.number()]).optional(),
    next: z.string().optional(),
  })
  .optional();

const batchStatusesBody = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string(),
      status: z.enum(["COMMITTED", "INVALID", "PENDING", "UNKNOWN"]),
      invalid_transactions: z
        .array(z.looseObject({ id: z.string(), message: z.string().default("") }))
        .default([]),
    }),
  ),
});

const stateBody = z.looseObject({ data: z.string(), head: z.string().optional() });

const stateListBody = z.looseObject({
  data: z.array(z.looseObject({ address: z.string(), data: z.string() })),
  head: z.string().optional(),
  paging: pagingSchema,
});

const blockSchema = z.looseObject({
  header: z.looseObject({
    block_num: z.union([z.string(), z.number()]),
    previous_block_id: z.string(),
    signer_public_key: z.string(),
    batch_ids: z.array(z.string()).default([]),
    state_root_hash: z.string(),
  }),
  header_signature: z.string(),
  batches: z.array(z.looseObject({ transactions: z.array(z.unknown()).default([]) })).default([]),
});

const blockBody = z.looseObject({ data: blockSchema });
const blockListBody = z.looseObject({
  data: z.array(blockSchema),
  head: z.string().optional(),
  paging: pagingSchema,
});

const proofBody = z.looseObject({
  address: z.string(),
  block: z.looseObject({
    id: z.string(),
    height: z.union([z.string(), z.number()]),
    header: z.string(),
    headerSignature: z.string(),
    signerPublicKey: z.string(),
    stateRoot: z.string(),
  }),
  proof: z.unknown(),
});

function toBlockView(raw: z.infer<typeof blockSchema>): BlockView {
  return {
    id: raw.header_signature,
    height: BigInt(raw.header.block_num),
    previousId: raw.header.previous_block_id,
    signerPublicKey: raw.header.signer_public_key,
    stateRoot: raw.header.state_root_hash,
    batchIds: raw.header.batch_ids,
    transactionCount: raw.batches.reduce((n, b) => n + b.transactions.length, 0),
    raw,
  };
}

function nextOf(paging: z.infer<typeof pagingSchema>): string | undefined {
  if (paging?.next_position === undefined || paging.next_position === "") return undefined;
  return String(paging.next_position);
}

/** The error a failed `fetch` stands for: an unreachable node, a timeout or an abort. */
function transportError(err: unknown, url: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return cliError(CliErrorCode.INTERRUPTED, "interrupted");
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return cliError(
      CliErrorCode.API_TIMEOUT,
      `the govchain API at ${url} did not answer in time`,
      { url },
      err,
    );
  }
  const cause = err instanceof Error ? err.cause : undefined;
  const code =
    typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
      ? cause.code
      : undefined;
  const why =
    code === "ECONNREFUSED"
      ? "connection refused"
      : (code ?? (err instanceof Error ? err.message : "failed"));
  return cliError(
    CliErrorCode.API_UNREACHABLE,
    `cannot reach the govchain API at ${url} (${why}); is a node running? Start one with \`govchain up\` or pass --url`,
    { url, reason: why },
    err,
  );
}

/** Creates an API client for `options.url`. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.url.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const request = async (
    path: string,
    init: { method?: string; body?: Uint8Array; extraMs?: number; allow404?: boolean } = {},
  ): Promise<unknown> => {
    const url = `${base}${path}`;
    const signals = [AbortSignal.timeout(timeoutMs + (init.extraMs ?? 0))];
    if (options.signal) signals.push(options.signal);
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? "GET",
        signal: AbortSignal.any(signals),
        headers: init.body
          ? { "content-type": "application/octet-stream", accept: "application/json" }
          : { accept: "application/json" },
        ...(init.body ? { body: init.body } : {}),
      });
    } catch (err) {
      throw transportError(err, base, options.signal);
    }
    const text = await response.text().catch(() => "");
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) return body;
    if (response.status === 404 && init.allow404) return undefined;
    const parsed = errorBody.safeParse(body);
    if (parsed.success) {
      const { code, title, message, reason } = parsed.data.error;
      const codeText =
        reason ??
        (typeof code === "string"
          ? code
          : response.status === 404
            ? CliErrorCode.NOT_FOUND
            : CliErrorCode.API_ERROR);
      throw new GovchainError(codeText, message ?? title ?? `HTTP ${response.status}`, {
        status: response.status,
        url,
        ...(typeof code === "number" ? { apiCode: code } : {}),
      });
    }
    throw cliError(
      response.status === 404 ? CliErrorCode.NOT_FOUND : CliErrorCode.API_ERROR,
      `${init.method ?? "GET"} ${path} failed: HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ""}`,
      { status: response.status, url },
    );
  };

  const parse = <T>(schema: z.ZodType<T>, body: unknown, what: string): T => {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    throw cliError(
      CliErrorCode.API_BAD_RESPONSE,
      `unexpected answer from ${what} at ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "schema mismatch"}`,
      { url: base },
    );
  };

  const query = (params: Record<string, string | number | undefined>): string => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, String(v));
    const text = search.toString();
    return text ? `?${text}` : "";
  };

  return {
    url: base,

    async status() {
      return parse(nodeStatusSchema, await request("/v1/status"), "/v1/status");
    },

    async submitBatches(batchList) {
      await request("/batches", { method: "POST", body: batchList });
    },

    async batchStatuses(ids, waitSeconds) {
      const wait =
        waitSeconds !== undefined && waitSeconds > 0 ? Math.ceil(waitSeconds) : undefined;
      const body = await request(`/batch_statuses${query({ id: ids.join(","), wait })}`, {
        extraMs: (wait ?? 0) * 1000,
      });
      return parse(batchStatusesBody, body, "/batch_statuses").data.map((s) => ({
        id: s.id,
        status: s.status,
        invalidTransactions: s.invalid_transactions.map((t) => ({ id: t.id, message: t.message })),
      }));
    },

    async getState(address, head) {
      const body = await request(`/state/${address}${query({ head })}`, { allow404: true });
      if (body === undefined) return undefined;
      const parsed = parse(stateBody, body, "/state/{address}");
      return { value: fromBase64(parsed.data), head: parsed.head };
    },

    async listState(prefix, listOptions = {}) {
      const body = await request(
        `/state${query({ address: prefix || undefined, limit: listOptions.limit, head: listOptions.head, start: listOptions.start })}`,
      );
      const parsed = parse(stateListBody, body, "/state");
      return {
        items: parsed.data.map((e) => ({ address: e.address, value: fromBase64(e.data) })),
        head: parsed.head,
        next: nextOf(parsed.paging),
      };
    },

    async listBlocks(listOptions = {}) {
      const body = await request(
        `/blocks${query({ limit: listOptions.limit, start: listOptions.start })}`,
      );
      const parsed = parse(blockListBody, body, "/blocks");
      return {
        items: parsed.data.map(toBlockView),
        head: parsed.head,
        next: nextOf(parsed.paging),
      };
    },

    async getBlock(id) {
      const body = await request(`/blocks/${id}`, { allow404: true });
      if (body === undefined) return undefined;
      return toBlockView(parse(blockBody, body, "/blocks/{id}").data);
    },

    async getProof(address, head) {
      const body = await request(`/v1/proof/${address}${query({ head })}`);
      return parse(proofBody, body, "/v1/proof/{address}");
    },

    getJson: (pathAndQuery) => request(pathAndQuery),
  };
}
