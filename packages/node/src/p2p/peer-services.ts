/**
 * What validators exchange besides consensus votes, over one `Transport`:
 *
 * - batch gossip: batches a node admits from its clients go to every peer before they are
 *   ordered, so proposals carry only batch ids (the primary's bandwidth is not the bottleneck);
 * - batch fetch: a replica missing some batches of a proposal asks the proposer, then others;
 * - block fetch: a node that fell behind asks peers for committed blocks with their commit
 *   certificates (it verifies and re-executes them itself);
 * - state sync (ADR 0010): a node far behind asks for the peers' heads and validator-set
 *   histories, for state nodes by hash, and for digests of blocks, with which it checks history
 *   it stores without executing against more than one peer.
 *
 * Every frame starts with a kind byte; PBFT frames are handed to the engine untouched.
 * Requests carry an id and time out; answers are bounded in size.
 */
import { decode, encode } from "cborg";
import type { Admission } from "../admission/admission.js";
import type { Mempool } from "../admission/mempool.js";
import { dropOldest } from "../common/bounded.js";
import type { Clock, Timer } from "../common/clock.js";
import { errorMessage, isGovchainError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { FetchedBlock, PeerFetcher } from "../consensus/pbft/chain-host.js";
import type { PbftLink } from "../consensus/pbft/driver.js";
import type { CryptoSuite } from "../crypto/interface.js";
import type { BlockStore } from "../ledger/block-store.js";
import type { Transport } from "../network/interface.js";
import {
  decodeBatchList,
  encodeBatchList,
  parseBatchList,
  verifyBatchSignatures,
  type WireLimits,
} from "../wire/index.js";
import type { Batch, ParsedBatch } from "../wire/types.js";

/** The first byte of every frame. */
export const FrameKind = {
  PBFT: 1,
  BATCHES: 2,
  BATCH_REQUEST: 3,
  BATCH_RESPONSE: 4,
  BLOCK_REQUEST: 5,
  BLOCK_RESPONSE: 6,
  HEAD: 7,
  SYNC_OFFER_REQUEST: 8,
  SYNC_OFFER_RESPONSE: 9,
  STATE_NODES_REQUEST: 10,
  STATE_NODES_RESPONSE: 11,
  BLOCK_DIGESTS_REQUEST: 12,
  BLOCK_DIGESTS_RESPONSE: 13,
  /** A PBFT frame relaying someone else's message (a help answer); never answered with help. */
  PBFT_RELAY: 14,
} as const;

/** Most state nodes asked for in one request. */
export const MAX_STATE_NODES_PER_REQUEST = 4_096;

/** Most block digests asked for in one request. */
export const MAX_DIGESTS_PER_REQUEST = 4_096;

/** Options of `createPeerServices`. */
export interface PeerServicesOptions {
  readonly transport: Transport;
  readonly suite: CryptoSuite;
  readonly limits: WireLimits;
  readonly admission: Admission;
  readonly mempool: Mempool;
  readonly blocks: BlockStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Receives PBFT frames (without the kind byte); `relayed` for PBFT_RELAY frames. */
  readonly onPbftFrame: (peer: string, frame: Uint8Array, relayed: boolean) => void;
  /** Told the committed height a peer announces (heads are exchanged every `headIntervalMs`). */
  readonly onPeerHead?: (peer: string, height: bigint) => void;
  /** How often to announce this node's head; default 2,000 ms. */
  readonly headIntervalMs?: number;
  /**
   * Batches this node admitted from its clients and still holds unordered after this long are
   * gossiped again (default 5,000 ms): a peer that was unreachable when they were first sent —
   * the primary's link to a validator that just restarted may still be in reconnect back-off —
   * would otherwise never see them, and a validator that is not the primary never orders them.
   */
  readonly regossipMs?: number;
  /** How long to wait for a peer's answer; default 2,000 ms. */
  readonly requestTimeoutMs?: number;
  /** Most blocks in one answer; default 64. */
  readonly maxBlocksPerResponse?: number;
  /**
   * Reads stored state nodes by hash (undefined where absent), to serve state sync; without
   * it, node requests are answered with nothing.
   */
  readonly readStateNodes?: (
    hashes: readonly Uint8Array[],
  ) => Promise<readonly (Uint8Array | undefined)[]>;
  /** Reads the stored validator-set history, offered to nodes that sync state. */
  readonly readEpochHistory?: () => Promise<Uint8Array | undefined>;
}

/** Peer services: gossip, fetches, and the PBFT link. */
export interface PeerServices extends PeerFetcher {
  readonly pbftLink: PbftLink;
  start(): void;
  stop(): void;
}

/** Batches gossiped again per period at most, so a backlog costs peers bounded verification. */
const REGOSSIP_MAX_BATCHES = 256;
/** Client batches remembered for gossiping again. */
const UNORDERED_MAX = 20_000;

const withKind = (kind: number, payload: Uint8Array): Uint8Array => {
  const frame = new Uint8Array(payload.length + 1);
  frame[0] = kind;
  frame.set(payload, 1);
  return frame;
};

/** Creates the services; `start` subscribes to the transport. */
export function createPeerServices(options: PeerServicesOptions): PeerServices {
  const { transport, suite, admission, mempool, blocks, clock, logger } = options;
  const timeoutMs = options.requestTimeoutMs ?? 2_000;
  const maxBlocks = options.maxBlocksPerResponse ?? 64;
  // Answers stay well under the frame limit.
  const maxResponseBytes = Math.floor(transport.maxFrameBytes / 2);
  let nextRequest = 1;
  const pending = new Map<number, { resolve: (payload: unknown) => void; timer: Timer }>();
  const unsubscribers: (() => void)[] = [];
  let headTimer: Timer | undefined;
  let regossipTimer: Timer | undefined;
  let running = false;
  const regossipMs = options.regossipMs ?? 5_000;
  // Client batches not yet ordered, oldest first, with when they were last gossiped. Bounded:
  // a batch still unordered after the bound's worth of newer ones is left to the others.
  const unordered = new Map<string, { raw: Batch; sentAt: number }>();

  const regossip = (): void => {
    if (!running) return;
    const now = clock.monotonic();
    const again: Batch[] = [];
    for (const [id, entry] of unordered) {
      if (!mempool.has(id)) {
        unordered.delete(id); // ordered, refused or dropped
        continue;
      }
      if (now - entry.sentAt < regossipMs || again.length >= REGOSSIP_MAX_BATCHES) continue;
      entry.sentAt = now;
      again.push(entry.raw);
    }
    if (again.length > 0) {
      logger.debug("gossiping unordered batches again", { batches: again.length });
      transport.broadcast(withKind(FrameKind.BATCHES, encodeBatchList(again)));
    }
    regossipTimer = clock.setTimer(regossipMs, regossip);
  };

  // A lagging node learns it is behind even when no consensus traffic flows (an idle network).
  const announceHead = (): void => {
    if (!running) return;
    const height = blocks.head()?.height;
    if (height !== undefined)
      transport.broadcast(withKind(FrameKind.HEAD, encode([height.toString()])));
    headTimer = clock.setTimer(options.headIntervalMs ?? 2_000, announceHead);
  };

  const request = (peer: string, kind: number, body: unknown[]): Promise<unknown> => {
    const id = nextRequest++;
    return new Promise((resolve) => {
      const timer = clock.setTimer(timeoutMs, () => {
        pending.delete(id);
        resolve(undefined);
      });
      pending.set(id, { resolve, timer });
      if (!transport.send(peer, withKind(kind, encode([id, ...body])))) {
        timer.cancel();
        pending.delete(id);
        resolve(undefined);
      }
    });
  };

  const answer = (payload: Uint8Array): void => {
    let id: unknown;
    let body: unknown;
    try {
      [id, body] = decode(payload) as [unknown, unknown];
    } catch {
      return;
    }
    const waiter = typeof id === "number" ? pending.get(id) : undefined;
    if (!waiter || typeof id !== "number") return;
    pending.delete(id);
    waiter.timer.cancel();
    waiter.resolve(body);
  };

  const fetchBlocksFrom = async (
    peer: string,
    height: bigint,
    limit: number,
  ): Promise<FetchedBlock[] | undefined> => {
    const body = await request(peer, FrameKind.BLOCK_REQUEST, [height.toString(), limit]);
    if (!Array.isArray(body)) return undefined;
    return body
      .filter(
        (pair): pair is [Uint8Array, Uint8Array] =>
          Array.isArray(pair) && pair[0] instanceof Uint8Array && pair[1] instanceof Uint8Array,
      )
      .map(([block, certificate]) => ({ block, certificate }));
  };

  const connectedPeers = (preferred?: string): string[] => {
    const ids = transport
      .peers()
      .filter((p) => p.connected)
      .map((p) => p.id);
    if (preferred && ids.includes(preferred))
      return [preferred, ...ids.filter((id) => id !== preferred)];
    return ids;
  };

  const onGossip = async (peer: string, payload: Uint8Array): Promise<void> => {
    let batches: ParsedBatch[];
    try {
      // Batches already pending here are left out before their signatures are checked: a list
      // gossiped again (see `regossip`) mostly holds those, and they were verified when they
      // first arrived. Only the rest is verified and submitted, so nothing unverified is queued.
      batches = parseBatchList(payload, {
        suite,
        limits: options.limits,
        verifySignatures: false,
      }).filter((batch) => !mempool.has(batch.id));
      for (const batch of batches) verifyBatchSignatures(batch, suite);
    } catch (err) {
      logger.warn("peer gossiped invalid batches", { peer, error: errorMessage(err) });
      return;
    }
    if (batches.length === 0) return;
    // What is already known is dropped, so one duplicate does not refuse the whole list (one
    // batched replay lookup, in admission).
    try {
      await admission.submitParsed(batches, "peer", { dropKnown: true });
    } catch (err) {
      const known =
        isGovchainError(err) &&
        (err.code === "ALREADY_PENDING" || err.code === "ALREADY_COMMITTED");
      if (!known) logger.debug("gossiped batches refused", { peer, error: errorMessage(err) });
    }
  };

  const onBatchRequest = async (peer: string, payload: Uint8Array): Promise<void> => {
    const [id, ids] = decode(payload) as [number, unknown];
    if (!Array.isArray(ids)) return;
    const found: Batch[] = [];
    let size = 0;
    for (const batchId of ids.slice(0, 1_000)) {
      if (typeof batchId !== "string") continue;
      let batch = mempool.get(batchId)?.raw;
      if (!batch) {
        const blockId = await blocks.batchBlockId(batchId);
        const block = blockId ? await blocks.getBlock(blockId) : undefined;
        batch = block?.block.batches.find((b) => b.headerSignature === batchId);
      }
      if (!batch) continue;
      const encoded = encodeBatchList([batch]).length;
      if (size + encoded > maxResponseBytes) break;
      size += encoded;
      found.push(batch);
    }
    transport.send(peer, withKind(FrameKind.BATCH_RESPONSE, encode([id, encodeBatchList(found)])));
  };

  const onBlockRequest = async (peer: string, payload: Uint8Array): Promise<void> => {
    const [id, fromHeight, limit] = decode(payload) as [number, unknown, unknown];
    if (
      typeof fromHeight !== "string" ||
      !/^\d{1,20}$/.test(fromHeight) ||
      typeof limit !== "number"
    )
      return;
    const out: [Uint8Array, Uint8Array][] = [];
    let size = 0;
    const head = blocks.head()?.height ?? 0n;
    for (
      let h = BigInt(fromHeight) + 1n;
      h <= head && out.length < Math.min(limit, maxBlocks);
      h++
    ) {
      // Encoded, not decoded: a node catching up asks for long runs of history.
      const block = await blocks.getEncodedBlockByHeight(h);
      const certificate = block ? await blocks.getCertificate(block.id) : undefined;
      if (!block || !certificate) break;
      if (out.length > 0 && size + block.bytes.length > maxResponseBytes) break;
      size += block.bytes.length + certificate.length;
      out.push([block.bytes, certificate]);
    }
    transport.send(peer, withKind(FrameKind.BLOCK_RESPONSE, encode([id, out])));
  };

  const onSyncOfferRequest = async (peer: string, payload: Uint8Array): Promise<void> => {
    const [id] = decode(payload) as [number];
    const height = blocks.head()?.height;
    if (height === undefined) return;
    const history = (await options.readEpochHistory?.()) ?? new Uint8Array(0);
    transport.send(
      peer,
      withKind(FrameKind.SYNC_OFFER_RESPONSE, encode([id, [height.toString(), history]])),
    );
  };

  const onStateNodesRequest = async (peer: string, payload: Uint8Array): Promise<void> => {
    const [id, hashes] = decode(payload) as [number, unknown];
    if (!Array.isArray(hashes)) return;
    const wanted = hashes
      .slice(0, MAX_STATE_NODES_PER_REQUEST)
      .filter((h): h is Uint8Array => h instanceof Uint8Array && h.length === 32);
    const found = options.readStateNodes ? await options.readStateNodes(wanted) : [];
    // Aligned with the request, absent nodes as empty strings; cut at the answer bound (the
    // asker asks again for the rest).
    const out: Uint8Array[] = [];
    let size = 0;
    for (let i = 0; i < wanted.length; i++) {
      const bytes = found[i] ?? EMPTY;
      if (size + bytes.length + 8 > maxResponseBytes) break;
      size += bytes.length + 8;
      out.push(bytes);
    }
    transport.send(peer, withKind(FrameKind.STATE_NODES_RESPONSE, encode([id, out])));
  };

  const onBlockDigestsRequest = async (peer: string, payload: Uint8Array): Promise<void> => {
    const [id, fromHeight, count] = decode(payload) as [number, unknown, unknown];
    if (
      typeof fromHeight !== "string" ||
      !/^\d{1,20}$/.test(fromHeight) ||
      typeof count !== "number"
    )
      return;
    const head = blocks.head()?.height ?? -1n;
    const out: Uint8Array[] = [];
    const from = BigInt(fromHeight);
    for (let h = from; h <= head && out.length < Math.min(count, MAX_DIGESTS_PER_REQUEST); h++) {
      const block = await blocks.getEncodedBlockByHeight(h);
      out.push(block ? suite.hash(block.bytes) : EMPTY);
    }
    transport.send(peer, withKind(FrameKind.BLOCK_DIGESTS_RESPONSE, encode([id, out])));
  };

  const onFrame = (peer: string, frame: Uint8Array): void => {
    const kind = frame[0];
    const payload = frame.subarray(1);
    const guard = (work: Promise<void>): void => {
      work.catch((err: unknown) =>
        logger.debug("peer frame failed", { peer, kind, error: errorMessage(err) }),
      );
    };
    switch (kind) {
      case FrameKind.PBFT:
        options.onPbftFrame(peer, Uint8Array.from(payload), false);
        return;
      case FrameKind.PBFT_RELAY:
        options.onPbftFrame(peer, Uint8Array.from(payload), true);
        return;
      case FrameKind.BATCHES:
        guard(onGossip(peer, Uint8Array.from(payload)));
        return;
      case FrameKind.BATCH_REQUEST:
        guard(Promise.resolve().then(() => onBatchRequest(peer, payload)));
        return;
      case FrameKind.BLOCK_REQUEST:
        guard(Promise.resolve().then(() => onBlockRequest(peer, payload)));
        return;
      case FrameKind.SYNC_OFFER_REQUEST:
        guard(Promise.resolve().then(() => onSyncOfferRequest(peer, payload)));
        return;
      case FrameKind.STATE_NODES_REQUEST:
        guard(Promise.resolve().then(() => onStateNodesRequest(peer, payload)));
        return;
      case FrameKind.BLOCK_DIGESTS_REQUEST:
        guard(Promise.resolve().then(() => onBlockDigestsRequest(peer, payload)));
        return;
      case FrameKind.HEAD: {
        try {
          const [height] = decode(payload) as [unknown];
          if (typeof height === "string" && /^\d{1,20}$/.test(height))
            options.onPeerHead?.(peer, BigInt(height));
        } catch {
          // ignore a malformed announcement
        }
        return;
      }
      case FrameKind.BATCH_RESPONSE:
      case FrameKind.BLOCK_RESPONSE:
      case FrameKind.SYNC_OFFER_RESPONSE:
      case FrameKind.STATE_NODES_RESPONSE:
      case FrameKind.BLOCK_DIGESTS_RESPONSE:
        answer(Uint8Array.from(payload));
        return;
      default:
        logger.debug("unknown frame kind", { peer, kind });
    }
  };

  return {
    pbftLink: {
      broadcast: (frame) => {
        transport.broadcast(withKind(FrameKind.PBFT, frame));
      },
      send: (to, frame, relay) => {
        transport.send(to, withKind(relay ? FrameKind.PBFT_RELAY : FrameKind.PBFT, frame));
      },
    },

    start() {
      running = true;
      announceHead();
      unsubscribers.push(transport.onFrame(onFrame));
      unsubscribers.push(
        admission.onAdmitted((batches, source) => {
          if (source !== "client") return;
          transport.broadcast(
            withKind(FrameKind.BATCHES, encodeBatchList(batches.map((b) => b.raw))),
          );
          const now = clock.monotonic();
          for (const b of batches) unordered.set(b.id, { raw: b.raw, sentAt: now });
          dropOldest(unordered, UNORDERED_MAX);
        }),
      );
      regossipTimer = clock.setTimer(regossipMs, regossip);
    },

    stop() {
      running = false;
      headTimer?.cancel();
      regossipTimer?.cancel();
      unordered.clear();
      for (const off of unsubscribers.splice(0)) off();
      for (const [id, waiter] of pending) {
        waiter.timer.cancel();
        waiter.resolve(undefined);
        pending.delete(id);
      }
    },

    async fetchBatches(ids, preferred) {
      const wanted = new Set(ids);
      const found: Batch[] = [];
      for (const peer of connectedPeers(preferred)) {
        if (wanted.size === 0) break;
        const body = await request(peer, FrameKind.BATCH_REQUEST, [[...wanted]]);
        if (!(body instanceof Uint8Array)) continue;
        try {
          for (const batch of decodeBatchList(body).batches) {
            if (!wanted.delete(batch.headerSignature)) continue;
            found.push(batch);
          }
        } catch {
          logger.debug("undecodable batch answer", { peer });
        }
      }
      return found;
    },

    async fetchBlocks(height, limit) {
      for (const peer of connectedPeers()) {
        const found = await fetchBlocksFrom(peer, height, limit);
        if (found && found.length > 0) return found;
      }
      return [];
    },

    fetchBlocksFrom,

    async syncOffers() {
      const answers = await Promise.all(
        connectedPeers().map(async (peer) => {
          const body = await request(peer, FrameKind.SYNC_OFFER_REQUEST, []);
          if (!Array.isArray(body)) return undefined;
          const [height, history] = body as [unknown, unknown];
          if (typeof height !== "string" || !/^\d{1,20}$/.test(height)) return undefined;
          return {
            peer,
            height: BigInt(height),
            ...(history instanceof Uint8Array && history.length > 0 ? { history } : {}),
          };
        }),
      );
      return answers.filter((a) => a !== undefined);
    },

    async fetchBlockDigests(peer, from, count) {
      const body = await request(peer, FrameKind.BLOCK_DIGESTS_REQUEST, [from.toString(), count]);
      if (!Array.isArray(body)) return undefined;
      return body.map((d) => (d instanceof Uint8Array && d.length > 0 ? d : undefined));
    },

    async fetchStateNodes(peer, hashes) {
      const body = await request(peer, FrameKind.STATE_NODES_REQUEST, [hashes]);
      if (!Array.isArray(body)) return undefined;
      return body.map((n) => (n instanceof Uint8Array && n.length > 0 ? n : undefined));
    },
  };
}

const EMPTY = new Uint8Array(0);
