/**
 * Executes the batches of a block on top of a parent state root.
 *
 * Batches are atomic: every transaction of a batch applies, or the batch leaves no trace.
 * Execution is deterministic — the same parent root, height, time and batches give the same
 * state root, outcomes and receipts on every node — so validators can check a proposed block
 * by re-executing it. Execution is serial in block order; each transaction sees the writes of
 * the transactions before it.
 */
import { errorMessage, GovchainError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { StateRoot, StateTree, StateUpdate } from "../state/interface.js";
import type {
  ChainEvent,
  ParsedBatch,
  ParsedTransaction,
  ReceiptStateChange,
  TransactionReceipt,
} from "../wire/types.js";
import { isAddress, isUnderAnyPrefix } from "./address.js";
import type { ChainServices, PrivilegedReader } from "./chain-services.js";
import {
  type EventAttributes,
  InvalidTransaction,
  type SignerIdentity,
  type TransactionContext,
  type TransactionRequest,
} from "./family.js";
import type { FamilyRegistry } from "./registry.js";

/** Why a batch was not applied. */
export type BatchStatus = "valid" | "invalid" | "deferred";

/** The result of one transaction. */
export interface TransactionOutcome {
  readonly id: string;
  readonly valid: boolean;
  /** Why it was rejected (invalid), or why it was not run (a sibling failed). */
  readonly message?: string;
  readonly extendedData?: Uint8Array;
}

/** The result of one batch. */
export interface BatchOutcome {
  readonly batch: ParsedBatch;
  /**
   * `valid`: applied. `invalid`: rejected for good (status INVALID). `deferred`: a dependency is
   * not yet committed; when proposing, the batch stays pending for a later block.
   */
  readonly status: BatchStatus;
  readonly transactions: readonly TransactionOutcome[];
}

/** What executing a block produced. Nothing is persisted until the block is committed. */
export interface ExecutedBlock {
  readonly parentRoot: StateRoot;
  readonly stateRoot: StateRoot;
  readonly height: bigint;
  readonly timestampMs: number;
  /** The state update (new nodes) to persist with the block and release afterwards. */
  readonly update: StateUpdate;
  /** One outcome per input batch, in input order. */
  readonly outcomes: readonly BatchOutcome[];
  /** The batches that were applied, in order: the block's contents. */
  readonly validBatches: readonly ParsedBatch[];
  /** Receipts of every applied transaction, in block order. */
  readonly receipts: readonly TransactionReceipt[];
}

/** Inputs of a block execution. */
export interface ExecuteBlockInput {
  readonly parentRoot: StateRoot;
  readonly height: bigint;
  readonly timestampMs: number;
  readonly batches: readonly ParsedBatch[];
  /**
   * `propose`: batches with unmet dependencies are deferred and internal errors in a family
   * reject only that batch. `validate`: the block is checked as proposed; an unmet dependency is
   * invalid and an internal error aborts execution (the node cannot vouch for the block).
   */
  readonly mode: "propose" | "validate";
  /**
   * The subset of `ids` already committed on the chain this block extends. Called once per
   * block with every transaction and dependency id, so the lookups are one batched read.
   */
  readonly committedAmong: (ids: readonly string[]) => Promise<ReadonlySet<string>>;
}

/** Collaborators of the executor. */
export interface ExecutorOptions {
  readonly state: StateTree;
  readonly families: FamilyRegistry;
  readonly services: ChainServices;
  readonly logger: Logger;
  /** Full-address inputs of a block to prefetch in one batched read; default 100,000. */
  readonly maxPrefetch?: number;
}

/** Executes blocks. */
export interface Executor {
  execute(input: ExecuteBlockInput): Promise<ExecutedBlock>;
}

/** Thrown when a block cannot be executed for a reason other than invalid transactions. */
export class ExecutionError extends GovchainError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super("EXECUTION_FAILED", message, context, { cause });
  }
}

/** A value staged in an overlay: bytes, or null for a deletion. */
type Staged = Uint8Array | null;

/** Creates an executor. */
export function createExecutor(options: ExecutorOptions): Executor {
  const { state, families, services, logger } = options;
  const maxPrefetch = options.maxPrefetch ?? 100_000;

  return {
    async execute(input) {
      const base = new Map<string, Staged>(); // reads of the parent state, cached
      const block = new Map<string, Staged>(); // writes of applied batches
      const committedInBlock = new Set<string>();

      const readBase = async (addresses: readonly string[]): Promise<void> => {
        const missing = addresses.filter((a) => !base.has(a) && !block.has(a));
        if (missing.length === 0) return;
        const found = await state.getMany(input.parentRoot, missing);
        for (const address of missing) base.set(address, found.get(address) ?? null);
      };

      await prefetchInputs(input.batches, readBase, maxPrefetch);
      const idsToCheck: string[] = [];
      for (const batch of input.batches) {
        for (const tx of batch.transactions) idsToCheck.push(tx.id, ...tx.header.dependencies);
      }
      const committedBefore = await input.committedAmong(idsToCheck);

      const outcomes: BatchOutcome[] = [];
      const validBatches: ParsedBatch[] = [];
      const receipts: TransactionReceipt[] = [];

      for (const batch of input.batches) {
        const result = await executeBatch(batch);
        outcomes.push(result.outcome);
        if (result.outcome.status !== "valid") continue;
        for (const [address, value] of result.writes) block.set(address, value);
        for (const tx of batch.transactions) committedInBlock.add(tx.id);
        validBatches.push(batch);
        receipts.push(...result.receipts);
      }

      const changes: [string, Uint8Array | null][] = [...block.entries()];
      const update = await state.update(input.parentRoot, changes);
      return {
        parentRoot: input.parentRoot,
        stateRoot: update.root,
        height: input.height,
        timestampMs: input.timestampMs,
        update,
        outcomes,
        validBatches,
        receipts,
      };

      async function executeBatch(batch: ParsedBatch): Promise<{
        outcome: BatchOutcome;
        writes: Map<string, Staged>;
        receipts: TransactionReceipt[];
      }> {
        const writes = new Map<string, Staged>();
        const batchReceipts: TransactionReceipt[] = [];
        const txOutcomes: TransactionOutcome[] = [];
        const seenInBatch = new Set<string>();

        const read = async (addresses: readonly string[]): Promise<Map<string, Uint8Array>> => {
          await readBase(addresses.filter((a) => !writes.has(a)));
          const out = new Map<string, Uint8Array>();
          for (const address of addresses) {
            const value = writes.has(address)
              ? writes.get(address)
              : block.has(address)
                ? block.get(address)
                : base.get(address);
            if (value) out.set(address, value);
          }
          return out;
        };

        const reject = (
          failedIndex: number,
          failure: TransactionOutcome,
          status: BatchStatus,
        ): BatchOutcome => {
          const transactions = batch.transactions.map((tx, i): TransactionOutcome => {
            if (i < failedIndex)
              return {
                id: tx.id,
                valid: false,
                message: "batch rejected: a later transaction failed",
              };
            if (i === failedIndex) return failure;
            return {
              id: tx.id,
              valid: false,
              message: "not executed: an earlier transaction in the batch failed",
            };
          });
          return { batch, status, transactions };
        };

        for (const [index, tx] of batch.transactions.entries()) {
          // Replays: a transaction id can be committed once on a chain.
          if (seenInBatch.has(tx.id) || committedInBlock.has(tx.id) || committedBefore.has(tx.id)) {
            const failure = { id: tx.id, valid: false, message: "transaction already committed" };
            return { outcome: reject(index, failure, "invalid"), writes, receipts: [] };
          }
          const unmet = unmetDependency(tx, seenInBatch);
          if (unmet !== undefined) {
            const status: BatchStatus = input.mode === "propose" ? "deferred" : "invalid";
            const failure = {
              id: tx.id,
              valid: false,
              message: `dependency ${unmet} is not committed`,
            };
            return { outcome: reject(index, failure, status), writes, receipts: [] };
          }
          try {
            const receipt = await applyTransaction(tx, read, writes);
            batchReceipts.push(receipt);
            txOutcomes.push({ id: tx.id, valid: true });
            seenInBatch.add(tx.id);
          } catch (err) {
            if (err instanceof InvalidTransaction) {
              const failure: TransactionOutcome = {
                id: tx.id,
                valid: false,
                message: err.message,
                ...(err.extendedData ? { extendedData: err.extendedData } : {}),
              };
              if (batch.raw.trace)
                logger.info("transaction invalid", { transactionId: tx.id, reason: err.message });
              return { outcome: reject(index, failure, "invalid"), writes, receipts: [] };
            }
            if (input.mode === "validate") {
              throw new ExecutionError(
                `internal error executing transaction ${tx.id}: ${errorMessage(err)}`,
                { batchId: batch.id, transactionId: tx.id },
                err,
              );
            }
            logger.error("internal error in transaction family", {
              family: tx.header.familyName,
              transactionId: tx.id,
              error: errorMessage(err),
            });
            const failure = {
              id: tx.id,
              valid: false,
              message: `internal error: ${errorMessage(err)}`,
            };
            return { outcome: reject(index, failure, "invalid"), writes, receipts: [] };
          }
        }
        return {
          outcome: { batch, status: "valid", transactions: txOutcomes },
          writes,
          receipts: batchReceipts,
        };
      }

      function unmetDependency(
        tx: ParsedTransaction,
        seenInBatch: Set<string>,
      ): string | undefined {
        for (const dep of tx.header.dependencies) {
          if (seenInBatch.has(dep) || committedInBlock.has(dep) || committedBefore.has(dep))
            continue;
          return dep;
        }
        return undefined;
      }

      async function applyTransaction(
        tx: ParsedTransaction,
        batchRead: (addresses: readonly string[]) => Promise<Map<string, Uint8Array>>,
        batchWrites: Map<string, Staged>,
      ): Promise<TransactionReceipt> {
        const header = tx.header;
        const family = families.get(header.familyName, header.familyVersion);
        if (!family) {
          throw new InvalidTransaction(
            `unknown transaction family ${header.familyName} ${header.familyVersion}`,
          );
        }
        const privileged: PrivilegedReader = async (addresses) => {
          const merged = await batchRead(addresses);
          for (const [address, value] of txWrites) {
            if (value === null) merged.delete(address);
            else if (addresses.includes(address)) merged.set(address, value);
          }
          return merged;
        };
        const txWrites = new Map<string, Staged>();
        const refusal = await services.authorize(
          header.familyName,
          header.signerPublicKey,
          privileged,
        );
        if (refusal !== undefined)
          throw new InvalidTransaction(`signer not permitted: ${refusal}`, {
            code: "UNAUTHORIZED",
          });

        const events: ChainEvent[] = [];
        const data: Uint8Array[] = [];
        const context = createContext({
          tx,
          height: input.height,
          timestampMs: input.timestampMs,
          services,
          privileged,
          txWrites,
          events,
          data,
        });
        const request: TransactionRequest = { id: tx.id, header, payload: tx.raw.payload };
        await family.apply(request, context);

        const stateChanges: ReceiptStateChange[] = [];
        for (const address of [...txWrites.keys()].sort()) {
          const value = txWrites.get(address) ?? null;
          stateChanges.push(
            value === null
              ? { address, value: new Uint8Array(0), type: "DELETE" }
              : { address, value, type: "SET" },
          );
          batchWrites.set(address, value);
        }
        return { transactionId: tx.id, stateChanges, events, data };
      }
    },
  };
}

interface ContextParts {
  readonly tx: ParsedTransaction;
  readonly height: bigint;
  readonly timestampMs: number;
  readonly services: ChainServices;
  /** Reads state as of this point in the batch, including this transaction's earlier writes. */
  readonly privileged: PrivilegedReader;
  readonly txWrites: Map<string, Staged>;
  readonly events: ChainEvent[];
  readonly data: Uint8Array[];
}

function createContext(parts: ContextParts): TransactionContext {
  const { tx, services, privileged, txWrites, events, data } = parts;
  const { inputs, outputs } = tx.header;

  const checkAddresses = (
    addresses: readonly string[],
    allowed: readonly string[],
    what: string,
  ): void => {
    for (const address of addresses) {
      if (!isAddress(address))
        throw new InvalidTransaction(`${what} of a malformed address ${JSON.stringify(address)}`);
      if (!isUnderAnyPrefix(address, allowed)) {
        throw new InvalidTransaction(
          `${what} of address ${address} which is not in the transaction's declared ${what === "read" ? "inputs" : "outputs"}`,
          {
            code: "UNDECLARED_ADDRESS",
          },
        );
      }
    }
  };

  return {
    blockHeight: parts.height,
    blockTimeMs: parts.timestampMs,
    signerPublicKey: tx.header.signerPublicKey,
    async getState(addresses) {
      checkAddresses(addresses, inputs, "read");
      const values = await privileged(addresses);
      return values;
    },
    async setState(entries) {
      const list = [...entries];
      checkAddresses(
        list.map(([address]) => address),
        outputs,
        "write",
      );
      for (const [address, value] of list) {
        if (!(value instanceof Uint8Array))
          throw new InvalidTransaction(`value for ${address} is not bytes`);
        txWrites.set(address, Uint8Array.from(value));
      }
    },
    async deleteState(addresses) {
      checkAddresses(addresses, outputs, "write");
      const present = await privileged(addresses);
      for (const address of addresses) if (present.has(address)) txWrites.set(address, null);
    },
    signerIdentity: (): Promise<SignerIdentity | undefined> =>
      services.identityOf(tx.header.signerPublicKey, privileged),
    identityOf: (publicKey) => services.identityOf(publicKey, privileged),
    getSetting: (key) => services.getSetting(key, privileged),
    addEvent(
      eventType: string,
      attributes: EventAttributes = [],
      eventData: Uint8Array = new Uint8Array(0),
    ) {
      events.push({
        eventType,
        attributes: attributes.map(([key, value]) => ({ key, value })),
        data: Uint8Array.from(eventData),
      });
    },
    addReceiptData(bytes) {
      data.push(Uint8Array.from(bytes));
    },
  };
}

async function prefetchInputs(
  batches: readonly ParsedBatch[],
  readBase: (addresses: readonly string[]) => Promise<void>,
  max: number,
): Promise<void> {
  const addresses = new Set<string>();
  outer: for (const batch of batches) {
    for (const tx of batch.transactions) {
      for (const input of tx.header.inputs) {
        if (input.length !== 70) continue;
        addresses.add(input);
        if (addresses.size >= max) break outer;
      }
    }
  }
  if (addresses.size > 0) await readBase([...addresses]);
}
