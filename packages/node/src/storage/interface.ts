/**
 * The key-value store every persistent part of govchain writes through. Keys and values are
 * bytes; keys sort byte-wise (LevelDB's order). `write` is atomic: all operations land or none.
 * The compliance suite (`test/storage/kv-store-compliance.ts`) is the executable form of this
 * contract; docs/adr/0005-storage.md explains it.
 */

/** One operation of an atomic write. */
export type KvOperation =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

/**
 * A key range for iteration. Bounds are byte-wise; omitted bounds are open; every given bound
 * applies (`gt` with `gte` means both, unlike LevelDB's own options, where `gte` wins).
 */
export interface KvRange {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Descending key order when true; with `limit`, the last entries of the range. */
  readonly reverse?: boolean;
  /** Maximum number of entries: a non-negative integer or `Infinity` (the default). */
  readonly limit?: number;
}

/** Options of an atomic write. */
export interface KvWriteOptions {
  /**
   * Flush to stable storage before resolving (fsync). A committed block is written with
   * `sync: true` exactly once; everything else may skip it.
   */
  readonly sync?: boolean;
}

/**
 * A byte-keyed store with atomic batches and ordered iteration.
 *
 * - Any `Uint8Array` is a key, the empty one included; an empty value is a present value.
 * - Bytes are copied in and out: changing an argument after a call, or a returned array, never
 *   changes the store. Returned bytes are plain `Uint8Array`s, not `Buffer`s.
 * - Writes apply in the order `write` is called, even when not awaited one by one. A write is
 *   visible to every operation started after its promise resolves.
 * - Failures are `GovchainError`s with a `StoreErrorCode`: `STORE_NOT_OPEN` before `open` and
 *   after `close`, `STORE_INVALID_ARGUMENT` for malformed input (checked before anything is
 *   applied), `STORE_LOCKED` / `STORE_OPEN_FAILED` from `open`, `STORE_IO_FAILED` otherwise.
 */
export interface KvStore {
  /** Opens the store; idempotent. A closed store may be opened again, with its data. */
  open(): Promise<void>;
  /** Closes the store, waiting for pending writes; idempotent. */
  close(): Promise<void>;
  /** Value of `key`, or undefined. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Values of `keys`, in order, undefined where absent. */
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** Applies all operations atomically, in order (a later op on the same key wins). */
  write(operations: readonly KvOperation[], options?: KvWriteOptions): Promise<void>;
  /**
   * Entries in `range`, in key order (or reverse). The iteration reads a snapshot taken at its
   * first step: later writes are not seen by it. Errors (closed store, bad range) surface from
   * the first step. Stop early with `break`/`return` so the engine's iterator is released; a
   * `close()` ends open iterations, whose next step then fails with `STORE_NOT_OPEN`.
   */
  iterate(range?: KvRange): AsyncIterable<readonly [key: Uint8Array, value: Uint8Array]>;
}
