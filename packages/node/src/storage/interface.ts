/**
 * The key-value store every persistent part of govchain writes through. Keys and values are
 * bytes; keys sort byte-wise (LevelDB's order). `write` is atomic: all operations land or none.
 */

/** One operation of an atomic write. */
export type KvOperation =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

/** A key range for iteration. Bounds are byte-wise; omitted bounds are open. */
export interface KvRange {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Descending key order when true. */
  readonly reverse?: boolean;
  /** Maximum number of entries. */
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

/** A byte-keyed store with atomic batches and ordered iteration. */
export interface KvStore {
  /** Opens the store; idempotent. */
  open(): Promise<void>;
  /** Closes the store, waiting for pending writes; idempotent. */
  close(): Promise<void>;
  /** Value of `key`, or undefined. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Values of `keys`, in order, undefined where absent. */
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** Applies all operations atomically, in order (a later op on the same key wins). */
  write(operations: readonly KvOperation[], options?: KvWriteOptions): Promise<void>;
  /** Entries in `range`, in key order (or reverse). */
  iterate(range?: KvRange): AsyncIterable<readonly [key: Uint8Array, value: Uint8Array]>;
}
