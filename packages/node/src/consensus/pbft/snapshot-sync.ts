/**
 * Catch-up by state snapshot (S0.4, P7; ADR 0010). A node far behind its peers does not
 * re-execute every block: it takes the state at a recent checkpoint block from them and
 * replays only the blocks after it.
 *
 * 1. **Trust anchor.** The peers offer their committed heights and validator-set histories. The
 *    target is the highest checkpoint height c they reach. A history is accepted only if it
 *    extends the epochs this node already knows and every validator-set change in it is proven:
 *    the boundary block that ends each epoch is certified by the previous set, and the new set
 *    is the membership setting in that block's state (read from peers, each node checked
 *    against the certified state root). Block c's commit certificate is then checked against
 *    the set of c's epoch, so its header's state root is what the snapshot must reproduce.
 * 2. **State.** `Chain.syncState` copies the nodes of that root the store lacks, verifying each.
 *    A change voted at or before c that takes effect after c is checked against the
 *    membership setting in the synced state.
 * 3. **History**, fetched while the state transfers. The blocks between the head and c are
 *    stored without executing them — with their batch and transaction indexes, so replay
 *    protection covers them, and their certificates, but no receipts. Their bytes are checked
 *    where the certificate cannot reach them: a block header names its batches by id only, so
 *    a lying peer could change batch contents unnoticed. Each block's digest must therefore
 *    be vouched for by f + 1 distinct validators of c's epoch (the sender counting if it is
 *    one): one of them is honest. Headers must link from the head up to c, be signed by a
 *    validator and carry a valid certificate. While this runs the block store records c as its
 *    pending snapshot: blocks above the head are indexed, so only the snapshot may move the
 *    head past them.
 * 4. **Install.** Block c becomes the head in one synced write with the epoch history, without
 *    being executed; blocks after c are replayed by the caller as before.
 */
import type { Chain, StateNodeSource, StateSyncReport } from "../../chain/chain.js";
import type { Clock } from "../../common/clock.js";
import { errorMessage, GovchainError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CryptoSuite } from "../../crypto/interface.js";
import { createChainServices } from "../../families/chain-services.js";
import type { BlockStore, HistoryBlock } from "../../ledger/block-store.js";
import { decodeBlock, decodeBlockHeader, decodeConsensusFields } from "../../wire/index.js";
import type { Block, BlockHeader } from "../../wire/types.js";
import type { FetchedBlock, PeerFetcher, SyncOffer } from "./chain-host.js";
import { faultsTolerated, quorumSize } from "./config.js";
import {
  decodeHistory,
  EPOCHS_KEY,
  type Epoch,
  type EpochBook,
  encodeHistory,
  epochAt,
  epochDomain,
  MEMBERS_SETTING,
  type Member,
  parseMembership,
} from "./membership.js";
import { type CommitCertificate, checkCertificate, decodeCertificate } from "./messages.js";

/** Options of `createSnapshotSync`. */
export interface SnapshotSyncOptions {
  readonly chainId: string;
  readonly chain: Chain;
  readonly blocks: BlockStore;
  readonly suite: CryptoSuite;
  readonly epochs: EpochBook;
  readonly fetcher: PeerFetcher;
  readonly checkpointInterval: number;
  readonly maxInFlight: number;
  /**
   * Blocks between the head and the peers' latest checkpoint from which a snapshot is taken
   * instead of replaying blocks.
   */
  readonly minGapBlocks: number;
  /** State nodes asked of a peer per request; default 2,048. */
  readonly nodesPerRequest?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told the outcome of every attempt (metrics). */
  readonly onReport?: (report: SnapshotReport) => void;
}

/** What one snapshot attempt did. */
export interface SnapshotReport {
  readonly outcome: "installed" | "failed";
  /** The checkpoint height aimed at. */
  readonly height: bigint;
  /** The state transfer, when it ran. */
  readonly state?: StateSyncReport;
  /** Blocks below the checkpoint stored without execution (fetched or found stored). */
  readonly blocksStored: number;
  /** Bytes of the blocks fetched. */
  readonly blockBytes: number;
  readonly seconds: number;
  readonly error?: string;
}

/** Catch-up by snapshot. */
export interface SnapshotSync {
  /**
   * Installs a snapshot when the peers' latest checkpoint is at least `minGapBlocks` above the
   * head (or a snapshot is pending). `not-needed`: the peers are close, replay blocks;
   * `unavailable`: no peer answered (none connected yet); `failed`: see the log. After the
   * last two a later attempt may succeed; with a snapshot pending, only one may move the head.
   */
  run(): Promise<"installed" | "not-needed" | "unavailable" | "failed">;
}

/** Blocks asked for per history request (the peers' answer bound is 64). */
const HISTORY_CHUNK = 64;

/** A decoded committed block with its certificate. */
interface Certified {
  readonly id: string;
  readonly raw: Block;
  readonly header: BlockHeader;
  readonly bytes: Uint8Array;
  readonly certificate: Uint8Array;
}

/** Checks `certificate` for block `seq` against the validator set of `epoch`. */
export function certificateProblemIn(
  epoch: Epoch,
  chainId: string,
  suite: CryptoSuite,
  certificate: CommitCertificate,
  seq: number,
  blockId: string,
): string | undefined {
  const keys = new Map(epoch.validators.map((v) => [v.id, v.publicKey]));
  return checkCertificate(
    certificate,
    { seq, blockId },
    {
      chainId: epochDomain(chainId, epoch.number),
      validators: [...keys.keys()],
      quorum: quorumSize(keys.size),
      verify: (sender, data, signature) => {
        const key = keys.get(sender);
        return key !== undefined && suite.verify(Buffer.from(key, "hex"), data, signature);
      },
    },
  );
}

function memberKey(m: Member): string {
  return `${m.id}|${m.publicKey}|${m.endpoint ?? ""}`;
}

function sameMembers(
  a: { readonly validators: readonly Member[]; readonly observers: readonly Member[] },
  b: { readonly validators: readonly Member[]; readonly observers: readonly Member[] },
): boolean {
  const list = (ms: readonly Member[]): string => ms.map(memberKey).join(",");
  return list(a.validators) === list(b.validators) && list(a.observers) === list(b.observers);
}

function sameEpoch(a: Epoch, b: Epoch): boolean {
  return a.number === b.number && a.firstSeq === b.firstSeq && sameMembers(a, b);
}

function sameHistory(a: readonly Epoch[], b: readonly Epoch[]): boolean {
  return a.length === b.length && a.every((e, i) => sameEpoch(e, b[i] as Epoch));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function refused(message: string, context: Record<string, unknown> = {}): GovchainError {
  return new GovchainError("SNAPSHOT_REFUSED", message, context);
}

/** Creates the snapshot catch-up. */
export function createSnapshotSync(options: SnapshotSyncOptions): SnapshotSync {
  const { chain, blocks, suite, epochs, fetcher, logger, clock } = options;
  const K = BigInt(options.checkpointInterval);
  const services = createChainServices();

  const nodeSource = (peers: readonly string[]): StateNodeSource => ({
    peers,
    request: (peer, hashes) => fetcher.fetchStateNodes(peer, hashes),
  });

  /** Decodes a fetched block at `height` and checks its certificate against `epoch`. */
  const certified = (fetched: FetchedBlock, height: bigint, epoch: Epoch): Certified | string => {
    let raw: Block;
    let header: BlockHeader;
    try {
      raw = decodeBlock(fetched.block);
      header = decodeBlockHeader(raw.header);
    } catch (err) {
      return `undecodable block: ${errorMessage(err)}`;
    }
    if (header.blockNum !== height) return `block ${header.blockNum} is not at ${height}`;
    // The certificate names the id, the id is the header's signature: check both.
    if (!epoch.validators.some((v) => v.publicKey === header.signerPublicKey))
      return "the block is not signed by a validator of its epoch";
    if (
      !suite.verify(
        Buffer.from(header.signerPublicKey, "hex"),
        raw.header,
        Buffer.from(raw.headerSignature, "hex"),
      )
    )
      return "the block signature does not verify";
    let certificate: CommitCertificate;
    try {
      certificate = decodeCertificate(fetched.certificate);
    } catch (err) {
      return `undecodable certificate: ${errorMessage(err)}`;
    }
    const problem = certificateProblemIn(
      epoch,
      options.chainId,
      suite,
      certificate,
      Number(height),
      raw.headerSignature,
    );
    if (problem) return problem;
    return {
      id: raw.headerSignature,
      raw,
      header,
      bytes: fetched.block,
      certificate: fetched.certificate,
    };
  };

  /** Block `height` with a certificate valid under `epoch`, from the first holder that has it. */
  const fetchCertified = async (
    height: bigint,
    epoch: Epoch,
    holders: readonly string[],
  ): Promise<Certified> => {
    for (const peer of holders) {
      const [fetched] = (await fetcher.fetchBlocksFrom(peer, height - 1n, 1)) ?? [];
      if (!fetched) continue;
      const result = certified(fetched, height, epoch);
      if (typeof result !== "string") return result;
      logger.warn("peer sent a block that does not check out", {
        peer,
        height: String(height),
        problem: result,
      });
    }
    throw refused(`no peer supplied a certified block at ${height}`, { height: String(height) });
  };

  /**
   * The history `claimed` by a peer, if it extends what this node knows and each change in it
   * up to `c` is proven by a certified boundary block and the membership in its state.
   */
  const verifyHistory = async (
    claimed: readonly Epoch[],
    head: bigint,
    c: bigint,
    holders: readonly string[],
  ): Promise<Epoch[]> => {
    const known = epochs.history().filter((e) => BigInt(e.firstSeq) <= head + 1n);
    if (claimed.length < known.length || !known.every((e, i) => sameEpoch(e, claimed[i] as Epoch)))
      throw refused("the offered history does not extend this node's validator sets");
    for (let i = known.length; i < claimed.length; i++) {
      const epoch = claimed[i] as Epoch;
      const previous = claimed[i - 1] as Epoch;
      const boundary = BigInt(epoch.firstSeq - 1);
      if (
        epoch.number !== previous.number + 1 ||
        epoch.firstSeq <= previous.firstSeq ||
        boundary % K !== 0n
      )
        throw refused("the offered history is malformed", { epoch: epoch.number });
      if (boundary > c) continue; // takes effect after c: checked against c's state later
      const block = await fetchCertified(boundary, previous, holders);
      const members = await services.getSetting(
        MEMBERS_SETTING,
        chain.remoteReader(block.header.stateRootHash, nodeSource(holders)),
      );
      const parsed = members === undefined ? undefined : parseMembership(members);
      if (parsed === undefined || typeof parsed === "string" || !sameMembers(parsed, epoch))
        throw refused("an offered validator set is not the membership its boundary block holds", {
          epoch: epoch.number,
          boundary: String(boundary),
        });
    }
    return [...claimed];
  };

  /**
   * A change voted at or before c and taking effect after c is known only from the peers'
   * history: check it (or its absence) against the membership setting in c's state.
   */
  const checkPending = async (history: readonly Epoch[], anchor: Certified): Promise<void> => {
    const c = Number(anchor.header.blockNum);
    const inForce = epochAt(history, c);
    const later = history.filter((e) => e.firstSeq > c + 1);
    const members = await services.getSetting(
      MEMBERS_SETTING,
      chain.readerAt(anchor.header.stateRootHash),
    );
    if (members === undefined) {
      if (later.length > 0) throw refused("the offered history schedules a change no vote made");
      return;
    }
    const parsed = parseMembership(members);
    if (typeof parsed === "string") throw refused("the membership setting does not parse");
    if (later.length === 0) {
      if (!sameMembers(parsed, inForce))
        throw refused("the offered history misses a validator-set change voted before c");
      return;
    }
    const next = later[0] as Epoch;
    const latest =
      Math.ceil((c + options.maxInFlight) / options.checkpointInterval) *
      options.checkpointInterval;
    if (
      later.length > 1 ||
      next.number !== inForce.number + 1 ||
      next.firstSeq - 1 > latest ||
      !sameMembers(parsed, next)
    )
      throw refused("the offered history's pending change does not match c's state");
  };

  /**
   * Stores the blocks between the head and c, each vouched for by f + 1 validators (see the
   * module comment). Blocks already stored by an earlier attempt are reused.
   */
  const storeBlocksBelow = async (
    anchor: Certified,
    history: readonly Epoch[],
    holders: readonly string[],
  ): Promise<{ stored: number; bytes: number }> => {
    const head = chain.head();
    const c = anchor.header.blockNum;
    const target = { height: c, id: anchor.id };
    const inForce = epochAt(history, Number(c));
    const validatorIds = new Set(inForce.validators.map((v) => v.id));
    const needed = faultsTolerated(inForce.validators.length) + 1;
    const digests = new Map<string, { from: bigint; list: (Uint8Array | undefined)[] }>();
    const bad = new Set<string>();
    let stored = 0;
    let bytes = 0;
    let previous = head.id;
    let height = head.height + 1n;

    const vouchers = async (from: bigint, list: readonly Certified[], source: string) => {
      const to = from + BigInt(list.length) - 1n;
      const counts = list.map((): number => (validatorIds.has(source) ? 1 : 0));
      await Promise.all(
        holders
          .filter((p) => p !== source && validatorIds.has(p))
          .map(async (peer) => {
            let cached = digests.get(peer);
            if (!cached || from < cached.from || to >= cached.from + BigInt(cached.list.length)) {
              // Only the blocks of this chunk: a peer reads and hashes every block it vouches
              // for, and asked for thousands of blocks of a few MB it cannot answer within the
              // request timeout (1M transactions in 5,000-transaction blocks: ~660 MB), which
              // made the sync drop honest sources as unvouched.
              const list = await fetcher.fetchBlockDigests(peer, from, Number(to - from) + 1);
              cached = { from, list: list ?? [] };
              digests.set(peer, cached);
            }
            for (let i = 0; i < list.length; i++) {
              const theirs = cached.list[Number(from - cached.from) + i];
              const block = list[i] as Certified;
              if (theirs && sameBytes(theirs, suite.hash(block.bytes)))
                counts[i] = (counts[i] ?? 0) + 1;
            }
          }),
      );
      return counts.every((n) => n >= needed);
    };

    while (height < c) {
      // Left by an earlier attempt (verified then, and recorded under the pending snapshot).
      const local = await blocks.getEncodedBlockByHeight(height);
      if (local) {
        const localHeader = decodeBlockHeader(decodeBlock(local.bytes).header);
        if (localHeader.previousBlockId === previous) {
          previous = local.id;
          height++;
          stored++;
          continue;
        }
      }
      const sources = holders.filter((p) => !bad.has(p));
      if (sources.length === 0)
        throw refused("no peer supplied verifiable history", { height: String(height) });
      const source = sources[Number(height / BigInt(HISTORY_CHUNK)) % sources.length] as string;
      const limit = Math.min(HISTORY_CHUNK, Number(c - height));
      const fetched = await fetcher.fetchBlocksFrom(source, height - 1n, limit);
      const chunk: Certified[] = [];
      let problem: string | undefined;
      let link = previous;
      for (const [i, item] of (fetched ?? []).entries()) {
        const at = height + BigInt(i);
        if (at >= c) break;
        const result = certified(item, at, epochAt(history, Number(at)));
        if (typeof result === "string") problem = result;
        else if (result.header.previousBlockId !== link) problem = "it does not link to its parent";
        if (problem !== undefined || typeof result === "string") break;
        chunk.push(result);
        link = result.id;
      }
      if (chunk.length === 0 || problem !== undefined) {
        if (problem !== undefined || fetched !== undefined) {
          logger.warn("peer sent history that does not check out", {
            peer: source,
            height: String(height),
            problem: problem ?? "no blocks",
          });
        }
        bad.add(source);
        continue;
      }
      if (!(await vouchers(height, chunk, source))) {
        logger.warn("too few validators vouch for a peer's history", {
          peer: source,
          height: String(height),
        });
        bad.add(source);
        continue;
      }
      const toStore: HistoryBlock[] = chunk.map((b) => ({
        id: b.id,
        height: b.header.blockNum,
        block: b.raw,
        bytes: b.bytes,
        certificate: b.certificate,
      }));
      await chain.storeHistory(toStore, target);
      for (const b of chunk) bytes += b.bytes.length;
      stored += chunk.length;
      previous = link;
      height += BigInt(chunk.length);
    }
    if (anchor.header.previousBlockId !== previous)
      throw refused("the stored history does not link to the checkpoint block");
    return { stored, bytes };
  };

  /** The offers' histories, best peer first, each tried until one verifies. */
  const chooseHistory = async (
    offers: readonly SyncOffer[],
    head: bigint,
    c: bigint,
    holders: readonly string[],
  ): Promise<Epoch[]> => {
    let last: unknown;
    for (const offer of offers) {
      if (!holders.includes(offer.peer)) continue;
      try {
        const claimed = offer.history ? decodeHistory(offer.history) : epochs.history().slice(0, 1); // nothing stored: the genesis set never changed
        return await verifyHistory(claimed, head, c, holders);
      } catch (err) {
        last = err;
        logger.warn("peer offered a validator-set history that does not check out", {
          peer: offer.peer,
          error: errorMessage(err),
        });
      }
    }
    throw last ?? refused("no peer offered a validator-set history");
  };

  return {
    async run() {
      const started = clock.monotonic();
      const head = chain.head();
      const pending = blocks.pendingSnapshot();
      const offers = [...(await fetcher.syncOffers())].sort((a, b) =>
        a.height === b.height ? 0 : a.height > b.height ? -1 : 1,
      );
      if (offers.length === 0) return "unavailable";
      const best = offers[0]?.height ?? 0n;
      const c = (best / K) * K;
      if (c <= head.height || (pending === undefined && c - head.height < options.minGapBlocks))
        return "not-needed";
      let state: StateSyncReport | undefined;
      let stored = { stored: 0, bytes: 0 };
      const report = (outcome: "installed" | "failed", error?: string): SnapshotReport => ({
        outcome,
        height: c,
        ...(state ? { state } : {}),
        blocksStored: stored.stored,
        blockBytes: stored.bytes,
        seconds: (clock.monotonic() - started) / 1000,
        ...(error !== undefined ? { error } : {}),
      });
      try {
        if (pending && c < pending.height)
          throw refused("the peers are below the snapshot this node started", {
            pending: String(pending.height),
          });
        const holders = offers.filter((o) => o.height >= c).map((o) => o.peer);
        // History needs f + 1 validators to vouch for it: wait for them rather than transfer
        // state now and fail later (right after start, peers connect one by one).
        const known = epochs.at(Number(head.height) + 1);
        const vouching = holders.filter((p) => known.validators.some((v) => v.id === p));
        if (vouching.length < faultsTolerated(known.validators.length) + 1) {
          logger.debug("too few validators connected for a state snapshot", { peers: holders });
          return "unavailable";
        }
        logger.info("catching up by state snapshot", {
          head: String(head.height),
          checkpoint: String(c),
          peers: holders,
        });
        const history = await chooseHistory(offers, head.height, c, holders);
        const anchor = await fetchCertified(c, epochAt(history, Number(c)), holders);
        // The state and the history below c are independent once c is certified: fetched
        // together, the joiner verifies and writes one while peers serve the other (P7: 36 s
        // of state and 29 s of history at 1M transactions, one after the other before). Both
        // are settled before anything fails, so no attempt leaves work running behind it.
        const [synced, belowCheckpoint] = await Promise.allSettled([
          chain
            .syncState(
              anchor.header.stateRootHash,
              nodeSource(holders),
              options.nodesPerRequest !== undefined
                ? { maxNodesPerRequest: options.nodesPerRequest }
                : {},
            )
            .then((done) => {
              logger.info("state snapshot transferred", {
                checkpoint: String(c),
                nodesTransferred: done.nodesTransferred,
                bytesTransferred: done.bytesTransferred,
                nodesPresent: done.nodesPresent,
                nodesRejected: done.nodesRejected,
                droppedPeers: done.droppedPeers,
              });
              return done;
            }),
          storeBlocksBelow(anchor, history, holders),
        ]);
        if (belowCheckpoint.status === "fulfilled") stored = belowCheckpoint.value;
        if (synced.status === "rejected") throw synced.reason;
        state = synced.value;
        if (belowCheckpoint.status === "rejected") throw belowCheckpoint.reason;
        await checkPending(history, anchor);
        const changed = !sameHistory(history, epochs.history());
        await chain.installSnapshot({
          id: anchor.id,
          header: anchor.header,
          consensus: decodeConsensusFields(anchor.header.consensus),
          block: anchor.raw,
          bytes: anchor.bytes,
          certificate: anchor.certificate,
          consensusOperations: [{ type: "put", key: EPOCHS_KEY, value: encodeHistory(history) }],
        });
        if (changed) epochs.adopt(history);
        const done = report("installed");
        logger.info("state snapshot installed", {
          height: String(c),
          blocksStored: done.blocksStored,
          blockBytes: done.blockBytes,
          seconds: Number(done.seconds.toFixed(3)),
        });
        options.onReport?.(done);
        return "installed";
      } catch (err) {
        const failed = report("failed", errorMessage(err));
        logger.warn("state snapshot failed", {
          checkpoint: String(c),
          error: failed.error,
          seconds: Number(failed.seconds.toFixed(3)),
        });
        options.onReport?.(failed);
        return "failed";
      }
    },
  };
}
