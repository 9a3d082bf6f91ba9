/**
 * Trace chains (S4.7) built from `APSChain` state at one state root: upstream from a lot to its
 * origins (following `pre_product_id`) and downstream to every destination (following
 * `dir_product_id`), each lot shown with the versions of its record — every stage's time,
 * organisation, location, transaction id and block height.
 *
 * The graph is walked depth-first in a fixed order: the origin lot, then the upstream walk,
 * then the downstream walk, each in pre-order with links in stored order. A visited set makes
 * diamonds (merges, multi-input transformations) appear once and cycles (impossible through the
 * family, but state is only data) terminate. Large graphs are paged: a page holds at most
 * `maxNodes` lots and its cursor is the position in that fixed order plus the state root, so
 * every page of one trace reads the same state. Memory per page is the visited set (one key per
 * lot up to the page's end), the DFS stack, and the page's own nodes; skipped lots cost one
 * record read each and are never kept.
 */
import { decode } from "cborg";
import { fromBase64, fromUtf8, toBase64, utf8 } from "../common/bytes.js";
import { decodeCbor } from "../common/cbor.js";
import {
  type Certificate,
  decodeLocationRecord,
  decodeLotRecord,
  decodeProductRecord,
  historyPagesNewestFirst,
  type LotLink,
  type LotRecord,
  lotKey,
  lotRecordSchema,
  type ProductRecord,
  TRACE_HISTORY_PAGES,
  traceLocationAddress,
  traceLotAddress,
  traceLotsOfGtinPrefix,
  traceProductAddress,
} from "../families/trace/index.js";
import { type Gtin14, parseLotNumber } from "../gs1/index.js";
import type { StateProof, StateRoot, StateTree } from "../state/interface.js";
import { TraceErrorCode, TraceQueryError } from "./errors.js";

/** Which way a trace goes. */
export type TraceDirection = "up" | "down" | "both";

/** Default lots per page. */
export const DEFAULT_TRACE_NODES = 200;
/** Most lots per page. */
export const MAX_TRACE_NODES = 10_000;
/** Most lots per page when every step carries a state proof. */
export const MAX_TRACE_NODES_WITH_PROOFS = 100;
/** Default versions shown per lot (the newest; the current record counts as one). */
export const DEFAULT_TRACE_STEPS = 100;
/** Most versions shown per lot. */
export const MAX_TRACE_STEPS = 1000;

/** Options of `traceLot`. */
export interface TraceOptions {
  /** Default `both`. */
  readonly direction?: TraceDirection;
  /** Lots per page; default 200, at most 10,000 (100 with proofs). */
  readonly maxNodes?: number;
  /** Versions per lot, newest kept; default 100, 0…1000 (0: no steps). */
  readonly maxSteps?: number;
  /** Continue after a previous page (its `page.next`). */
  readonly cursor?: string;
  /** Attach to every step the state proof of the record version it was read from. */
  readonly proofs?: boolean;
  /** History ring size the chain's family uses; default 0xffff. */
  readonly historyPages?: number;
  /**
   * Id of the block whose state `root` is, recorded in cursors so that a continuation can find
   * its block again (`traceCursorHead`).
   */
  readonly head?: string;
  /** Stops the walk between lots. */
  readonly signal?: AbortSignal;
}

/** A lot reference in a result. */
export interface TraceLotRef {
  readonly gtin: string;
  readonly lot: string;
  /** GS1 element string `01{gtin}10{lot}`, the node key. */
  readonly key: string;
}

/** One version of a lot's record: the stage that produced it. */
export interface TraceStep {
  readonly action: string;
  /** Block time, ms since the Unix epoch. */
  readonly at: number;
  /** The same time in ISO 8601 (UTC). */
  readonly time: string;
  /** The organisation that acted. */
  readonly organisationId: string;
  /** The signer's public key. */
  readonly signer: string;
  readonly transactionId: string;
  readonly blockHeight: number;
  /** Where the lot was after the step (GLN), if anywhere. */
  readonly location: string | null;
  readonly ownerOrg: string;
  readonly custodianOrg: string;
  readonly status: string;
  /** Lot quantity after the step. */
  readonly quantity: number;
  /** Quantity the step moved, split off, consumed or sold. */
  readonly amount?: number;
  /** The organisation on the other side (offers). */
  readonly counterpart?: string;
  readonly note?: string;
  /** State address the version was read from (page 0000 = current). */
  readonly address: string;
  readonly page: number;
  /** With `proofs`: the inclusion proof of `address` under the trace's state root. */
  readonly proof?: StateProof;
}

/** A lot in a trace. */
export interface TraceNode extends TraceLotRef {
  /** `origin` for the traced lot; `upstream`/`downstream` for the others. */
  readonly relation: "origin" | "upstream" | "downstream";
  /** Links from the origin. */
  readonly depth: number;
  /** Key of the lot through which the walk first reached this one. */
  readonly via?: string;
  /** True when a link points at a lot whose record is absent or unreadable (damaged state). */
  readonly missing?: true;
  readonly product?: {
    readonly name: string;
    readonly productType: string;
    readonly organisationId: string;
  };
  readonly status?: string;
  readonly quantity?: number;
  readonly unit?: string;
  readonly initialQuantity?: number;
  readonly ownerOrg?: string;
  readonly custodianOrg?: string;
  /** S4.2's seven coded fields, as stored. */
  readonly gs1?: {
    readonly owner: string;
    readonly product_id: string;
    readonly pre_product_id: readonly LotLink[];
    readonly dir_product_id: readonly LotLink[];
    readonly location: string | null;
    readonly pre_location: string | null;
    readonly dir_location: string | null;
  };
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  readonly certificates?: readonly Certificate[];
  /** Versions, oldest first (the last is the current record). */
  readonly steps: readonly TraceStep[];
  /** Older versions still stored but beyond `maxSteps`. */
  readonly stepsOmitted: number;
  /** Versions overwritten by the history ring's wrap-around. */
  readonly stepsLost: number;
}

/** Material flow between two lots, in the upstream lot's unit. */
export interface TraceEdge {
  readonly from: string;
  readonly to: string;
  readonly quantity: number;
}

/** A page of a trace. */
export interface TraceResult {
  readonly stateRoot: StateRoot;
  readonly direction: TraceDirection;
  readonly origin: TraceLotRef;
  readonly nodes: readonly TraceNode[];
  /** Links of this page's lots (either end may be on another page). */
  readonly edges: readonly TraceEdge[];
  /** Locations named by this page's lots and steps, by GLN. */
  readonly locations: Readonly<
    Record<
      string,
      { readonly name: string; readonly kind: string; readonly organisationId: string }
    >
  >;
  readonly page: {
    /** Position of the first node in the walk order. */
    readonly offset: number;
    readonly count: number;
    readonly maxNodes: number;
    /** True when no lot follows this page. */
    readonly complete: boolean;
    /** Cursor of the next page, when there is one. */
    readonly next?: string;
  };
}

interface Visit {
  readonly gtin: string;
  readonly lot: string;
  readonly relation: TraceNode["relation"];
  readonly depth: number;
  readonly via?: string;
  /** The decoded record (the origin's). */
  readonly record?: LotRecord;
  /** The stored record, decoded only if the lot lands on the page. */
  readonly bytes?: Uint8Array;
}

interface CursorBody {
  readonly v: 1;
  readonly root: string;
  readonly head?: string;
  readonly offset: number;
  readonly direction: TraceDirection;
  readonly key: string;
}

/** Encodes a cursor (opaque to clients: base64url of a small JSON object). */
function encodeCursor(body: CursorBody): string {
  return toBase64(utf8(JSON.stringify(body)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Decodes and checks a cursor against the query it continues. */
export function decodeTraceCursor(
  cursor: string,
  expected: { readonly key: string; readonly direction: TraceDirection },
): { readonly root: string; readonly offset: number } {
  const invalid = (why: string): never => {
    throw new TraceQueryError(TraceErrorCode.INVALID_CURSOR, `invalid trace cursor: ${why}`);
  };
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return invalid("malformed");
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8(fromBase64(cursor.replaceAll("-", "+").replaceAll("_", "/"))));
  } catch {
    return invalid("malformed");
  }
  if (typeof body !== "object" || body === null) return invalid("malformed");
  const b = body as Partial<Record<keyof CursorBody, unknown>>;
  if (
    b.v !== 1 ||
    typeof b.root !== "string" ||
    !/^[0-9a-f]{64}$/.test(b.root) ||
    typeof b.offset !== "number" ||
    !Number.isSafeInteger(b.offset) ||
    b.offset < 0
  )
    return invalid("malformed");
  if (b.key !== expected.key || b.direction !== expected.direction)
    return invalid("it belongs to a trace of another lot or direction");
  return { root: b.root, offset: b.offset };
}

/** The block id a cursor was made at (when the trace named one), without further checks. */
export function traceCursorHead(cursor: string): string | undefined {
  try {
    const body: unknown = JSON.parse(
      fromUtf8(fromBase64(cursor.replaceAll("-", "+").replaceAll("_", "/"))),
    );
    const head = (body as { head?: unknown } | null)?.head;
    return typeof head === "string" && /^[0-9a-f]{128}$/.test(head) ? head : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a lot's current record at `root`. */
export async function readLot(
  state: StateTree,
  root: StateRoot,
  gtin: string,
  lot: string,
): Promise<LotRecord | undefined> {
  const bytes = await state.get(root, traceLotAddress(gtin, lot));
  return bytes ? decodeLotRecord(bytes) : undefined;
}

/** Reads a product's current record at `root`. */
export async function readProduct(
  state: StateTree,
  root: StateRoot,
  gtin: string,
): Promise<ProductRecord | undefined> {
  const bytes = await state.get(root, traceProductAddress(gtin));
  return bytes ? decodeProductRecord(bytes) : undefined;
}

/**
 * The lot's current record, or `UNKNOWN_PRODUCT` / `UNKNOWN_LOT` naming which of the two is
 * missing.
 */
export async function requireTracedLot(
  state: StateTree,
  root: StateRoot,
  gtin: Gtin14,
  lot: string,
): Promise<LotRecord> {
  const record = await readLot(state, root, gtin, parseLotNumber(lot));
  if (record) return record;
  if (!(await readProduct(state, root, gtin)))
    throw new TraceQueryError(
      TraceErrorCode.UNKNOWN_PRODUCT,
      `no product with GTIN ${gtin} is registered`,
      { gtin },
    );
  throw new TraceQueryError(TraceErrorCode.UNKNOWN_LOT, `product ${gtin} has no lot ${lot}`, {
    gtin,
    lot,
  });
}

/** A lot of a product, as listed. */
export interface LotSummary {
  readonly lot: string;
  readonly status: string;
  readonly quantity: number;
  readonly unit: string;
  readonly ownerOrg: string;
  readonly custodianOrg: string;
  readonly location: string | null;
}

/** Hex `prefix` + 1 (same length), or undefined past `ff…f`. */
function nextHexPrefix(prefix: string): string | undefined {
  const digits = prefix.split("");
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = Number.parseInt(digits[i] ?? "0", 16);
    if (d < 15) {
      digits[i] = (d + 1).toString(16);
      return digits.join("");
    }
    digits[i] = "0";
  }
  return undefined;
}

/**
 * Lots of a GTIN at `root`, in address order, `limit` at a time. Each lot's history pages are
 * jumped over (one listing per lot), so a lot with a long history costs no more than any other.
 * `next` is the `start` of the following page.
 */
export async function listLots(
  state: StateTree,
  root: StateRoot,
  gtin: Gtin14,
  options: { readonly limit?: number; readonly start?: string } = {},
): Promise<{ readonly lots: readonly LotSummary[]; readonly next?: string }> {
  const limit = Math.max(1, Math.min(options.limit ?? 100, 1000));
  const prefix = traceLotsOfGtinPrefix(gtin);
  let start = options.start;
  const lots: LotSummary[] = [];
  while (lots.length < limit) {
    const page = await state.list(root, prefix, {
      ...(start !== undefined ? { start } : {}),
      limit: 1,
    });
    const entry = page.entries[0];
    if (!entry) return { lots };
    const [address, bytes] = entry;
    if (address.endsWith("0000")) {
      const record = decodeLotRecord(bytes);
      lots.push({
        lot: record.lot,
        status: record.status,
        quantity: record.quantity,
        unit: record.unit,
        ownerOrg: record.ownerOrg,
        custodianOrg: record.custodianOrg,
        location: record.location,
      });
    }
    const following = nextHexPrefix(address.slice(0, 66));
    if (following === undefined || !following.startsWith(prefix)) return { lots };
    start = `${following}0000`;
  }
  // One more probe so that `next` is only offered when a lot follows.
  const probe = await state.list(root, prefix, {
    ...(start !== undefined ? { start } : {}),
    limit: 1,
  });
  return probe.entries.length > 0 && start !== undefined ? { lots, next: start } : { lots };
}

/** The `{gtin, lot}` links of a stored lot record, read without decoding the rest of it. */
function linksIn(bytes: Uint8Array, field: "pre_product_id" | "dir_product_id"): LotLinkKey[] {
  // Walking a large graph reads every lot once per page; a full schema decode of each would
  // cost several times the state reads, so only the links are picked out here.
  let raw: unknown;
  try {
    raw = decode(bytes, { useMaps: true });
  } catch {
    return [];
  }
  const links = raw instanceof Map ? raw.get(field) : undefined;
  if (!Array.isArray(links)) return [];
  const out: LotLinkKey[] = [];
  for (const l of links) {
    if (!(l instanceof Map)) continue;
    const gtin: unknown = l.get("gtin");
    const lot: unknown = l.get("lot");
    if (typeof gtin === "string" && typeof lot === "string") out.push({ gtin, lot });
  }
  return out;
}

interface LotLinkKey {
  readonly gtin: string;
  readonly lot: string;
}

/**
 * The walk of one direction from the origin, depth-first, pre-order, each lot once. The
 * records of a lot's links are fetched together (one `getMany`) when the lot is expanded.
 */
async function* walk(
  state: StateTree,
  root: StateRoot,
  origin: LotRecord,
  relation: "upstream" | "downstream",
  visited: Set<string>,
): AsyncGenerator<Visit> {
  const field = relation === "upstream" ? "pre_product_id" : "dir_product_id";
  const stack: { gtin: string; lot: string; depth: number; via: string; bytes?: Uint8Array }[] = [];
  const expand = async (links: readonly LotLinkKey[], depth: number, via: string) => {
    const fresh = links.filter((l) => !visited.has(lotKey(l.gtin, l.lot)));
    const addresses = fresh.map((l) => traceLotAddress(l.gtin, l.lot));
    const values = await state.getMany(root, addresses);
    // Reversed, so the first stored link is walked first.
    for (let i = fresh.length - 1; i >= 0; i--) {
      const l = fresh[i] as LotLinkKey;
      const bytes = values.get(addresses[i] as string);
      stack.push({ gtin: l.gtin, lot: l.lot, depth, via, ...(bytes ? { bytes } : {}) });
    }
  };
  await expand(origin[field], 1, lotKey(origin.gtin, origin.lot));
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const key = lotKey(item.gtin, item.lot);
    if (visited.has(key)) continue;
    visited.add(key);
    yield {
      gtin: item.gtin,
      lot: item.lot,
      relation,
      depth: item.depth,
      via: item.via,
      ...(item.bytes ? { bytes: item.bytes } : {}),
    };
    if (item.bytes) await expand(linksIn(item.bytes, field), item.depth + 1, key);
  }
}

/** The whole walk order: origin, upstream, downstream. */
async function* sequence(
  state: StateTree,
  root: StateRoot,
  origin: LotRecord,
  direction: TraceDirection,
): AsyncGenerator<Visit> {
  yield { gtin: origin.gtin, lot: origin.lot, relation: "origin", depth: 0, record: origin };
  // Each direction has its own visited set: a lot can be both an ancestor and a descendant
  // only through a cycle, and then it is shown on both sides, once each.
  if (direction !== "down")
    yield* walk(state, root, origin, "upstream", new Set([lotKey(origin.gtin, origin.lot)]));
  if (direction !== "up")
    yield* walk(state, root, origin, "downstream", new Set([lotKey(origin.gtin, origin.lot)]));
}

/** A stored lot record, or undefined when absent or not a lot record (state is only data). */
function decodeStoredLot(bytes: Uint8Array | undefined): LotRecord | undefined {
  if (!bytes) return undefined;
  const parsed = lotRecordSchema.safeParse(safeCbor(bytes));
  return parsed.success ? parsed.data : undefined;
}

function safeCbor(bytes: Uint8Array): unknown {
  try {
    return decodeCbor(bytes);
  } catch {
    return undefined;
  }
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new TraceQueryError(
      TraceErrorCode.INVALID_TRACE_OPTIONS,
      `${name} must be an integer from ${min} to ${max}`,
      { [name]: value },
    );
  return value;
}

/**
 * One page of the trace of lot `lot` of `gtin` at state `root` (a cursor pins its own root,
 * which must then be `root`). Throws `TraceQueryError` (`UNKNOWN_PRODUCT`, `UNKNOWN_LOT`,
 * `INVALID_CURSOR`, `INVALID_TRACE_OPTIONS`) or `Gs1Error` for a malformed lot number.
 */
export async function traceLot(
  state: StateTree,
  root: StateRoot,
  gtin: Gtin14,
  lot: string,
  options: TraceOptions = {},
): Promise<TraceResult> {
  const direction = options.direction ?? "both";
  const proofs = options.proofs === true;
  const maxNodes = checkRange(
    "maxNodes",
    options.maxNodes ?? (proofs ? MAX_TRACE_NODES_WITH_PROOFS : DEFAULT_TRACE_NODES),
    1,
    proofs ? MAX_TRACE_NODES_WITH_PROOFS : MAX_TRACE_NODES,
  );
  const maxSteps = checkRange(
    "maxSteps",
    options.maxSteps ?? DEFAULT_TRACE_STEPS,
    0,
    MAX_TRACE_STEPS,
  );
  const ring = options.historyPages ?? TRACE_HISTORY_PAGES;
  const key = lotKey(gtin, lot);
  let offset = 0;
  if (options.cursor !== undefined) {
    const cursor = decodeTraceCursor(options.cursor, { key, direction });
    if (cursor.root !== root)
      throw new TraceQueryError(
        TraceErrorCode.INVALID_CURSOR,
        "invalid trace cursor: it continues a trace at another state root (drop `head` or pass the cursor's)",
      );
    offset = cursor.offset;
  }
  const origin = await requireTracedLot(state, root, gtin, lot);

  const products = new Map<string, ProductRecord | undefined>();
  const locations: Record<string, { name: string; kind: string; organisationId: string }> = {};
  const glns = new Set<string>();
  const nodes: TraceNode[] = [];
  let position = 0;
  let complete = true;
  for await (const visit of sequence(state, root, origin, direction)) {
    options.signal?.throwIfAborted();
    if (position < offset) {
      position++;
      continue;
    }
    if (nodes.length === maxNodes) {
      complete = false;
      break;
    }
    nodes.push(await materialise(visit));
    position++;
  }

  async function materialise(visit: Visit): Promise<TraceNode> {
    const base = {
      gtin: visit.gtin,
      lot: visit.lot,
      key: lotKey(visit.gtin, visit.lot),
      relation: visit.relation,
      depth: visit.depth,
      ...(visit.via !== undefined ? { via: visit.via } : {}),
    };
    const record = visit.record ?? decodeStoredLot(visit.bytes);
    if (!record) return { ...base, missing: true, steps: [], stepsOmitted: 0, stepsLost: 0 };
    if (!products.has(record.gtin))
      products.set(record.gtin, await readProduct(state, root, record.gtin));
    const product = products.get(record.gtin);
    const pages = maxSteps === 0 ? [] : historyPagesNewestFirst(record.seq, maxSteps - 1, ring);
    const addresses = pages.map((page) => traceLotAddress(record.gtin, record.lot, page));
    const values = await state.getMany(root, addresses);
    const versions: { record: LotRecord; address: string; page: number }[] = [];
    pages.forEach((page, i) => {
      const address = addresses[i] as string;
      const bytes = values.get(address);
      if (bytes) versions.push({ record: decodeLotRecord(bytes), address, page });
    });
    versions.reverse();
    if (maxSteps > 0)
      versions.push({ record, address: traceLotAddress(record.gtin, record.lot), page: 0 });
    const steps: TraceStep[] = [];
    for (const version of versions) {
      const v = version.record;
      if (v.location !== null) glns.add(v.location);
      steps.push({
        action: v.step.action,
        at: v.step.at,
        time: new Date(v.step.at).toISOString(),
        organisationId: v.step.organisationId,
        signer: v.step.by,
        transactionId: v.step.txId,
        blockHeight: v.step.height,
        location: v.location,
        ownerOrg: v.ownerOrg,
        custodianOrg: v.custodianOrg,
        status: v.status,
        quantity: v.quantity,
        ...(v.step.amount !== undefined ? { amount: v.step.amount } : {}),
        ...(v.step.counterpart !== undefined ? { counterpart: v.step.counterpart } : {}),
        ...(v.step.note !== undefined ? { note: v.step.note } : {}),
        address: version.address,
        page: version.page,
        ...(proofs ? { proof: await state.prove(root, version.address) } : {}),
      });
    }
    for (const gln of [record.location, record.pre_location, record.dir_location])
      if (gln !== null) glns.add(gln);
    const stored = Math.min(record.seq, ring);
    return {
      ...base,
      ...(product
        ? {
            product: {
              name: product.name,
              productType: product.productType,
              organisationId: product.organisationId,
            },
          }
        : {}),
      status: record.status,
      quantity: record.quantity,
      unit: record.unit,
      initialQuantity: record.initialQuantity,
      ownerOrg: record.ownerOrg,
      custodianOrg: record.custodianOrg,
      gs1: {
        owner: record.owner,
        product_id: record.product_id,
        pre_product_id: record.pre_product_id,
        dir_product_id: record.dir_product_id,
        location: record.location,
        pre_location: record.pre_location,
        dir_location: record.dir_location,
      },
      attributes: record.attributes,
      certificates: record.certificates,
      steps,
      // Stored versions are the kept history pages plus the current record.
      stepsOmitted: Math.max(0, stored + 1 - steps.length),
      stepsLost: Math.max(0, record.seq - ring),
    };
  }

  const locationValues = await state.getMany(root, [...glns].map(traceLocationAddress));
  for (const gln of [...glns].sort()) {
    const bytes = locationValues.get(traceLocationAddress(gln));
    if (!bytes) continue;
    const location = decodeLocationRecord(bytes);
    Object.defineProperty(locations, gln, {
      value: { name: location.name, kind: location.kind, organisationId: location.organisationId },
      enumerable: true,
    });
  }

  const edges: TraceEdge[] = [];
  const seen = new Set<string>();
  const addEdge = (from: string, to: string, quantity: number): void => {
    const id = `${from}>${to}`;
    if (seen.has(id)) return;
    seen.add(id);
    edges.push({ from, to, quantity });
  };
  for (const node of nodes) {
    for (const l of node.gs1?.pre_product_id ?? [])
      addEdge(lotKey(l.gtin, l.lot), node.key, l.quantity);
    for (const l of node.gs1?.dir_product_id ?? [])
      addEdge(node.key, lotKey(l.gtin, l.lot), l.quantity);
  }

  return {
    stateRoot: root,
    direction,
    origin: { gtin, lot, key },
    nodes,
    edges,
    locations,
    page: {
      offset,
      count: nodes.length,
      maxNodes,
      complete,
      ...(complete
        ? {}
        : {
            next: encodeCursor({
              v: 1,
              root,
              ...(options.head !== undefined ? { head: options.head } : {}),
              offset: offset + nodes.length,
              direction,
              key,
            }),
          }),
    },
  };
}
