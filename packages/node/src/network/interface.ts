/**
 * The transport contract. Consensus, gossip and block transfer see only `Transport`: opaque
 * frames to and from peers named by id, a peer set that membership changes replace, and peer
 * status for `/v1/status` and metrics. Sockets, TLS and keys stay behind it, so the same code
 * runs over `createTlsTransport` and over a deterministic simulated network. The executable form
 * of this contract is `test/network/transport-compliance.ts` (`describeTransportCompliance`).
 */
import type { Startable } from "../common/lifecycle.js";

/** A member of the peer set, as membership (on-chain settings) describes it. */
export interface PeerConfig {
  /** Node id, unique within the set. */
  readonly id: string;
  /** The node's chain public key, hex in the chain suite's encoding (Ed25519, secp256k1, SM2). */
  readonly publicKey: string;
  /** `host:port` (IPv6 as `[addr]:port`) where the node accepts connections; absent = it dials us. */
  readonly endpoint?: string;
}

/** What a transport knows of one configured peer. */
export interface PeerStatus {
  readonly id: string;
  /** Lower-case hex of the peer's chain public key. */
  readonly publicKey: string;
  /** The configured endpoint, if the peer accepts connections. */
  readonly endpoint: string | undefined;
  /** True while an authenticated connection is up; only then are frames sent and received. */
  readonly connected: boolean;
  /** Last heartbeat round-trip time in milliseconds; undefined until one was measured. */
  readonly rttMs: number | undefined;
  /** Wall-clock time (`Clock.now`, ms since the epoch) of the last frame received; undefined before any. */
  readonly lastSeenMs: number | undefined;
  /** Bytes received but not yet delivered (a partly received frame), when the transport knows. */
  readonly inboundQueueBytes?: number;
  /** Bytes accepted by `send` and not yet handed to the operating system. */
  readonly outboundQueueBytes: number;
  /** Authenticated connections established after the first one. */
  readonly reconnects: number;
  /** Frames refused by `send`/`broadcast` for this peer (not connected, or its queue full). */
  readonly droppedFrames: number;
}

/** Receives every frame from every connected peer, in order per peer. */
export type FrameHandler = (peerId: string, frame: Uint8Array) => void;

/** Receives a peer's status whenever it connects, disconnects or is removed from the set. */
export type PeerChangeHandler = (peer: PeerStatus) => void;

/**
 * Authenticated, ordered, message-oriented links to the peers of the current set.
 *
 * - Frames are opaque bytes of at most `maxFrameBytes`; each is delivered whole or not at all,
 *   in the order sent, while a connection lasts. Nothing is retried across connections: a frame
 *   queued when a connection drops is lost, and the layers above recover (PBFT retransmits).
 * - `send` never blocks and never buffers without bound: it returns false (and counts a drop)
 *   when the peer is unknown, not connected, or its outbound queue is full. It throws
 *   `NETWORK_FRAME_TOO_LARGE` for a frame over the limit — a caller's bug, not a network event.
 * - A frame passed to `send` must not be modified afterwards: it may be written out later.
 *   Frames handed to handlers may share memory with other frames of the same read, so a
 *   handler that keeps one for long should copy it.
 * - Handlers run synchronously, in registration order; an exception in one is logged and does
 *   not affect the connection or the other handlers. Each registration returns its removal.
 * - Only peers in the current set can connect; `setPeers` replaces the set, disconnects
 *   removed peers and connects added ones. Entries with the local id are not peers.
 * - `start` and `stop` are idempotent; after `stop` nothing is sent, delivered or scheduled.
 */
export interface Transport extends Startable {
  /** This node's id. */
  readonly localId: string;
  /** Largest frame `send` accepts and the receiver delivers, in bytes. */
  readonly maxFrameBytes: number;
  /** Queues `frame` for `peerId`; false when dropped (unknown, disconnected, queue full). */
  send(peerId: string, frame: Uint8Array): boolean;
  /** Sends `frame` to every connected peer; returns how many accepted it. */
  broadcast(frame: Uint8Array): number;
  /** Registers a frame handler; returns a function that removes it. */
  onFrame(handler: FrameHandler): () => void;
  /** Registers a peer change handler; returns a function that removes it. */
  onPeerChange(handler: PeerChangeHandler): () => void;
  /** Status of every peer in the current set, sorted by id. */
  peers(): PeerStatus[];
  /**
   * Replaces the peer set (membership change). Throws `NETWORK_INVALID_PEER_CONFIG`, changing
   * nothing, for duplicate ids or keys, keys the chain suite does not accept, or bad endpoints.
   */
  setPeers(peers: readonly PeerConfig[]): void;
}
