/**
 * The chain controller: what a consensus engine drives. It builds candidate blocks from the
 * mempool (executing them), validates blocks proposed by others (re-executing them), commits a
 * decided block through the block store, and tells listeners (API, batch-status waiters)
 * about commits and rejections. It decides nothing about ordering — that is consensus.
 */

import type { Mempool, SelectionLimits } from "../admission/mempool.js";
import { dropOldest } from "../common/bounded.js";
import type { Clock } from "../common/clock.js";
import { GovchainError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import type { PrivilegedReader } from "../execution/chain-services.js";
import type { BatchOutcome, ExecutedBlock, Executor } from "../execution/executor.js";
import type {
  BlockStore,
  ChainHead,
  HistoryBlock,
  InvalidBatchRecord,
  SnapshotInstall,
  SnapshotTarget,
} from "../ledger/block-store.js";
import type {
  StateNodeSource,
  StateSyncOptions,
  StateSyncReport,
  StateTree,
} from "../state/interface.js";
import type { KvOperation } from "../storage/interface.js";
import { encodeBlock, encodeBlockHeader, encodeConsensusFields } from "../wire/index.js";
import type {
  Block,
  BlockHeader,
  ConsensusFields,
  ParsedBatch,
  ParsedBlock,
  TransactionReceipt,
} from "../wire/types.js";

// Consensus drives state sync through the chain and may not import state/ itself.
export type { StateNodeSource, StateSyncOptions, StateSyncReport } from "../state/interface.js";

/** A block that has been executed but not committed. */
export interface Candidate {
  readonly id: string;
  readonly header: BlockHeader;
  readonly consensus: ConsensusFields;
  readonly block: Block;
  readonly bytes: Uint8Array;
  readonly executed: ExecutedBlock;
  /** Batches rejected while building it (recorded when it commits). */
  readonly invalid: readonly InvalidBatchRecord[];
}

/** The parent a candidate extends: the head or another candidate. */
export interface ParentRef {
  readonly id: string;
  readonly height: bigint;
  readonly stateRoot: string;
  readonly timestampMs: number;
}

/** Published after every commit. */
export interface CommitEvent {
  readonly head: ChainHead;
  readonly block: Block;
  readonly header: BlockHeader;
  readonly batchIds: readonly string[];
  readonly receipts: readonly TransactionReceipt[];
  readonly invalid: readonly InvalidBatchRecord[];
}

/** Sawtooth batch statuses. */
export type BatchStatusName = "COMMITTED" | "INVALID" | "PENDING" | "UNKNOWN";

/** The status of one batch, in Sawtooth's shape. */
export interface BatchStatus {
  readonly id: string;
  readonly status: BatchStatusName;
  readonly invalidTransactions: readonly {
    id: string;
    message: string;
    extendedData?: Uint8Array;
  }[];
}

/** Options of `proposeBlock`. */
export interface ProposeOptions {
  readonly parent?: ParentRef;
  readonly timestampMs: number;
  readonly engine: string;
  readonly engineData?: Uint8Array;
  readonly limits: SelectionLimits;
}

/** Collaborators of the chain controller. */
export interface ChainOptions {
  readonly suite: CryptoSuite;
  /** Signs the blocks this node proposes. */
  readonly signer: Signer;
  readonly blocks: BlockStore;
  readonly state: StateTree;
  readonly executor: Executor;
  readonly mempool: Mempool;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The chain controller. */
export interface Chain {
  /** The committed head. Throws before genesis is committed. */
  head(): ChainHead;
  /** A privileged reader of state at the head (for admission checks). */
  headReader(): PrivilegedReader;
  /** A privileged reader of state at any readable root (a candidate's, a retained block's). */
  readerAt(stateRoot: string): PrivilegedReader;
  /**
   * Takes batches from the mempool and executes them on `parent` (default: head). Returns
   * undefined when nothing could be included (invalid batches are then recorded right away).
   */
  propose(options: ProposeOptions): Promise<Candidate | undefined>;
  /** Re-executes a block proposed by another node; throws `BLOCK_INVALID` if it does not check out. */
  validate(block: ParsedBlock, parent?: ParentRef): Promise<Candidate>;
  /** Persists a candidate that consensus decided, and publishes the commit. */
  commit(
    candidate: Candidate,
    extra?: { certificate?: Uint8Array; consensusOperations?: readonly KvOperation[] },
  ): Promise<ChainHead>;
  /** Gives up a candidate: its batches return to the mempool, its state nodes are dropped. */
  abandon(candidate: Candidate): void;
  /** Statuses of batches. */
  batchStatuses(ids: readonly string[]): Promise<BatchStatus[]>;
  /** Resolves when no batch in `ids` is PENDING, or after `timeoutMs`, with their statuses. */
  waitForBatches(
    ids: readonly string[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<BatchStatus[]>;
  /** Subscribes to commits; returns an unsubscribe function. */
  onCommit(listener: (event: CommitEvent) => void): () => void;
  /**
   * Copies the state at a trusted root from peers, transferring only the nodes this node lacks
   * (ADR 0010); the root must come from a block whose certificate was checked.
   */
  syncState(
    root: string,
    source: StateNodeSource,
    options?: StateSyncOptions,
  ): Promise<StateSyncReport>;
  /** A reader of state at a trusted root this node does not hold, through peers (verified). */
  remoteReader(root: string, source: StateNodeSource): PrivilegedReader;
  /**
   * Stores committed blocks below a snapshot target without executing them (indexes and
   * certificates, no receipts); their batches leave the mempool.
   */
  storeHistory(blocks: readonly HistoryBlock[], target: SnapshotTarget): Promise<void>;
  /**
   * Makes a certified checkpoint block the head without executing it, once its state is
   * stored (`syncState`) and the blocks below it are (`storeHistory`); publishes the commit
   * with no receipts.
   */
  installSnapshot(install: SnapshotInstall): Promise<ChainHead>;
}

/** Creates the chain controller. */
export function createChain(options: ChainOptions): Chain {
  const { suite, signer, blocks, state, executor, mempool, clock, logger } = options;
  const commitListeners = new Set<(event: CommitEvent) => void>();
  // Batches rejected but not yet persisted, so their status is INVALID at once.
  const recentInvalid = new Map<string, InvalidBatchRecord>();
  const statusWaiters = new Set<() => void>();

  const head = (): ChainHead => {
    const current = blocks.head();
    if (!current) throw new GovchainError("NO_GENESIS", "the chain has no genesis block yet");
    return current;
  };

  const headRef = (): ParentRef => {
    const h = head();
    return { id: h.id, height: h.height, stateRoot: h.stateRoot, timestampMs: h.timestampMs };
  };

  const rememberInvalid = (records: readonly InvalidBatchRecord[]): void => {
    for (const record of records) recentInvalid.set(record.batchId, record);
    // Bounded: the oldest records are persisted by now or were recorded directly.
    dropOldest(recentInvalid, 50_000);
    wakeWaiters();
  };

  const wakeWaiters = (): void => {
    for (const wake of [...statusWaiters]) wake();
  };

  const toInvalidRecords = (outcomes: readonly BatchOutcome[], at: number): InvalidBatchRecord[] =>
    outcomes
      .filter((o) => o.status === "invalid")
      .map((o) => ({
        batchId: o.batch.id,
        rejectedAtMs: at,
        invalidTransactions: o.transactions
          .filter((t) => !t.valid)
          .map((t) => ({
            id: t.id,
            message: t.message ?? "invalid",
            ...(t.extendedData ? { extendedData: t.extendedData } : {}),
          })),
      }));

  const assemble = (
    parent: ParentRef,
    executed: ExecutedBlock,
    consensus: ConsensusFields,
    batches: readonly ParsedBatch[],
  ): Omit<Candidate, "invalid"> => {
    const header: BlockHeader = {
      blockNum: parent.height + 1n,
      previousBlockId: parent.id,
      signerPublicKey: signer.publicKeyHex,
      batchIds: batches.map((b) => b.id),
      consensus: encodeConsensusFields(consensus),
      stateRootHash: executed.stateRoot,
    };
    const headerBytes = encodeBlockHeader(header);
    const id = Buffer.from(signer.sign(headerBytes)).toString("hex");
    const block: Block = {
      header: headerBytes,
      headerSignature: id,
      batches: batches.map((b) => b.raw),
    };
    return { id, header, consensus, block, bytes: encodeBlock(block), executed };
  };

  const committedAmong = (ids: readonly string[]): Promise<Set<string>> =>
    blocks.committedTransactions(ids);

  const chain: Chain = {
    head,

    headReader() {
      const root = head().stateRoot;
      return async (addresses) => state.getMany(root, addresses);
    },

    readerAt(stateRoot) {
      return async (addresses) => state.getMany(stateRoot, addresses);
    },

    async propose(opts) {
      const parent = opts.parent ?? headRef();
      const taken = mempool.take(opts.limits);
      if (taken.length === 0) return undefined;
      // Block time never goes backwards, whatever the proposer's clock says.
      const timestampMs = Math.max(opts.timestampMs, parent.timestampMs);
      let executed: ExecutedBlock;
      try {
        executed = await executor.execute({
          parentRoot: parent.stateRoot,
          height: parent.height + 1n,
          timestampMs,
          batches: taken,
          mode: "propose",
          committedAmong,
        });
      } catch (err) {
        mempool.release(taken.map((b) => b.id));
        throw err;
      }
      const deferred = executed.outcomes
        .filter((o) => o.status === "deferred")
        .map((o) => o.batch.id);
      const invalid = toInvalidRecords(executed.outcomes, timestampMs);
      if (deferred.length > 0) mempool.release(deferred);
      if (invalid.length > 0) {
        mempool.remove(invalid.map((r) => r.batchId));
        rememberInvalid(invalid);
      }
      if (executed.validBatches.length === 0) {
        state.release(executed.update);
        if (invalid.length > 0) await blocks.recordInvalidBatches(invalid);
        return undefined;
      }
      const consensus: ConsensusFields = {
        engine: opts.engine,
        timestampMs: BigInt(timestampMs),
        data: opts.engineData ?? new Uint8Array(0),
      };
      return { ...assemble(parent, executed, consensus, executed.validBatches), invalid };
    },

    async validate(block, parentRef) {
      const parent = parentRef ?? headRef();
      const fail = (reason: string): never => {
        throw new GovchainError("BLOCK_INVALID", `block ${block.id} is invalid: ${reason}`, {
          blockId: block.id,
        });
      };
      if (block.header.blockNum !== parent.height + 1n)
        fail(`height ${block.header.blockNum} does not follow ${parent.height}`);
      if (block.header.previousBlockId !== parent.id)
        fail(`previous block ${block.header.previousBlockId} is not ${parent.id}`);
      if (
        !suite.verify(
          Buffer.from(block.header.signerPublicKey, "hex"),
          block.raw.header,
          Buffer.from(block.id, "hex"),
        )
      ) {
        fail("the header signature does not verify");
      }
      const timestampMs = Number(block.consensus.timestampMs);
      if (timestampMs < parent.timestampMs) fail("its time is before its parent's");
      const executed = await executor.execute({
        parentRoot: parent.stateRoot,
        height: block.header.blockNum,
        timestampMs,
        batches: block.batches,
        mode: "validate",
        committedAmong,
      });
      const rejected = executed.outcomes.find((o) => o.status !== "valid");
      if (rejected) {
        state.release(executed.update);
        fail(`batch ${rejected.batch.id} is ${rejected.status}`);
      }
      if (executed.stateRoot !== block.header.stateRootHash) {
        state.release(executed.update);
        fail(
          `state root ${executed.stateRoot} differs from the header's ${block.header.stateRootHash}`,
        );
      }
      const bytes = encodeBlock(block.raw);
      return {
        id: block.id,
        header: block.header,
        consensus: block.consensus,
        block: block.raw,
        bytes,
        executed,
        invalid: [],
      };
    },

    async commit(candidate, extra = {}) {
      const newHead = await blocks.commit({
        id: candidate.id,
        header: candidate.header,
        consensus: candidate.consensus,
        block: candidate.block,
        bytes: candidate.bytes,
        receipts: candidate.executed.receipts,
        stateOperations: candidate.executed.update.operations,
        invalidBatches: candidate.invalid,
        ...(extra.certificate ? { certificate: extra.certificate } : {}),
        ...(extra.consensusOperations ? { consensusOperations: extra.consensusOperations } : {}),
      });
      state.release(candidate.executed.update);
      const batchIds = candidate.block.batches.map((b) => b.headerSignature);
      mempool.remove(batchIds);
      for (const record of candidate.invalid) recentInvalid.delete(record.batchId);
      const event: CommitEvent = {
        head: newHead,
        block: candidate.block,
        header: candidate.header,
        batchIds,
        receipts: candidate.executed.receipts,
        invalid: candidate.invalid,
      };
      logger.info("block committed", {
        height: String(newHead.height),
        id: newHead.id.slice(0, 16),
        batches: batchIds.length,
        transactions: candidate.executed.receipts.length,
      });
      for (const listener of [...commitListeners]) {
        try {
          listener(event);
        } catch (err) {
          logger.error("commit listener failed", { error: String(err) });
        }
      }
      wakeWaiters();
      return newHead;
    },

    abandon(candidate) {
      state.release(candidate.executed.update);
      mempool.release(candidate.block.batches.map((b) => b.headerSignature));
    },

    async batchStatuses(ids) {
      return Promise.all(
        ids.map(async (id): Promise<BatchStatus> => {
          if ((await blocks.batchBlockId(id)) !== undefined)
            return { id, status: "COMMITTED", invalidTransactions: [] };
          if (mempool.has(id)) return { id, status: "PENDING", invalidTransactions: [] };
          const invalid = recentInvalid.get(id) ?? (await blocks.getInvalidBatch(id));
          if (invalid)
            return { id, status: "INVALID", invalidTransactions: invalid.invalidTransactions };
          return { id, status: "UNKNOWN", invalidTransactions: [] };
        }),
      );
    },

    async waitForBatches(ids, timeoutMs, signal) {
      const deadline = clock.monotonic() + timeoutMs;
      for (;;) {
        const statuses = await chain.batchStatuses(ids);
        const remaining = deadline - clock.monotonic();
        if (!statuses.some((s) => s.status === "PENDING") || remaining <= 0 || signal?.aborted)
          return statuses;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            timer.cancel();
            statusWaiters.delete(done);
            signal?.removeEventListener("abort", done);
            resolve();
          };
          const timer = clock.setTimer(remaining, done);
          statusWaiters.add(done);
          signal?.addEventListener("abort", done, { once: true });
        });
      }
    },

    onCommit(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },

    syncState(root, source, syncOptions) {
      return state.sync(root, source, syncOptions);
    },

    remoteReader(root, source) {
      return (addresses) => state.readRemote(root, addresses, source);
    },

    async storeHistory(history, target) {
      await blocks.storeHistory(history, target);
      mempool.remove(history.flatMap((h) => h.block.batches.map((b) => b.headerSignature)));
      wakeWaiters();
    },

    async installSnapshot(install) {
      if (!(await state.hasRoot(install.header.stateRootHash))) {
        throw new GovchainError(
          "STATE_MISSING",
          `the state of snapshot block ${install.id.slice(0, 16)} is not stored`,
          { blockId: install.id, stateRoot: install.header.stateRootHash },
        );
      }
      const newHead = await blocks.installSnapshot(install);
      const batchIds = install.block.batches.map((b) => b.headerSignature);
      mempool.remove(batchIds);
      const event: CommitEvent = {
        head: newHead,
        block: install.block,
        header: install.header,
        batchIds,
        receipts: [],
        invalid: [],
      };
      logger.info("block installed from a state snapshot", {
        height: String(newHead.height),
        id: newHead.id.slice(0, 16),
        batches: batchIds.length,
      });
      for (const listener of [...commitListeners]) {
        try {
          listener(event);
        } catch (err) {
          logger.error("commit listener failed", { error: String(err) });
        }
      }
      wakeWaiters();
      return newHead;
    },
  };
  return chain;
}
