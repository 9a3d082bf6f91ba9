/**
 * The `link` and `paging.next` URLs of responses, built as Sawtooth's REST API builds them
 * (`RouteHandler._build_url`): the request's own query with some keys changed, `head` first,
 * then `start`, then `limit`, then the rest sorted by key; scheme, host and a path prefix taken
 * from `Forwarded` / `X-Forwarded-*` headers when a proxy sets them, so links stay valid
 * behind a reverse proxy.
 */

/** The parts of an HTTP request a link is built from. */
export interface LinkRequest {
  /** Path and query as received, e.g. `/blocks?limit=2`. */
  readonly url: string;
  /** `http` or `https` as seen by this server. */
  readonly protocol: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** Query changes: a value replaces or adds a key, `false` removes it, `undefined` keeps it. */
export type QueryChanges = Readonly<Record<string, string | number | false | undefined>>;

function header(request: LinkRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value === "string") return value;
  return value?.[0] ?? "";
}

/** A value from `Forwarded: key=value` or else `X-Forwarded-Key`; empty when neither is set. */
export function forwardedValue(request: LinkRequest, key: "proto" | "host" | "path"): string {
  const forwarded = header(request, "forwarded");
  const match = new RegExp(`(?<=${key}=).+?(?=[\\s,;]|$)`, "i").exec(forwarded);
  if (match) {
    const value = match[0];
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
      ? value.slice(1, -1)
      : value;
  }
  return header(request, `x-forwarded-${key}`);
}

/** The query of `url` as ordered key → first value (Sawtooth reads one value per key). */
export function queryOf(url: string): Map<string, string> {
  const at = url.indexOf("?");
  const out = new Map<string, string>();
  if (at < 0) return out;
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) {
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

function pathOf(url: string): string {
  const at = url.indexOf("?");
  return at < 0 ? url : url.slice(0, at);
}

// Ids and addresses are hex and id lists are comma-separated: keep commas readable, as
// Sawtooth's links show them, and escape everything else a URL cannot carry.
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%2C/gi, ",");
}

/**
 * A URL to `path` (default: the request's own path) with the request's query changed by
 * `changes`, ordered as Sawtooth orders it. A key whose value is empty is written bare
 * (`?wait`), as Sawtooth writes it.
 */
export function buildUrl(request: LinkRequest, changes: QueryChanges = {}, path?: string): string {
  const queries = queryOf(request.url);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (value === false) queries.delete(key);
    else queries.set(key, String(value));
  }
  const parts: string[] = [];
  const add = (key: string): void => {
    const value = queries.get(key);
    if (value === undefined) return;
    parts.push(value === "" ? encodeValue(key) : `${encodeValue(key)}=${encodeValue(value)}`);
    queries.delete(key);
  };
  add("head");
  add("start");
  add("limit");
  for (const key of [...queries.keys()].sort()) add(key);
  const scheme = forwardedValue(request, "proto") || request.protocol;
  const host = forwardedValue(request, "host") || header(request, "host");
  const prefix = forwardedValue(request, "path");
  const query = parts.length > 0 ? `?${parts.join("&")}` : "";
  return `${scheme}://${host}${prefix}${path ?? pathOf(request.url)}${query}`;
}
