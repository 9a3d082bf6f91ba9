/**
 * Paging and sorting of list endpoints, exactly as Sawtooth pages them (the validator's
 * `_Pager` and the REST API's `_wrap_paginated_response`):
 *
 * - `limit` defaults to 100 and is capped at 1000 (a larger limit is served as 1000, not
 *   refused); `limit` ≤ 0 or not a number is error 53;
 * - `start` is the position of the first item: the id (or state address) of a resource, or for
 *   blocks the block number as `0x` + 16 hex digits. A start that names nothing is error 54;
 * - the response's `paging.start` and `paging.limit` echo what the client sent (`null` when it
 *   sent nothing); `paging.next_position` and `paging.next` (a URL) appear only when another
 *   page exists; `link` is this page with the effective `head`, `start` and `limit`;
 * - `reverse` (bare or with the list's sort key) reverses the order; other keys are error 57.
 */
import { ApiError } from "./errors.js";
import { buildUrl, type LinkRequest } from "./links.js";

/** Items per page when the client gives no `limit` (Sawtooth's DEFAULT_PAGE_SIZE). */
export const DEFAULT_PAGE_SIZE = 100;

/** Largest page served (Sawtooth's MAX_PAGE_SIZE). */
export const MAX_PAGE_SIZE = 1000;

/** Paging as the client asked for it. */
export interface PagingControls {
  readonly start?: string;
  readonly limit?: number;
}

/** The `paging` object of a list response. */
export interface PagingResponse {
  readonly start: string | null;
  readonly limit: number | null;
  readonly next_position?: string;
  readonly next?: string;
}

/** What a list endpoint found: the page's first position and the next page's, if any. */
export interface PageResult<T> {
  readonly items: readonly T[];
  /** Position of the first item (absent for an empty page). */
  readonly start?: string;
  /** Position of the first item of the next page. */
  readonly next?: string;
}

/** Checks the client's `limit`: a positive integer (error 53 otherwise). */
export function pagingControls(query: {
  readonly start?: string | undefined;
  readonly limit?: number | undefined;
}): PagingControls {
  const { start, limit } = query;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new ApiError("INVALID_COUNT", "", { limit });
  }
  return {
    ...(start !== undefined ? { start } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** Items per page for `controls`: the client's limit capped at 1000, or 100. */
export function effectiveLimit(controls: PagingControls): number {
  return Math.min(controls.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
}

/**
 * Whether `reverse` asks for reversed order. Sawtooth: absent or `false` → no; bare
 * (`?reverse`) or the list's sort key (`block_num` for blocks, `default` otherwise) → yes;
 * anything else → error 57. govchain also takes `true`.
 */
export function isReversed(reverse: string | undefined, sortKey: "block_num" | "default"): boolean {
  if (reverse === undefined) return false;
  const value = reverse.toLowerCase();
  if (value === "" || value === "true") return true;
  if (value === "false") return false;
  const keys = reverse.split(",");
  if (keys.length === 1 && keys[0] === sortKey) return true;
  throw new ApiError("INVALID_SORT", ` The only sort key here is '${sortKey}'.`, { reverse });
}

/**
 * Sawtooth's `_Pager` over an in-memory list: the page beginning at the item whose position is
 * `controls.start` (error 54 if none is), at most `effectiveLimit` items.
 */
export function paginate<T>(
  items: readonly T[],
  positionOf: (item: T) => string,
  controls: PagingControls,
): PageResult<T> {
  if (items.length === 0) return { items: [] };
  const limit = effectiveLimit(controls);
  let from = 0;
  if (controls.start !== undefined) {
    from = items.findIndex((item) => positionOf(item) === controls.start);
    if (from < 0) throw new ApiError("INVALID_PAGING", "", { start: controls.start });
  }
  const page = items.slice(from, from + limit);
  const first = page[0];
  const after = items[from + limit];
  return {
    items: page,
    ...(first !== undefined ? { start: positionOf(first) } : {}),
    ...(after !== undefined ? { next: positionOf(after) } : {}),
  };
}

/** A block number as Sawtooth writes paging positions of blocks: `0x` + 16 hex digits. */
export function blockNumToHex(height: bigint): string {
  return `0x${height.toString(16).padStart(16, "0")}`;
}

/** The block number of a `start` position of `/blocks`; error 54 unless it is `0x` + hex. */
export function parseBlockNumHex(start: string): bigint {
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(start)) {
    throw new ApiError(
      "INVALID_PAGING",
      " A block position is written 0x followed by the block number in hex.",
      { start },
    );
  }
  return BigInt(start);
}

/** The `head`, `link` and `paging` members of a list response (data goes beside them). */
export function pagedMetadata<T>(
  request: LinkRequest,
  head: string,
  controls: PagingControls,
  result: PageResult<T>,
): { head: string; link: string; paging: PagingResponse } {
  const link = buildUrl(request, {
    head,
    start: result.start,
    limit: result.start !== undefined ? effectiveLimit(controls) : undefined,
  });
  const paging: PagingResponse = {
    start: controls.start ?? null,
    limit: controls.limit ?? null,
    ...(result.next !== undefined
      ? {
          next_position: result.next,
          next: buildUrl(request, { head, start: result.next, limit: controls.limit }),
        }
      : {}),
  };
  return { head, link, paging };
}
