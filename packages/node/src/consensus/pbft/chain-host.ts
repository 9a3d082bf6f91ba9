/**
 * The PBFT host of a real node: PBFT's requests carried out on the chain controller.
 *
 * A proposal's payload is the block header (bytes and signature) and its batch ids — not the
 * batches, which every validator already received by gossip before ordering, so the primary's
 * bandwidth is not the bottleneck. A replica rebuilds the block from its mempool, fetching any
 * batch it lacks from peers, and executes it on its parent (the committed head or a candidate it
 * validated before) — execute-before-vote, so the header's state root is checked before the
 * replica prepares. Decided blocks are committed with their commit certificate. A node that
 * fell behind fetches committed blocks with certificates from peers, checks each certificate
 * against the validator set, re-executes and commits them; a node far behind first installs
 * the state at the peers' latest checkpoint (snapshot-sync.ts, ADR 0010) and replays only the
 * blocks after it.
 */
import { decode, encode } from "cborg";
import type { Mempool, SelectionLimits } from "../../admission/mempool.js";
import type { Candidate, Chain, ParentRef } from "../../chain/chain.js";
import type { Clock } from "../../common/clock.js";
import { errorMessage, GovchainError, isGovchainError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CryptoSuite } from "../../crypto/interface.js";
import { createChainServices } from "../../families/chain-services.js";
import type { BlockStore } from "../../ledger/block-store.js";
import type { KvOperation } from "../../storage/interface.js";
import {
  assembleParsedBlock,
  decodeBlock,
  decodeBlockHeader,
  parseBatch,
  parseBlock,
  verifyBatchSignatures,
} from "../../wire/index.js";
import type { Batch, Block, ParsedBatch } from "../../wire/types.js";
import type { PbftHost } from "./driver.js";
import type { CommittedHead } from "./machine.js";
import { EPOCHS_KEY, type EpochBook, encodeHistory, MEMBERS_SETTING } from "./membership.js";
import { type CommitCertificate, decodeCertificate, encodeCertificate } from "./messages.js";
import { certificateProblemIn, createSnapshotSync, type SnapshotReport } from "./snapshot-sync.js";

/** Blocks asked of peers per catch-up round. */
const CATCH_UP_BLOCKS = 64;
/** Blocks replayed per catch-up while too few peers are connected to offer a snapshot. */
const CATCH_UP_BLOCKS_WHILE_CONNECTING = 4;

/** A committed block as peers send it: the encoded Block protobuf and its certificate. */
export interface FetchedBlock {
  readonly block: Uint8Array;
  readonly certificate: Uint8Array;
}

/** What a peer offers a node that wants a state snapshot. */
export interface SyncOffer {
  readonly peer: string;
  /** The peer's committed height. */
  readonly height: bigint;
  /** The peer's stored validator-set history (`encodeHistory`), when it has one. */
  readonly history?: Uint8Array;
}

/**
 * Where a host fetches what it lacks: batches of a proposal, committed blocks when behind, and
 * for a state snapshot (ADR 0010) the peers' offers, blocks and digests from chosen peers, and
 * state nodes by hash.
 */
export interface PeerFetcher {
  /** Batches by id from peers (`preferred` first); those found. */
  fetchBatches(ids: readonly string[], preferred?: string): Promise<Batch[]>;
  /** Committed blocks above `height` (encoded Block protobufs) with their certificates. */
  fetchBlocks(height: bigint, limit: number): Promise<FetchedBlock[]>;
  /** The offers of the connected peers that answered. */
  syncOffers(): Promise<SyncOffer[]>;
  /** Committed blocks above `height` from one peer; undefined when it did not answer. */
  fetchBlocksFrom(peer: string, height: bigint, limit: number): Promise<FetchedBlock[] | undefined>;
  /**
   * The suite hashes of the encoded blocks at `from`, `from + 1`, … (at most `count`) from one
   * peer, undefined where it has none; undefined when it did not answer.
   */
  fetchBlockDigests(
    peer: string,
    from: bigint,
    count: number,
  ): Promise<(Uint8Array | undefined)[] | undefined>;
  /** State nodes by hash from one peer (see `StateNodeSource.request`). */
  fetchStateNodes(
    peer: string,
    hashes: readonly Uint8Array[],
  ): Promise<(Uint8Array | undefined)[] | undefined>;
}

/** Options of `createPbftChainHost`. */
export interface PbftChainHostOptions {
  readonly chainId: string;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly suite: CryptoSuite;
  /** The validator sets by height: who may sign blocks and certificates, and where sets change. */
  readonly epochs: EpochBook;
  readonly fetcher: PeerFetcher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: SelectionLimits;
  /**
   * Catch-up by state snapshot; without it, a node behind always replays blocks. Needs the
   * block store (for the pending snapshot) and the chain's checkpoint parameters.
   */
  readonly snapshot?: {
    readonly blocks: BlockStore;
    readonly checkpointInterval: number;
    readonly maxInFlight: number;
    /** Gap (blocks to the peers' latest checkpoint) from which a snapshot is taken. */
    readonly minGapBlocks: number;
    /** State nodes asked of a peer per request. */
    readonly nodesPerRequest?: number;
    readonly onReport?: (report: SnapshotReport) => void;
  };
}

/** The payload of a PBFT proposal: `[header bytes, header signature, batch ids]`. */
export function encodeProposalPayload(block: Block): Uint8Array {
  return encode([block.header, block.headerSignature, block.batches.map((b) => b.headerSignature)]);
}

/** The three parts of a proposal payload; throws `INVALID_PROPOSAL`. */
export function decodeProposalPayload(payload: Uint8Array): {
  header: Uint8Array;
  headerSignature: string;
  batchIds: string[];
} {
  try {
    const [header, headerSignature, batchIds] = decode(payload) as [unknown, unknown, unknown];
    if (
      !(header instanceof Uint8Array) ||
      typeof headerSignature !== "string" ||
      !Array.isArray(batchIds)
    )
      throw new Error("shape");
    if (!batchIds.every((id): id is string => typeof id === "string")) throw new Error("batch ids");
    return { header, headerSignature, batchIds };
  } catch (err) {
    throw new GovchainError("INVALID_PROPOSAL", `malformed proposal payload: ${errorMessage(err)}`);
  }
}

/** The PBFT-specific part of a block's consensus fields: the chain and the view it was proposed in. */
export function encodePbftBlockData(chainId: string, view: number): Uint8Array {
  return encode([chainId, view]);
}

/** Creates the host. */
export function createPbftChainHost(
  options: PbftChainHostOptions,
): PbftHost & { candidateCount(): number } {
  const { chain, mempool, suite, fetcher, logger } = options;
  const candidates = new Map<string, Candidate>();
  const { epochs } = options;
  const services = createChainServices();
  let serial: Promise<unknown> = Promise.resolve();

  /** Chain work happens one call at a time, in the order PBFT asked for it. */
  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const next = serial.then(work, work);
    serial = next.catch(() => undefined);
    return next;
  };

  const refOf = (candidate: Candidate): ParentRef => ({
    id: candidate.id,
    height: candidate.header.blockNum,
    stateRoot: candidate.executed.stateRoot,
    timestampMs: candidate.executed.timestampMs,
  });

  const parentRef = (parentId: string): ParentRef | undefined => {
    const head = chain.head();
    if (head.id === parentId)
      return {
        id: head.id,
        height: head.height,
        stateRoot: head.stateRoot,
        timestampMs: head.timestampMs,
      };
    const candidate = candidates.get(parentId);
    return candidate ? refOf(candidate) : undefined;
  };

  const headOf = (): CommittedHead => {
    const head = chain.head();
    return { seq: Number(head.height), blockId: head.id, stateRoot: head.stateRoot };
  };

  /** Drops candidates that can no longer commit because the head moved past them. */
  const pruneBelowHead = (): void => {
    const height = chain.head().height;
    for (const [id, candidate] of candidates) {
      if (candidate.header.blockNum <= height) {
        candidates.delete(id);
        if (id !== chain.head().id) chain.abandon(candidate);
      }
    }
  };

  /** Checks a block's certificate against the validator set of the epoch that ordered it. */
  const certificateProblem = (
    certificate: CommitCertificate,
    seq: number,
    blockId: string,
  ): string | undefined =>
    certificateProblemIn(epochs.at(seq), options.chainId, suite, certificate, seq, blockId);

  const snapshotOptions = options.snapshot;
  const snapshot = snapshotOptions
    ? createSnapshotSync({
        chainId: options.chainId,
        chain,
        blocks: snapshotOptions.blocks,
        suite,
        epochs,
        fetcher,
        checkpointInterval: snapshotOptions.checkpointInterval,
        maxInFlight: snapshotOptions.maxInFlight,
        minGapBlocks: snapshotOptions.minGapBlocks,
        ...(snapshotOptions.nodesPerRequest !== undefined
          ? { nodesPerRequest: snapshotOptions.nodesPerRequest }
          : {}),
        clock: options.clock,
        logger,
        ...(snapshotOptions.onReport ? { onReport: snapshotOptions.onReport } : {}),
      })
    : undefined;

  /** Commits a candidate; a membership change it makes is stored in the same atomic write. */
  const commitCandidate = async (candidate: Candidate, certificate: Uint8Array): Promise<void> => {
    const height = Number(candidate.header.blockNum);
    const events = candidate.executed.receipts.flatMap((r) => r.events);
    const planned = await epochs.planFor(height, events, () =>
      services.getSetting(MEMBERS_SETTING, chain.readerAt(candidate.executed.stateRoot)),
    );
    const consensusOperations: KvOperation[] = planned
      ? [{ type: "put", key: EPOCHS_KEY, value: encodeHistory(planned) }]
      : [];
    await chain.commit(candidate, { certificate, consensusOperations });
    if (planned) {
      epochs.adopt(planned);
      logger.info("validator set change scheduled", {
        atHeight: height,
        firstBlock: planned.at(-1)?.firstSeq,
      });
    }
  };

  /** The batches of a proposal, from the mempool or from peers; undefined when some are missing. */
  const gatherBatches = async (
    batchIds: readonly string[],
    proposer: string | undefined,
  ): Promise<ParsedBatch[] | undefined> => {
    const found = new Map<string, ParsedBatch>();
    const missing: string[] = [];
    for (const id of batchIds) {
      const batch = mempool.get(id);
      if (batch) found.set(id, batch);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const raw of await fetcher.fetchBatches(missing, proposer)) {
        if (!missing.includes(raw.headerSignature) || found.has(raw.headerSignature)) continue;
        try {
          // Fetched batches come from peers: full structure and signature checks.
          const parsed = parseBatch(raw, { suite });
          verifyBatchSignatures(parsed, suite);
          found.set(parsed.id, parsed);
        } catch (err) {
          logger.warn("peer sent a bad batch", {
            batchId: raw.headerSignature.slice(0, 16),
            error: errorMessage(err),
          });
        }
      }
    }
    const batches: ParsedBatch[] = [];
    for (const id of batchIds) {
      const batch = found.get(id);
      if (!batch) return undefined;
      batches.push(batch);
    }
    return batches;
  };

  return {
    candidateCount: () => candidates.size,

    head: headOf,

    build(view, _seq, parentId) {
      return serialised(async () => {
        const parent = parentRef(parentId);
        if (!parent) return undefined;
        const candidate = await chain.propose({
          parent,
          timestampMs: options.clock.now(),
          engine: "pbft",
          engineData: encodePbftBlockData(options.chainId, view),
          limits: options.limits,
        });
        if (!candidate) return undefined;
        candidates.set(candidate.id, candidate);
        return {
          blockId: candidate.id,
          parentId: candidate.header.previousBlockId,
          payload: encodeProposalPayload(candidate.block),
        };
      });
    },

    validate(_view, seq, proposal) {
      return serialised(async () => {
        if (candidates.has(proposal.blockId)) return { valid: true };
        try {
          const { header, headerSignature, batchIds } = decodeProposalPayload(proposal.payload);
          if (headerSignature !== proposal.blockId)
            return { valid: false, reason: "payload is for another block" };
          const decoded = decodeBlockHeader(header);
          if (decoded.blockNum !== BigInt(seq))
            return { valid: false, reason: `block height ${decoded.blockNum} is not ${seq}` };
          if (decoded.previousBlockId !== proposal.parentId)
            return { valid: false, reason: "parent does not match the proposal" };
          const signer = epochs
            .at(seq)
            .validators.find((v) => v.publicKey === decoded.signerPublicKey);
          if (!signer) return { valid: false, reason: "the block is not signed by a validator" };
          const parent = parentRef(proposal.parentId);
          if (!parent) return { valid: false, reason: "unknown parent block" };
          const batches = await gatherBatches(batchIds, signer.id);
          if (!batches)
            throw new GovchainError(
              "BATCHES_UNAVAILABLE",
              "some batches of the proposal could not be fetched",
            );
          // The batches were parsed and their signatures verified when they arrived (client,
          // gossip or fetch); only the block-level checks remain (chain.validate checks the
          // block signature).
          const parsed = assembleParsedBlock(header, headerSignature, batches, { suite });
          mempool.claim(batchIds);
          let candidate: Candidate;
          try {
            candidate = await chain.validate(parsed, parent);
          } catch (err) {
            mempool.release(batchIds); // no candidate holds them after all
            throw err;
          }
          candidates.set(candidate.id, candidate);
          return { valid: true };
        } catch (err) {
          if (
            isGovchainError(err, "BLOCK_INVALID") ||
            isGovchainError(err, "INVALID_PROPOSAL") ||
            (isGovchainError(err) && err.code.startsWith("INVALID_"))
          ) {
            return { valid: false, reason: errorMessage(err) };
          }
          // Not a verdict on the block (batches unavailable, internal error): no answer, so
          // PBFT neither prepares nor condemns the primary; its timers decide.
          throw err;
        }
      });
    },

    commit(seq, proposal, certificate) {
      return serialised(async () => {
        const head = chain.head();
        if (Number(head.height) >= seq) return headOf(); // already committed (catch-up was faster)
        const candidate = candidates.get(proposal.blockId);
        if (!candidate)
          throw new GovchainError(
            "CANDIDATE_MISSING",
            `decided block ${proposal.blockId.slice(0, 16)} was not validated here`,
          );
        await commitCandidate(candidate, encodeCertificate(certificate));
        candidates.delete(candidate.id);
        pruneBelowHead();
        return headOf();
      });
    },

    discard(keep) {
      const kept = new Set(keep);
      for (const [id, candidate] of candidates) {
        if (kept.has(id)) continue;
        candidates.delete(id);
        chain.abandon(candidate);
      }
    },

    catchUp(seq) {
      return serialised(async () => {
        let rounds = Number.POSITIVE_INFINITY;
        let perRound = CATCH_UP_BLOCKS;
        if (snapshot && snapshotOptions) {
          const pending = snapshotOptions.blocks.pendingSnapshot();
          // Offers are asked for only when a large gap is plausible: a node a block or two
          // behind (the usual case) replays at once.
          if (pending || seq - Number(chain.head().height) >= snapshotOptions.minGapBlocks) {
            const outcome = await snapshot.run();
            if (outcome === "installed") pruneBelowHead();
            // No snapshot now (too few peers connected yet, or the attempt failed): replay one
            // round only, so that the next catch-up (PBFT retries it) tries a snapshot again
            // instead of this call replaying the whole gap. Right after a start peers connect
            // one by one: then only a few blocks, or a gap just above the threshold would be
            // replayed below it before the snapshot could be offered.
            else if (outcome !== "not-needed") {
              rounds = 1;
              if (outcome === "unavailable") perRound = CATCH_UP_BLOCKS_WHILE_CONNECTING;
            }
          }
          // Blocks above the head are already indexed: replaying them would find their
          // transactions committed. Only a later snapshot attempt may move the head.
          if (snapshotOptions.blocks.pendingSnapshot()) return headOf();
        }
        while (Number(chain.head().height) < seq && rounds-- > 0) {
          const head = chain.head();
          const fetched = await fetcher.fetchBlocks(head.height, perRound);
          if (fetched.length === 0) break;
          let progressed = false;
          for (const { block: bytes, certificate: certBytes } of fetched) {
            const current = chain.head();
            const raw = decodeBlock(bytes);
            const header = decodeBlockHeader(raw.header);
            if (header.blockNum !== current.height + 1n || header.previousBlockId !== current.id)
              continue;
            const certificate = decodeCertificate(certBytes);
            const problem = certificateProblem(
              certificate,
              Number(header.blockNum),
              raw.headerSignature,
            );
            if (problem) {
              logger.warn("peer sent a block with a bad certificate", {
                height: String(header.blockNum),
                problem,
              });
              break;
            }
            // A quorum certified it, so its batches were checked by honest validators; the
            // block is still re-executed here and its state root compared.
            const parsed = parseBlock(raw, { suite, verifySignatures: false });
            const candidate = await chain.validate(parsed);
            await commitCandidate(candidate, certBytes);
            progressed = true;
          }
          if (!progressed) break;
          pruneBelowHead();
        }
        return headOf();
      });
    },

    hasPendingWork: () => mempool.available > 0,

    onPendingWork: (listener) => mempool.onAvailable(listener),
  };
}

export { EPOCHS_KEY } from "./membership.js";

/** Public keys of the validators that signed a certificate (for status pages). */
export function certificateSigners(bytes: Uint8Array): string[] {
  return decodeCertificate(bytes).signatures.map((s) => s.validator);
}
