/**
 * The block store: committed blocks by id and height, the batch and transaction indexes,
 * receipts, records of invalid batches, commit certificates, and the chain head.
 *
 * Committing a block is ONE atomic, synced write that carries the block, its indexes, its
 * receipts, the new state nodes and the new head pointer. After a crash the store holds either
 * the whole block or none of it, and the head always names a block whose state is present.
 */
import { LRUCache } from "lru-cache";
import { fromUtf8, utf8 } from "../common/bytes.js";
import { decodeCbor, encodeCbor } from "../common/cbor.js";
import { GovchainError, invariant } from "../common/errors.js";
import type { KvOperation, KvStore } from "../storage/interface.js";
import { heightKey, KeyPrefix, prefixedKey } from "../storage/prefixes.js";
import {
  decodeBlock,
  decodeBlockHeader,
  decodeConsensusFields,
  decodeTransactionReceipt as decodeReceipt,
  encodeTransactionReceipt as encodeReceipt,
} from "../wire/index.js";
import type { Block, BlockHeader, ConsensusFields, TransactionReceipt } from "../wire/types.js";

/** The tip of the committed chain. */
export interface ChainHead {
  readonly id: string;
  readonly height: bigint;
  readonly stateRoot: string;
  readonly timestampMs: number;
}

/** A committed block as stored. */
export interface StoredBlock {
  readonly id: string;
  readonly height: bigint;
  readonly header: BlockHeader;
  readonly consensus: ConsensusFields;
  readonly block: Block;
  /** The encoded Block protobuf. */
  readonly bytes: Uint8Array;
}

/** Where a transaction is on the chain. */
export interface TransactionLocation {
  readonly blockId: string;
  readonly batchIndex: number;
  readonly transactionIndex: number;
}

/** A transaction's failure inside an invalid batch (Sawtooth's `invalid_transactions`). */
export interface InvalidTransactionRecord {
  readonly id: string;
  readonly message: string;
  readonly extendedData?: Uint8Array;
}

/** Why a batch was rejected after admission. */
export interface InvalidBatchRecord {
  readonly batchId: string;
  readonly invalidTransactions: readonly InvalidTransactionRecord[];
  /** Block time or wall-clock time when it was rejected, milliseconds. */
  readonly rejectedAtMs: number;
}

/** Everything persisted with a committed block. */
export interface BlockCommit {
  readonly id: string;
  readonly header: BlockHeader;
  readonly consensus: ConsensusFields;
  readonly block: Block;
  /** The encoded Block protobuf. */
  readonly bytes: Uint8Array;
  /** Receipts of the block's transactions, in block order. */
  readonly receipts: readonly TransactionReceipt[];
  /** Storage writes of the block's new state nodes. */
  readonly stateOperations: readonly KvOperation[];
  /** Batches found invalid while building this block (recorded in the same write). */
  readonly invalidBatches?: readonly InvalidBatchRecord[];
  /** The commit certificate, when the consensus engine produces one. */
  readonly certificate?: Uint8Array;
  /** Consensus engine records to persist atomically with the block. */
  readonly consensusOperations?: readonly KvOperation[];
}

/** A committed block stored without being executed here: history below a state snapshot. */
export interface HistoryBlock {
  readonly id: string;
  readonly height: bigint;
  readonly block: Block;
  /** The encoded Block protobuf. */
  readonly bytes: Uint8Array;
  readonly certificate?: Uint8Array;
}

/** The block a state snapshot installs; recorded while the history below it is stored. */
export interface SnapshotTarget {
  readonly height: bigint;
  readonly id: string;
}

/** The checkpoint block a state snapshot makes the head, without executing it. */
export interface SnapshotInstall {
  readonly id: string;
  readonly header: BlockHeader;
  readonly consensus: ConsensusFields;
  readonly block: Block;
  /** The encoded Block protobuf. */
  readonly bytes: Uint8Array;
  readonly certificate: Uint8Array;
  /** Consensus engine records to persist atomically with the block (the epoch history). */
  readonly consensusOperations?: readonly KvOperation[];
}

/** Options of `createBlockStore`. */
export interface BlockStoreOptions {
  readonly store: KvStore;
  /** Decoded blocks kept in memory at most; default 256. */
  readonly cacheBlocks?: number;
  /**
   * Bound on the encoded bytes of the cached blocks; default 16 MiB. A decoded block takes
   * several times its encoding on the heap, and blocks of thousands of transactions are a few
   * MB each: 256 blocks of 5,000 intkey transactions are ~850 MB encoded alone.
   */
  readonly cacheBytes?: number;
}

/** Read and commit access to the chain. */
export interface BlockStore {
  /** Loads the head; call once after the KvStore is open. */
  open(): Promise<void>;
  /** The committed head, or undefined before genesis. */
  head(): ChainHead | undefined;
  /** Persists a block atomically with sync; it must extend the head (or be genesis). */
  commit(commit: BlockCommit): Promise<ChainHead>;
  getBlock(id: string): Promise<StoredBlock | undefined>;
  getBlockByHeight(height: bigint): Promise<StoredBlock | undefined>;
  /** Decoded blocks held in memory and their encoded bytes (bounded by the options). */
  cacheUsage(): { readonly blocks: number; readonly bytes: number };
  /**
   * The id and encoding of the block at `height`, neither decoded nor cached: for serving
   * long runs of history to peers without evicting the blocks the node itself reads.
   */
  getEncodedBlockByHeight(
    height: bigint,
  ): Promise<{ readonly id: string; readonly bytes: Uint8Array } | undefined>;
  /** Blocks from `startHeight` going down (newest first) or up, at most `limit`. */
  listBlocks(options: {
    startHeight?: bigint;
    limit: number;
    ascending?: boolean;
  }): Promise<StoredBlock[]>;
  /** Id of the block that committed `batchId`. */
  batchBlockId(batchId: string): Promise<string | undefined>;
  transactionLocation(transactionId: string): Promise<TransactionLocation | undefined>;
  /** True when `transactionId` is committed. */
  hasTransaction(transactionId: string): Promise<boolean>;
  /** The subset of `transactionIds` that is committed (one batched read). */
  committedTransactions(transactionIds: readonly string[]): Promise<Set<string>>;
  /** The subset of `batchIds` that is committed (one batched read). */
  committedBatches(batchIds: readonly string[]): Promise<Set<string>>;
  getReceipt(transactionId: string): Promise<TransactionReceipt | undefined>;
  getInvalidBatch(batchId: string): Promise<InvalidBatchRecord | undefined>;
  /** Records batches rejected outside a block commit (not synced: losing them loses only a status). */
  recordInvalidBatches(records: readonly InvalidBatchRecord[]): Promise<void>;
  getCertificate(blockId: string): Promise<Uint8Array | undefined>;
  /**
   * The snapshot whose history is being stored, if one was started and not installed: blocks
   * above the head are then already indexed (ADR 0010), so the head must move by that snapshot
   * and never by re-executing those blocks, whose transactions would look committed.
   */
  pendingSnapshot(): SnapshotTarget | undefined;
  /**
   * Stores committed blocks above the head with their batch and transaction indexes and
   * certificates, but no receipts and no state, recording `target` as the pending snapshot in
   * the same write. Not synced: the snapshot's install is, and LevelDB's log is sequential.
   */
  storeHistory(blocks: readonly HistoryBlock[], target: SnapshotTarget): Promise<void>;
  /**
   * Makes a checkpoint block the head without executing it, in one synced write with its
   * indexes, certificate and the consensus records; its state must already be stored and the
   * block below it stored (by `storeHistory`) or be the head. Clears the pending snapshot.
   */
  installSnapshot(install: SnapshotInstall): Promise<ChainHead>;
}

const HEAD_KEY = prefixedKey(KeyPrefix.META, "head");
const SNAPSHOT_KEY = prefixedKey(KeyPrefix.META, "state-sync-target");

/** Puts of a block, its height index and its batch and transaction locations (no receipts). */
function indexOperations(
  id: string,
  height: bigint,
  block: Block,
  bytes: Uint8Array,
): KvOperation[] {
  const ops: KvOperation[] = [
    { type: "put", key: prefixedKey(KeyPrefix.BLOCK, id), value: bytes },
    {
      type: "put",
      key: prefixedKey(KeyPrefix.BLOCK_ID_BY_HEIGHT, heightKey(height)),
      value: utf8(id),
    },
  ];
  const blockIdBytes = utf8(id);
  for (const [batchIndex, batch] of block.batches.entries()) {
    ops.push({
      type: "put",
      key: prefixedKey(KeyPrefix.BATCH_LOCATION, batch.headerSignature),
      value: blockIdBytes,
    });
    for (const [transactionIndex, tx] of batch.transactions.entries()) {
      ops.push({
        type: "put",
        key: prefixedKey(KeyPrefix.TRANSACTION_LOCATION, tx.headerSignature),
        value: encodeCbor([id, batchIndex, transactionIndex]),
      });
    }
  }
  return ops;
}

/** Creates a block store over a KvStore. */
export function createBlockStore(options: BlockStoreOptions): BlockStore {
  const { store } = options;
  const cache = new LRUCache<string, StoredBlock>({
    max: options.cacheBlocks ?? 256,
    maxSize: options.cacheBytes ?? 16 * 2 ** 20,
    // A block larger than the whole bound is not cached (lru-cache refuses it).
    sizeCalculation: (block) => Math.max(1, block.bytes.byteLength),
  });
  let current: ChainHead | undefined;
  let pending: SnapshotTarget | undefined;

  const load = async (id: string): Promise<StoredBlock | undefined> => {
    const cached = cache.get(id);
    if (cached) return cached;
    const bytes = await store.get(prefixedKey(KeyPrefix.BLOCK, id));
    if (!bytes) return undefined;
    const stored = toStored(bytes);
    cache.set(id, stored);
    return stored;
  };

  const idAtHeight = async (height: bigint): Promise<string | undefined> => {
    if (height < 0n) return undefined;
    const bytes = await store.get(prefixedKey(KeyPrefix.BLOCK_ID_BY_HEIGHT, heightKey(height)));
    return bytes ? fromUtf8(bytes) : undefined;
  };

  return {
    async open() {
      const bytes = await store.get(HEAD_KEY);
      current = bytes ? decodeHead(bytes) : undefined;
      const target = await store.get(SNAPSHOT_KEY);
      pending = target ? decodeTarget(target) : undefined;
    },

    head: () => current,

    async commit(commit) {
      const height = commit.header.blockNum;
      if (current === undefined) {
        invariant(height === 0n, "the first committed block must be genesis", {
          height: String(height),
        });
      } else if (height !== current.height + 1n || commit.header.previousBlockId !== current.id) {
        throw new GovchainError(
          "BLOCK_DOES_NOT_EXTEND_HEAD",
          `block ${commit.id} at ${height} does not extend head ${current.id} at ${current.height}`,
          {
            blockId: commit.id,
            height: String(height),
            headHeight: String(current.height),
          },
        );
      }
      const head: ChainHead = {
        id: commit.id,
        height,
        stateRoot: commit.header.stateRootHash,
        timestampMs: Number(commit.consensus.timestampMs),
      };
      const ops: KvOperation[] = [...commit.stateOperations];
      ops.push({ type: "put", key: prefixedKey(KeyPrefix.BLOCK, commit.id), value: commit.bytes });
      ops.push({
        type: "put",
        key: prefixedKey(KeyPrefix.BLOCK_ID_BY_HEIGHT, heightKey(height)),
        value: utf8(commit.id),
      });
      const blockIdBytes = utf8(commit.id);
      let receiptIndex = 0;
      for (const [batchIndex, batch] of commit.block.batches.entries()) {
        ops.push({
          type: "put",
          key: prefixedKey(KeyPrefix.BATCH_LOCATION, batch.headerSignature),
          value: blockIdBytes,
        });
        for (const [transactionIndex, tx] of batch.transactions.entries()) {
          ops.push({
            type: "put",
            key: prefixedKey(KeyPrefix.TRANSACTION_LOCATION, tx.headerSignature),
            value: encodeCbor([commit.id, batchIndex, transactionIndex]),
          });
          const receipt = commit.receipts[receiptIndex++];
          invariant(
            receipt?.transactionId === tx.headerSignature,
            "receipts must follow block order",
            {
              transactionId: tx.headerSignature,
            },
          );
          ops.push({
            type: "put",
            key: prefixedKey(KeyPrefix.RECEIPT, tx.headerSignature),
            value: encodeReceipt(receipt),
          });
        }
      }
      invariant(receiptIndex === commit.receipts.length, "one receipt per transaction");
      for (const record of commit.invalidBatches ?? []) {
        ops.push({
          type: "put",
          key: prefixedKey(KeyPrefix.INVALID_BATCH, record.batchId),
          value: encodeInvalid(record),
        });
      }
      if (commit.certificate) {
        ops.push({
          type: "put",
          key: prefixedKey(KeyPrefix.CERTIFICATE, commit.id),
          value: commit.certificate,
        });
      }
      ops.push(...(commit.consensusOperations ?? []));
      ops.push({ type: "put", key: HEAD_KEY, value: encodeHead(head) });
      await store.write(ops, { sync: true });
      current = head;
      cache.set(commit.id, toStored(commit.bytes));
      return head;
    },

    getBlock: load,

    cacheUsage: () => ({ blocks: cache.size, bytes: cache.calculatedSize }),

    async getBlockByHeight(height) {
      const id = await idAtHeight(height);
      return id === undefined ? undefined : load(id);
    },

    async getEncodedBlockByHeight(height) {
      const id = await idAtHeight(height);
      if (id === undefined) return undefined;
      const bytes = cache.peek(id)?.bytes ?? (await store.get(prefixedKey(KeyPrefix.BLOCK, id)));
      return bytes === undefined ? undefined : { id, bytes };
    },

    async listBlocks({ startHeight, limit, ascending = false }) {
      const out: StoredBlock[] = [];
      if (current === undefined) return out;
      let height = startHeight ?? (ascending ? 0n : current.height);
      while (out.length < limit && height >= 0n && height <= current.height) {
        const id = await idAtHeight(height);
        const block = id === undefined ? undefined : await load(id);
        if (block) out.push(block);
        height += ascending ? 1n : -1n;
      }
      return out;
    },

    async batchBlockId(batchId) {
      const bytes = await store.get(prefixedKey(KeyPrefix.BATCH_LOCATION, batchId));
      return bytes ? fromUtf8(bytes) : undefined;
    },

    async transactionLocation(transactionId) {
      const bytes = await store.get(prefixedKey(KeyPrefix.TRANSACTION_LOCATION, transactionId));
      if (!bytes) return undefined;
      const [blockId, batchIndex, transactionIndex] = decodeCbor(bytes) as [string, number, number];
      return { blockId, batchIndex, transactionIndex };
    },

    async hasTransaction(transactionId) {
      return (
        (await store.get(prefixedKey(KeyPrefix.TRANSACTION_LOCATION, transactionId))) !== undefined
      );
    },

    async committedTransactions(transactionIds) {
      return presentAmong(store, KeyPrefix.TRANSACTION_LOCATION, transactionIds);
    },

    async committedBatches(batchIds) {
      return presentAmong(store, KeyPrefix.BATCH_LOCATION, batchIds);
    },

    async getReceipt(transactionId) {
      const bytes = await store.get(prefixedKey(KeyPrefix.RECEIPT, transactionId));
      return bytes ? decodeReceipt(bytes) : undefined;
    },

    async getInvalidBatch(batchId) {
      const bytes = await store.get(prefixedKey(KeyPrefix.INVALID_BATCH, batchId));
      return bytes ? decodeInvalid(batchId, bytes) : undefined;
    },

    async recordInvalidBatches(records) {
      if (records.length === 0) return;
      await store.write(
        records.map((record) => ({
          type: "put",
          key: prefixedKey(KeyPrefix.INVALID_BATCH, record.batchId),
          value: encodeInvalid(record),
        })),
      );
    },

    async getCertificate(blockId) {
      return store.get(prefixedKey(KeyPrefix.CERTIFICATE, blockId));
    },

    pendingSnapshot: () => pending,

    async storeHistory(history, target) {
      const headHeight = current?.height ?? -1n;
      invariant(current !== undefined, "history is stored above genesis");
      const ops: KvOperation[] = [];
      for (const entry of history) {
        invariant(
          entry.height > headHeight && entry.height < target.height,
          "history lies between the head and the snapshot",
          { height: String(entry.height), head: String(headHeight) },
        );
        ops.push(...indexOperations(entry.id, entry.height, entry.block, entry.bytes));
        if (entry.certificate) {
          ops.push({
            type: "put",
            key: prefixedKey(KeyPrefix.CERTIFICATE, entry.id),
            value: entry.certificate,
          });
        }
      }
      ops.push({ type: "put", key: SNAPSHOT_KEY, value: encodeTarget(target) });
      await store.write(ops);
      pending = target;
    },

    async installSnapshot(install) {
      const height = install.header.blockNum;
      invariant(current !== undefined, "a snapshot is installed above genesis");
      if (height <= current.height) {
        throw new GovchainError(
          "BLOCK_DOES_NOT_EXTEND_HEAD",
          `snapshot block ${install.id} at ${height} is not above head ${current.height}`,
          { blockId: install.id, height: String(height), headHeight: String(current.height) },
        );
      }
      // The history below must be in place: every block between the head and this one is
      // linked to it, so checking the one just below (and the pending target) suffices.
      const below = height === current.height + 1n ? current.id : await idAtHeight(height - 1n);
      if (
        below !== install.header.previousBlockId ||
        (height > current.height + 1n && pending?.id !== install.id)
      ) {
        throw new GovchainError(
          "SNAPSHOT_HISTORY_MISSING",
          `the blocks below snapshot block ${install.id} at ${height} are not stored`,
          { blockId: install.id, height: String(height) },
        );
      }
      const head: ChainHead = {
        id: install.id,
        height,
        stateRoot: install.header.stateRootHash,
        timestampMs: Number(install.consensus.timestampMs),
      };
      const ops = indexOperations(install.id, height, install.block, install.bytes);
      ops.push({
        type: "put",
        key: prefixedKey(KeyPrefix.CERTIFICATE, install.id),
        value: install.certificate,
      });
      ops.push(...(install.consensusOperations ?? []));
      ops.push({ type: "del", key: SNAPSHOT_KEY });
      ops.push({ type: "put", key: HEAD_KEY, value: encodeHead(head) });
      await store.write(ops, { sync: true });
      current = head;
      pending = undefined;
      return head;
    },
  };
}

function encodeTarget(target: SnapshotTarget): Uint8Array {
  return encodeCbor({ height: target.height.toString(), id: target.id });
}

function decodeTarget(bytes: Uint8Array): SnapshotTarget {
  const raw = decodeCbor(bytes) as { height: string; id: string };
  return { height: BigInt(raw.height), id: raw.id };
}

async function presentAmong(
  store: KvStore,
  prefix: number,
  ids: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  const values = await store.getMany(ids.map((id) => prefixedKey(prefix, id)));
  values.forEach((value, i) => {
    if (value !== undefined) found.add(ids[i] as string);
  });
  return found;
}

function toStored(bytes: Uint8Array): StoredBlock {
  const block = decodeBlock(bytes);
  const header = decodeBlockHeader(block.header);
  return {
    id: block.headerSignature,
    height: header.blockNum,
    header,
    consensus: decodeConsensusFields(header.consensus),
    block,
    bytes,
  };
}

function encodeHead(head: ChainHead): Uint8Array {
  return encodeCbor({
    id: head.id,
    height: head.height.toString(),
    stateRoot: head.stateRoot,
    timestampMs: head.timestampMs,
  });
}

function decodeHead(bytes: Uint8Array): ChainHead {
  const raw = decodeCbor(bytes) as {
    id: string;
    height: string;
    stateRoot: string;
    timestampMs: number;
  };
  return {
    id: raw.id,
    height: BigInt(raw.height),
    stateRoot: raw.stateRoot,
    timestampMs: raw.timestampMs,
  };
}

function encodeInvalid(record: InvalidBatchRecord): Uint8Array {
  return encodeCbor({
    at: record.rejectedAtMs,
    txs: record.invalidTransactions.map((t) => [
      t.id,
      t.message,
      t.extendedData ?? new Uint8Array(0),
    ]),
  });
}

function decodeInvalid(batchId: string, bytes: Uint8Array): InvalidBatchRecord {
  const raw = decodeCbor(bytes) as { at: number; txs: [string, string, Uint8Array][] };
  return {
    batchId,
    rejectedAtMs: raw.at,
    invalidTransactions: raw.txs.map(([id, message, extendedData]) => ({
      id,
      message,
      ...(extendedData.length > 0 ? { extendedData } : {}),
    })),
  };
}
