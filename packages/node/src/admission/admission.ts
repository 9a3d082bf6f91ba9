/**
 * Admission: the gate between clients and the mempool. A submitted BatchList is accepted
 * whole or refused whole, with a machine-readable code and a message naming the fault:
 * undecodable bytes, no batches, structural faults and bad signatures (wire validation),
 * unknown families, payloads a family refuses, signers a family does not permit, ids already
 * committed or pending, and a full queue. Nothing is queued unless everything passes.
 */
import { GovchainError, isGovchainError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { CryptoSuite } from "../crypto/interface.js";
import type { ChainServices, PrivilegedReader } from "../execution/chain-services.js";
import { InvalidTransaction } from "../execution/family.js";
import type { FamilyRegistry } from "../execution/registry.js";
import type { BlockStore } from "../ledger/block-store.js";
import { parseBatchList, type WireLimits } from "../wire/index.js";
import type { ParsedBatch } from "../wire/types.js";
import type { Mempool } from "./mempool.js";

/** Why a submission was refused. `code` is stable; the API maps it to HTTP and Sawtooth codes. */
export class AdmissionError extends GovchainError {}

/** Options of `createAdmission`. */
export interface AdmissionOptions {
  readonly suite: CryptoSuite;
  readonly limits: WireLimits;
  readonly families: FamilyRegistry;
  readonly services: ChainServices;
  readonly blocks: BlockStore;
  readonly mempool: Mempool;
  /** Reads state at the current head, for permission checks. */
  readonly headReader: () => PrivilegedReader;
  readonly logger: Logger;
}

/** The result of an accepted submission. */
export interface Admitted {
  readonly batchIds: readonly string[];
}

/** Checks and queues submissions. */
export interface Admission {
  /** Decodes, validates and queues an encoded BatchList from a client. Throws `AdmissionError`/`QueueFullError`. */
  submit(bytes: Uint8Array): Promise<Admitted>;
  /**
   * Validates and queues already-decoded (and signature-checked) batches, e.g. gossiped by a
   * peer. With `dropKnown`, batches already pending or committed are left out (the others are
   * checked and queued) instead of refusing the whole list.
   */
  submitParsed(
    batches: readonly ParsedBatch[],
    source?: "client" | "peer",
    options?: { readonly dropKnown?: boolean },
  ): Promise<Admitted>;
  /** Calls `listener` with every accepted set of batches and where it came from. */
  onAdmitted(
    listener: (batches: readonly ParsedBatch[], source: "client" | "peer") => void,
  ): () => void;
}

/** Creates the admission gate. */
export function createAdmission(options: AdmissionOptions): Admission {
  const { suite, limits, families, services, blocks, mempool, logger } = options;

  /** Checks `batches`; with `dropKnown`, returns those not already pending or committed. */
  const checkBatches = async (
    given: readonly ParsedBatch[],
    dropKnown: boolean,
  ): Promise<readonly ParsedBatch[]> => {
    const read = options.headReader();
    const authorised = new Map<string, string | undefined>();
    // One batched read each for replays, instead of two reads per transaction.
    const [committedBatches, committedTransactions] = await Promise.all([
      blocks.committedBatches(given.map((b) => b.id)),
      blocks.committedTransactions(given.flatMap((b) => b.transactions.map((t) => t.id))),
    ]);
    const batches = dropKnown
      ? given.filter((b) => !mempool.has(b.id) && !committedBatches.has(b.id))
      : given;
    for (const batch of batches) {
      if (mempool.has(batch.id)) {
        throw new AdmissionError("ALREADY_PENDING", `batch ${batch.id} is already pending`, {
          batchId: batch.id,
        });
      }
      if (committedBatches.has(batch.id)) {
        throw new AdmissionError("ALREADY_COMMITTED", `batch ${batch.id} is already committed`, {
          batchId: batch.id,
        });
      }
      for (const tx of batch.transactions) {
        const ids = { batchId: batch.id, transactionId: tx.id };
        if (mempool.hasTransaction(tx.id)) {
          throw new AdmissionError(
            "ALREADY_PENDING",
            `transaction ${tx.id} is already pending`,
            ids,
          );
        }
        if (committedTransactions.has(tx.id)) {
          throw new AdmissionError(
            "ALREADY_COMMITTED",
            `transaction ${tx.id} is already committed`,
            ids,
          );
        }
        const { familyName, familyVersion, signerPublicKey } = tx.header;
        const family = families.get(familyName, familyVersion);
        if (!family) {
          const known = families.byName(familyName);
          throw new AdmissionError(
            "UNKNOWN_FAMILY",
            known
              ? `transaction family ${familyName} has no version ${familyVersion} (supported: ${known.versions.join(", ")})`
              : `unknown transaction family ${familyName}`,
            { ...ids, familyName, familyVersion },
          );
        }
        const cacheKey = `${familyName}\u0000${signerPublicKey}`;
        if (!authorised.has(cacheKey))
          authorised.set(cacheKey, await services.authorize(familyName, signerPublicKey, read));
        const refusal = authorised.get(cacheKey);
        if (refusal !== undefined) {
          throw new AdmissionError(
            "UNAUTHORIZED",
            `signer ${signerPublicKey} may not submit ${familyName} transactions: ${refusal}`,
            {
              ...ids,
              familyName,
              signerPublicKey,
            },
          );
        }
        try {
          family.checkPayload?.({ id: tx.id, header: tx.header, payload: tx.raw.payload });
        } catch (err) {
          if (err instanceof InvalidTransaction) {
            throw new AdmissionError(
              "INVALID_PAYLOAD",
              `transaction ${tx.id} is invalid: ${err.message}`,
              { ...ids, familyName },
            );
          }
          throw err;
        }
      }
    }
    return batches;
  };

  const listeners = new Set<(batches: readonly ParsedBatch[], source: "client" | "peer") => void>();

  const queue = async (
    given: readonly ParsedBatch[],
    source: "client" | "peer",
    dropKnown = false,
  ): Promise<Admitted> => {
    const batches = await checkBatches(given, dropKnown);
    if (batches.length === 0) return { batchIds: [] };
    mempool.add(batches); // throws QueueFullError, or ALREADY_PENDING if a racing submit won
    if (batches.some((b) => b.raw.trace))
      logger.info("batches admitted", { batchIds: batches.map((b) => b.id), source });
    for (const listener of [...listeners]) listener(batches, source);
    return { batchIds: batches.map((b) => b.id) };
  };

  return {
    async submit(bytes) {
      let batches: ParsedBatch[];
      try {
        batches = parseBatchList(bytes, { suite, limits, verifySignatures: true });
      } catch (err) {
        if (isGovchainError(err))
          throw new AdmissionError(err.code, err.message, err.context, { cause: err });
        throw err;
      }
      return queue(batches, "client");
    },
    submitParsed: (batches, source = "peer", submitOptions = {}) =>
      queue(batches, source, submitOptions.dropKnown === true),
    onAdmitted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
