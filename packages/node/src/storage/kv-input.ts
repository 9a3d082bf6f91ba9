/**
 * Input checks shared by every `KvStore` implementation, so all engines reject the same inputs
 * with the same code (`STORE_INVALID_ARGUMENT`) before touching any data: a write whose third
 * operation is malformed must not have applied the first two.
 */
import { StoreErrorCode, storeError } from "./errors.js";
import type { KvOperation, KvRange, KvWriteOptions } from "./interface.js";

/** One end of a normalised range. */
export interface KeyBound {
  readonly key: Uint8Array;
  readonly inclusive: boolean;
}

/**
 * A `KvRange` with redundant bounds folded into the stricter one. `KvRange` promises that every
 * given bound applies (`gt` and `gte` together mean both), whereas LevelDB silently prefers
 * `gte` over `gt` and `lte` over `lt`; folding here gives every engine the same meaning.
 */
export interface NormalizedRange {
  readonly lower: KeyBound | undefined;
  readonly upper: KeyBound | undefined;
  readonly reverse: boolean;
  /** `Infinity` when unlimited. */
  readonly limit: number;
}

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;

const invalid = (message: string, context: Readonly<Record<string, unknown>> = {}) =>
  storeError(StoreErrorCode.INVALID_ARGUMENT, message, context);

/** Throws `STORE_INVALID_ARGUMENT` unless `key` is a `Uint8Array` (empty is allowed). */
export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!isBytes(key)) throw invalid("a key must be a Uint8Array");
}

/** Throws `STORE_INVALID_ARGUMENT` unless `keys` is an array of `Uint8Array`. */
export function checkKeys(keys: unknown): asserts keys is readonly Uint8Array[] {
  if (!Array.isArray(keys)) throw invalid("keys must be an array of Uint8Array");
  for (let i = 0; i < keys.length; i++) {
    if (!isBytes(keys[i])) throw invalid("a key must be a Uint8Array", { index: i });
  }
}

/** Throws `STORE_INVALID_ARGUMENT` unless every operation is a well-formed put or del. */
export function checkOperations(operations: unknown): asserts operations is readonly KvOperation[] {
  if (!Array.isArray(operations)) throw invalid("operations must be an array");
  for (let i = 0; i < operations.length; i++) {
    const op: unknown = operations[i];
    if (typeof op !== "object" || op === null) {
      throw invalid("an operation must be an object", { index: i });
    }
    const { type, key, value } = op as { type?: unknown; key?: unknown; value?: unknown };
    if (type !== "put" && type !== "del") {
      throw invalid("an operation's type must be 'put' or 'del'", { index: i });
    }
    if (!isBytes(key)) throw invalid("an operation's key must be a Uint8Array", { index: i });
    if (type === "put" && !isBytes(value)) {
      throw invalid("a put's value must be a Uint8Array", { index: i });
    }
  }
}

/** Throws `STORE_INVALID_ARGUMENT` unless `options` is absent or `{ sync?: boolean }`. */
export function checkWriteOptions(options: unknown): asserts options is KvWriteOptions | undefined {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw invalid("write options must be an object");
  }
  const { sync } = options as { sync?: unknown };
  if (sync !== undefined && typeof sync !== "boolean") throw invalid("sync must be a boolean");
}

/** Validates `range` and folds its bounds; throws `STORE_INVALID_ARGUMENT` when malformed. */
export function normalizeRange(range: unknown): NormalizedRange {
  if (range === undefined) {
    return { lower: undefined, upper: undefined, reverse: false, limit: Infinity };
  }
  if (typeof range !== "object" || range === null) throw invalid("a range must be an object");
  const { gt, gte, lt, lte, reverse, limit } = range as { [K in keyof KvRange]?: unknown };
  for (const [name, bound] of [
    ["gt", gt],
    ["gte", gte],
    ["lt", lt],
    ["lte", lte],
  ] as const) {
    if (bound !== undefined && !isBytes(bound)) throw invalid(`range.${name} must be a Uint8Array`);
  }
  if (reverse !== undefined && typeof reverse !== "boolean") {
    throw invalid("range.reverse must be a boolean");
  }
  if (
    limit !== undefined &&
    limit !== Infinity &&
    !(typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 0)
  ) {
    throw invalid("range.limit must be a non-negative integer or Infinity", {
      limit: String(limit),
    });
  }
  return {
    lower: stricter(
      bound(gt as Uint8Array | undefined, false),
      bound(gte as Uint8Array | undefined, true),
      1,
    ),
    upper: stricter(
      bound(lt as Uint8Array | undefined, false),
      bound(lte as Uint8Array | undefined, true),
      -1,
    ),
    reverse: reverse === true,
    limit: (limit as number | undefined) ?? Infinity,
  };
}

const bound = (key: Uint8Array | undefined, inclusive: boolean): KeyBound | undefined =>
  key === undefined ? undefined : { key, inclusive };

/**
 * The bound that admits fewer keys. `direction` is 1 for lower bounds (the larger key is
 * stricter) and -1 for upper bounds; on equal keys the exclusive bound is stricter.
 */
function stricter(
  a: KeyBound | undefined,
  b: KeyBound | undefined,
  direction: 1 | -1,
): KeyBound | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const order = Buffer.compare(a.key, b.key) * direction;
  if (order !== 0) return order > 0 ? a : b;
  return a.inclusive ? b : a;
}
