/**
 * The node's durable KvStore: LevelDB through `classic-level` (see docs/adr/0005-storage.md).
 *
 * Keys and values cross the binding as `Uint8Array` (`view` encoding), so nothing is converted
 * to strings or hex. LevelDB hands back fresh memory for every read; we return it as plain
 * `Uint8Array` views without copying (a `Buffer`'s `slice` aliases where a `Uint8Array`'s
 * copies, a trap for code written against the domain type).
 *
 * Writes are applied in the order `write` is called. classic-level runs each batch on a libuv
 * worker thread, and two batches in flight may reach LevelDB's write queue in either order, so
 * each batch waits for the previous one; its operations are copied into a native batch at the
 * call, so callers may reuse their arrays at once. One block is one write, so the queue costs
 * nothing measurable.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { ClassicLevel, type IteratorOptions } from "classic-level";
import { errorMessage, GovchainError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/logger.js";
import { StoreErrorCode, storeError, storeNotOpen } from "./errors.js";
import type { KvStore } from "./interface.js";
import {
  checkKey,
  checkKeys,
  checkOperations,
  checkWriteOptions,
  type NormalizedRange,
  normalizeRange,
} from "./kv-input.js";

/** Options of `createLevelStore`. Sizes default to LevelDB's own defaults. */
export interface LevelStoreOptions {
  /** Database directory; created, with its parents, when missing. */
  readonly path: string;
  /** Block cache of uncompressed blocks. Default 8 MiB. */
  readonly cacheSizeBytes?: number;
  /**
   * Memtable size before it is flushed to a table file; up to two are in memory at once, and a
   * larger one lengthens recovery after a crash. Default 4 MiB.
   */
  readonly writeBufferSizeBytes?: number;
  /** Approximate uncompressed size of a table block (the unit of a read). Default 4 KiB. */
  readonly blockSizeBytes?: number;
  /** Size at which LevelDB starts a new table file. Default 2 MiB. */
  readonly maxFileSizeBytes?: number;
  /** Table files LevelDB keeps open at once. Default 1000. */
  readonly maxOpenFiles?: number;
  /** Snappy-compress table blocks. Default true. */
  readonly compression?: boolean;
  /** Receives open and close records (child `storage`). Default silent. */
  readonly logger?: Logger;
}

/** A `KvStore` on LevelDB. */
export interface LevelStore extends KvStore {
  /** Absolute path of the database directory. */
  readonly path: string;
  /**
   * Iterations holding a LevelDB iterator that have not finished. Each pins a snapshot, which
   * keeps old table files alive, so this should fall back to 0; a metric and a leak check.
   */
  readonly activeIterations: number;
}

type Level = ClassicLevel<Uint8Array, Uint8Array>;

/** LevelDB reads `limit` as a signed 32-bit integer; beyond that we count ourselves. */
const MAX_NATIVE_LIMIT = 0x7fffffff;

const SIZE_OPTIONS = [
  ["cacheSizeBytes", "cacheSize"],
  ["writeBufferSizeBytes", "writeBufferSize"],
  ["blockSizeBytes", "blockSize"],
  ["maxFileSizeBytes", "maxFileSize"],
  ["maxOpenFiles", "maxOpenFiles"],
] as const;

type EngineOptions = {
  -readonly [K in (typeof SIZE_OPTIONS)[number][1]]?: number;
} & { compression?: boolean };

/** Creates a LevelDB-backed store at `options.path`; call `open()` before use. */
export function createLevelStore(options: LevelStoreOptions): LevelStore {
  const engineOptions = checkLevelStoreOptions(options);
  const path = resolve(options.path);
  const log = (options.logger ?? silentLogger).child("storage");

  // Set only while open: every operation reads it once, so a close that has begun turns away
  // new operations at once while those already started finish on the instance they hold.
  let db: Level | undefined;
  // open() and close() run one at a time, in call order.
  let lifecycle: Promise<void> = Promise.resolve();
  // The last queued write; never rejects (its caller sees the error).
  let writeTail: Promise<void> = Promise.resolve();
  let activeIterations = 0;

  const serialize = (step: () => Promise<void>): Promise<void> => {
    const run = lifecycle.then(step);
    lifecycle = run.catch(() => undefined);
    return run;
  };

  const requireOpen = (operation: string): Level => {
    if (db === undefined) throw storeNotOpen(operation);
    return db;
  };

  const engineError = (err: unknown, operation: string): GovchainError => {
    if (err instanceof GovchainError) return err;
    const code = codeOf(err);
    if (
      code === "LEVEL_DATABASE_NOT_OPEN" ||
      code === "LEVEL_ITERATOR_NOT_OPEN" ||
      code === "LEVEL_BATCH_NOT_OPEN"
    ) {
      return storeNotOpen(operation, err);
    }
    return storeError(
      StoreErrorCode.IO_FAILED,
      `${operation} failed on the store at ${path}: ${errorMessage(err)}`,
      { path, operation, engineCode: code },
      err,
    );
  };

  return {
    path,
    get activeIterations() {
      return activeIterations;
    },

    open: () =>
      serialize(async () => {
        if (db !== undefined) return;
        try {
          await mkdir(path, { recursive: true });
        } catch (err) {
          throw openError(path, err);
        }
        const instance: Level = new ClassicLevel<Uint8Array, Uint8Array>(path, {
          ...engineOptions,
          keyEncoding: "view",
          valueEncoding: "view",
          createIfMissing: true,
          errorIfExists: false,
        });
        try {
          // Called in the constructor's tick, which cancels abstract-level's own deferred open.
          await instance.open();
        } catch (err) {
          throw openError(path, err);
        }
        db = instance;
        log.info("store opened", { path });
      }),

    close: () =>
      serialize(async () => {
        const instance = db;
        if (instance === undefined) return;
        db = undefined;
        // Queued writes are already promised to their callers; let them land first. LevelDB
        // then waits for reads in flight and closes open iterators itself.
        await writeTail;
        try {
          await instance.close();
        } catch (err) {
          db = instance;
          throw engineError(err, "close");
        }
        log.info("store closed", { path });
      }),

    async get(key) {
      const instance = requireOpen("get");
      checkKey(key);
      try {
        const value = await instance.get(key);
        return value === undefined ? undefined : plain(value);
      } catch (err) {
        throw engineError(err, "get");
      }
    },

    async getMany(keys) {
      const instance = requireOpen("getMany");
      checkKeys(keys);
      try {
        const values = await instance.getMany([...keys]);
        return values.map((value) => (value === undefined ? undefined : plain(value)));
      } catch (err) {
        throw engineError(err, "getMany");
      }
    },

    async write(operations, options) {
      const instance = requireOpen("write");
      checkOperations(operations);
      checkWriteOptions(options);
      // A chained batch copies each operation into LevelDB's WriteBatch now, so the queued
      // write below cannot see later changes to the caller's arrays.
      const batch = instance.batch();
      try {
        for (const op of operations) {
          if (op.type === "put") batch.put(op.key, op.value);
          else batch.del(op.key);
        }
      } catch (err) {
        await batch.close();
        throw engineError(err, "write");
      }
      const sync = options?.sync === true;
      const done = writeTail.then(() => batch.write({ sync }));
      writeTail = done.catch(() => undefined);
      try {
        await done;
      } catch (err) {
        throw engineError(err, "write");
      }
    },

    async *iterate(range) {
      const instance = requireOpen("iterate");
      const normalized = normalizeRange(range);
      // LevelDB takes the iterator's implicit snapshot here, at the first `next()`.
      const iterator = instance.iterator(engineRange(normalized));
      activeIterations++;
      try {
        for (let count = 0; count < normalized.limit; count++) {
          let entry: [Uint8Array, Uint8Array] | undefined;
          try {
            entry = await iterator.next();
          } catch (err) {
            throw engineError(err, "iterate");
          }
          if (entry === undefined) return;
          yield [plain(entry[0]), plain(entry[1])] as const;
        }
      } finally {
        // Runs on exhaustion, on error, and when the consumer stops early (`break` calls
        // `return()`), so no LevelDB iterator outlives its loop.
        try {
          await iterator.close();
        } catch (err) {
          log.warn("closing an iterator failed", { path, error: errorMessage(err) });
        }
        activeIterations--;
      }
    },
  };
}

/** Validates the options and maps them to classic-level's names. */
function checkLevelStoreOptions(options: LevelStoreOptions): EngineOptions {
  const invalid = (message: string) => storeError(StoreErrorCode.INVALID_ARGUMENT, message);
  if (typeof options !== "object" || options === null) throw invalid("options must be an object");
  if (typeof options.path !== "string" || options.path === "") {
    throw invalid("path must be a non-empty string");
  }
  const engine: EngineOptions = {};
  for (const [ours, theirs] of SIZE_OPTIONS) {
    const value: unknown = options[ours];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw invalid(`${ours} must be a positive integer`);
    }
    engine[theirs] = value;
  }
  if (options.compression !== undefined) {
    if (typeof options.compression !== "boolean") throw invalid("compression must be a boolean");
    engine.compression = options.compression;
  }
  return engine;
}

/** classic-level's iterator options for a normalised range (one bound per side, at most). */
function engineRange(range: NormalizedRange): IteratorOptions<Uint8Array, Uint8Array> {
  const options: IteratorOptions<Uint8Array, Uint8Array> = {
    reverse: range.reverse,
    limit: range.limit <= MAX_NATIVE_LIMIT ? range.limit : -1,
  };
  if (range.lower !== undefined) options[range.lower.inclusive ? "gte" : "gt"] = range.lower.key;
  if (range.upper !== undefined) options[range.upper.inclusive ? "lte" : "lt"] = range.upper.key;
  return options;
}

/** The same memory as a plain `Uint8Array` (LevelDB returns `Buffer`s it allocated per read). */
function plain(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : bytes;
}

/** The `code` of an engine error, if it has one. */
function codeOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}

/**
 * abstract-level wraps every open failure as LEVEL_DATABASE_NOT_OPEN; the reason is in the
 * `cause` chain (LEVEL_LOCKED from LevelDB's LOCK file, LEVEL_CORRUPTION, an fs error code).
 */
function openError(path: string, err: unknown): GovchainError {
  const causes: unknown[] = [];
  for (
    let e: unknown = err;
    e !== undefined && causes.length < 8;
    e = e instanceof Error ? e.cause : undefined
  ) {
    causes.push(e);
  }
  const root = causes.at(-1);
  if (causes.some((e) => codeOf(e) === "LEVEL_LOCKED")) {
    return storeError(
      StoreErrorCode.LOCKED,
      `the store at ${path} is locked: another process, or another store object in this process, has it open`,
      { path },
      err,
    );
  }
  return storeError(
    StoreErrorCode.OPEN_FAILED,
    `cannot open the store at ${path}: ${errorMessage(root)}`,
    { path, engineCode: codeOf(root) },
    err,
  );
}
