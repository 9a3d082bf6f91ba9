/**
 * GS1 Digital Link URIs (GS1 Digital Link standard 1.2) for the traced unit, a lot of a
 * product: `https://<resolver>/01/<gtin14>/10/<lot>`. The path holds the primary key (AI 01,
 * GTIN) and its key qualifiers in the one order the standard allows — 22 (consumer product
 * variant), 10 (batch/lot), 21 (serial) — each at most once; data attributes such as 17
 * (expiry, YYMMDD) travel in the query string. A resolver may put its own path before `/01/`.
 * Values are percent-encoded except RFC 3986 unreserved characters.
 */
import { Gs1Error, Gs1ErrorCode } from "./errors.js";
import { type Gtin14, parseGtin } from "./gtin.js";
import { parseLotNumber } from "./lot-number.js";

/** Resolver host of the URIs this node prints unless configured otherwise. */
export const DEFAULT_DIGITAL_LINK_RESOLVER = "id.govchain.example";

/** What a Digital Link URI identifies. */
export interface DigitalLinkKey {
  readonly gtin: Gtin14;
  /** AI 10. */
  readonly lot?: string;
  /** AI 21. */
  readonly serial?: string;
  /** AI 22. */
  readonly cpv?: string;
  /** Data attributes from the query string whose keys are GS1 AIs (e.g. `17` → `261231`). */
  readonly attributes: Readonly<Record<string, string>>;
  /** Scheme, host and any path before `/01/`, e.g. `https://id.gs1.org`. */
  readonly resolver: string;
}

/** Key qualifiers of AI 01 in the only order the standard allows. */
const QUALIFIER_ORDER = ["22", "10", "21"] as const;

/** Date attributes (YYMMDD) whose format is checked: production, packaging, best before, expiry. */
const DATE_AIS = new Set(["11", "13", "15", "16", "17"]);

/** A resolver: `host[:port][/path]`, optionally with an `http(s)://` scheme. */
const RESOLVER_RE =
  /^(?:https?:\/\/)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?(\/[A-Za-z0-9._~-]+)*\/?$/;

/** True when `text` is a usable resolver (host, optional port and path). */
export function isDigitalLinkResolver(text: string): boolean {
  return text.length <= 200 && RESOLVER_RE.test(text);
}

/** Percent-encodes everything except RFC 3986 unreserved characters (Digital Link §6). */
export function encodeDigitalLinkValue(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The Digital Link URI of a lot (GTIN emitted in 14 digits). `resolver` is a host with optional
 * port and path; `https://` is added unless it carries a scheme.
 */
export function buildDigitalLink(
  key: { readonly gtin: Gtin14; readonly lot?: string; readonly serial?: string },
  resolver: string = DEFAULT_DIGITAL_LINK_RESOLVER,
): string {
  if (!isDigitalLinkResolver(resolver)) {
    throw new Gs1Error(
      Gs1ErrorCode.INVALID_DIGITAL_LINK,
      `resolver ${JSON.stringify(resolver.slice(0, 60))} is not a host[:port][/path]`,
    );
  }
  const base = (/^https?:\/\//.test(resolver) ? resolver : `https://${resolver}`).replace(
    /\/$/,
    "",
  );
  let uri = `${base}/01/${key.gtin}`;
  if (key.lot !== undefined) uri += `/10/${encodeDigitalLinkValue(parseLotNumber(key.lot))}`;
  if (key.serial !== undefined) uri += `/21/${encodeDigitalLinkValue(key.serial)}`;
  return uri;
}

function invalid(uri: string, why: string): never {
  throw new Gs1Error(
    Gs1ErrorCode.INVALID_DIGITAL_LINK,
    `${JSON.stringify(uri.length > 120 ? `${uri.slice(0, 120)}…` : uri)} is not a GS1 Digital Link URI: ${why}`,
  );
}

function decodeSegment(uri: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return invalid(uri, `segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

/**
 * Parses a Digital Link URI whose primary key is a GTIN (AI 01). Throws `Gs1Error`:
 * `INVALID_DIGITAL_LINK` for a malformed URI or qualifiers out of order, `INVALID_CHECK_DIGIT`
 * or `INVALID_GTIN` for the GTIN, `INVALID_LOT` for a lot outside GS1 character set 82.
 */
export function parseDigitalLink(uri: string): DigitalLinkKey {
  if (uri.length > 2048) invalid(uri, "longer than 2048 characters");
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return invalid(uri, "not an absolute URI");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") invalid(uri, "scheme must be http(s)");
  if (url.username !== "" || url.password !== "") invalid(uri, "credentials are not allowed");
  const segments = url.pathname.split("/").slice(1);
  if (segments.at(-1) === "") segments.pop();
  // The primary key is the first `01` segment from which the rest of the path pairs up.
  let start = -1;
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] === "01" && (segments.length - i) % 2 === 0) {
      start = i;
      break;
    }
  }
  if (start < 0) invalid(uri, "no /01/{gtin} primary key in the path");
  const gtin = parseGtin(decodeSegment(uri, segments[start + 1] ?? ""));
  const qualifiers = new Map<string, string>();
  let lastRank = -1;
  for (let i = start + 2; i < segments.length; i += 2) {
    const ai = segments[i] ?? "";
    const rank = (QUALIFIER_ORDER as readonly string[]).indexOf(ai);
    if (rank < 0) invalid(uri, `/${ai}/ is not a key qualifier of AI 01 (22, 10, 21)`);
    if (rank <= lastRank)
      invalid(uri, "key qualifiers must appear once each in the order 22, 10, 21");
    lastRank = rank;
    const value = decodeSegment(uri, segments[i + 1] ?? "");
    if (value.length === 0 || value.length > 20)
      invalid(uri, `AI ${ai} value must have 1 to 20 characters`);
    qualifiers.set(ai, value);
  }
  const attributes: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    // Non-AI query parameters are allowed by the standard and ignored here.
    if (!/^\d{2,4}$/.test(name)) continue;
    if (DATE_AIS.has(name) && !/^\d{2}(0[1-9]|1[0-2])(0[0-9]|[12]\d|3[01])$/.test(value))
      invalid(uri, `AI ${name} must be a date YYMMDD`);
    if (name === "01" || name === "10" || name === "21" || name === "22")
      invalid(uri, `AI ${name} belongs in the path, not the query string`);
    Object.defineProperty(attributes, name, { value, enumerable: true });
  }
  const lot = qualifiers.get("10");
  const serial = qualifiers.get("21");
  const cpv = qualifiers.get("22");
  const resolverPath = segments.slice(0, start).join("/");
  return {
    gtin,
    ...(lot !== undefined ? { lot: parseLotNumber(lot) } : {}),
    ...(serial !== undefined ? { serial } : {}),
    ...(cpv !== undefined ? { cpv } : {}),
    attributes,
    resolver: `${url.protocol}//${url.host}${resolverPath === "" ? "" : `/${resolverPath}`}`,
  };
}
