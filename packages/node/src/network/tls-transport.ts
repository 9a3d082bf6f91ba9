/**
 * The validator transport over Node's TLS 1.3 (`node:tls`, OpenSSL). Each run has an ephemeral
 * Ed25519 certificate (tls-identity.ts); both sides present theirs (mutual TLS, no chain
 * validation), then authenticate with hellos signed by their chain keys that bind the
 * certificate fingerprint and the other side's nonce (hello.ts). Only keys of the current peer
 * set get through. docs/adr/0007-transport.md gives the measurements and the threat model.
 *
 * Link protocol after the TLS handshake, each side independently:
 *   send NONCE → on the peer's NONCE send HELLO → on the peer's valid HELLO send READY
 *   → connected once we accepted its HELLO and got its READY.
 * So neither side reports a peer connected before both accepted each other, and DATA never
 * precedes authentication on the wire.
 *
 * One connection per pair: the smaller id dials when both have endpoints; a node without an
 * endpoint of its own (its entry in the peer list has none, or it does not listen) dials every
 * peer that has one. Should both ever dial, the connection dialled by the smaller id wins; a
 * newer connection from the same dialer replaces the older one (the peer restarted and our
 * side has not noticed yet).
 */
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import {
  createSecureContext,
  type SecureContext,
  type TLSSocket,
  TLSSocket as TLSSocketClass,
  connect as tlsConnect,
} from "node:tls";
import { toHex } from "../common/bytes.js";
import { type Clock, systemClock, type Timer } from "../common/clock.js";
import { errorMessage } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/logger.js";
import { type Random, systemRandom } from "../common/random.js";
import { backoffDelay } from "./backoff.js";
import { formatEndpoint } from "./endpoint.js";
import { CloseReason, NetworkErrorCode, networkError } from "./errors.js";
import { FrameType } from "./frame-codec.js";
import {
  checkHello,
  createHello,
  decodeHello,
  decodeNonceFrame,
  encodeHello,
  encodeNonceFrame,
  NONCE_BYTES,
} from "./hello.js";
import type {
  FrameHandler,
  PeerChangeHandler,
  PeerConfig,
  PeerStatus,
  Transport,
} from "./interface.js";
import {
  PRE_AUTH_MAX_FRAME_BYTES,
  type ResolvedPeer,
  type ResolvedTransportLimits,
  resolvePeerSet,
  resolveTransportLimits,
  type TlsTransportOptions,
  TRANSPORT_DEFAULTS,
} from "./options.js";
import { createTlsIdentity } from "./tls-identity.js";
import { type ClosedBy, TlsLink } from "./tls-link.js";

/** Closes decided locally that are routine, not refusals: not logged as warnings. */
const ORDERLY_CLOSES: ReadonlySet<CloseReason> = new Set([
  CloseReason.SHUTDOWN,
  CloseReason.PEER_REMOVED,
  CloseReason.REPLACED,
]);

/** ALPN protocol id: keeps HTTP clients and other TLS software from being taken for peers. */
export const TRANSPORT_ALPN = "govchain-transport/1";

/** Counters of a transport since it was created (they survive restarts), for metrics. */
export interface TransportStats {
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** Frames refused by `send`: unknown peer, not connected, queue full. */
  readonly droppedFrames: {
    readonly unknownPeer: number;
    readonly notConnected: number;
    readonly queueFull: number;
  };
  /** Authenticated connections established. */
  readonly connectionsOpened: number;
  /** Connections closed or refused, by reason and by which side closed. */
  readonly closes: Readonly<Record<string, { readonly local: number; readonly remote: number }>>;
}

/** A `Transport` over mutual TLS 1.3 with chain-key hellos. */
export interface TlsTransport extends Transport {
  /** `host:port` it listens on once started (the OS-assigned port when 0 was asked). */
  readonly listenEndpoint: string | undefined;
  /** Hex suite-hash of this run's TLS certificate (a new one at every start). */
  readonly certificateFingerprint: string | undefined;
  /** Counters for metrics. */
  stats(): TransportStats;
}

/** Per-peer state. Replaced (not mutated in place) when the peer's key changes. */
interface PeerEntry {
  config: ResolvedPeer;
  /** The authenticated (or READY-pending) connection. */
  link: LinkState | undefined;
  /** An outbound connection still authenticating. */
  dialing: LinkState | undefined;
  retryTimer: Timer | undefined;
  /** Consecutive failed dials, for the backoff. */
  attempts: number;
  everConnected: boolean;
  reconnects: number;
  dropped: number;
  rttMs: number | undefined;
  lastSeenMs: number | undefined;
}

/** A connection with its authentication state. */
interface LinkState {
  readonly link: TlsLink;
  /** For outbound connections: whom we dialled. */
  readonly expectedPeerId: string | undefined;
  readonly localNonce: Uint8Array;
  /** Suite hash of the certificate the peer presented; set once TLS is up. */
  peerFingerprint: Uint8Array | undefined;
  remoteNonce: Uint8Array | undefined;
  /** The peer whose hello we accepted. */
  peer: PeerEntry | undefined;
  readyReceived: boolean;
  open: boolean;
  handshakeTimer: Timer | undefined;
  /** Heartbeat intervals since anything was received. */
  silentTicks: number;
  /** The id a refused hello claimed, for the log. */
  claimedId?: string;
}

/** Creates (does not start) a TLS transport. Throws `NETWORK_INVALID_OPTIONS` / `NETWORK_INVALID_PEER_CONFIG`. */
export function createTlsTransport(options: TlsTransportOptions): TlsTransport {
  const limits: ResolvedTransportLimits = resolveTransportLimits(options);
  const clock: Clock = options.clock ?? systemClock;
  const random: Random = options.random ?? systemRandom;
  const log: Logger = (options.logger ?? silentLogger).child("network");
  const { suite, signer, chainId, localId } = options;
  const localPublicKey = signer.publicKeyHex.toLowerCase();
  const listen =
    options.listen === false
      ? undefined
      : {
          host: options.listen?.host ?? TRANSPORT_DEFAULTS.listenHost,
          port: options.listen?.port ?? 0,
        };

  let peerSet = resolvePeerSet(options.peers ?? [], localId, suite);
  const peers = new Map<string, PeerEntry>();
  const idByKey = new Map<string, string>();
  const frameHandlers = new Set<FrameHandler>();
  const changeHandlers = new Set<PeerChangeHandler>();
  /** Every connection whose socket has not yet closed (authenticated or not). */
  const links = new Set<LinkState>();
  /** Inbound connections not yet authenticated (bounded by `maxPendingConnections`). */
  const handshaking = new Set<LinkState>();
  const releaseWaiters = new Set<() => void>();

  let running = false;
  let lifecycle: Promise<void> = Promise.resolve();
  let server: Server | undefined;
  let secureContext: SecureContext | undefined;
  let fingerprint: Uint8Array | undefined;
  let boundEndpoint: string | undefined;
  let heartbeatTimer: Timer | undefined;

  const stats = {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    droppedFrames: { unknownPeer: 0, notConnected: 0, queueFull: 0 },
    connectionsOpened: 0,
    closes: {} as Record<string, { local: number; remote: number }>,
  };

  const newEntry = (config: ResolvedPeer): PeerEntry => ({
    config,
    link: undefined,
    dialing: undefined,
    retryTimer: undefined,
    attempts: 0,
    everConnected: false,
    reconnects: 0,
    dropped: 0,
    rttMs: undefined,
    lastSeenMs: undefined,
  });
  for (const config of peerSet.peers.values()) {
    peers.set(config.id, newEntry(config));
    idByKey.set(config.publicKey, config.id);
  }

  // ---- status and events -------------------------------------------------------------------

  const statusOf = (entry: PeerEntry, connected = entry.link?.open === true): PeerStatus => ({
    id: entry.config.id,
    publicKey: entry.config.publicKey,
    endpoint: entry.config.endpoint,
    connected,
    rttMs: entry.rttMs,
    lastSeenMs: entry.lastSeenMs,
    inboundQueueBytes: entry.link?.open === true ? entry.link.link.inboundBytes : 0,
    outboundQueueBytes: entry.link?.open === true ? entry.link.link.outboundBytes : 0,
    reconnects: entry.reconnects,
    droppedFrames: entry.dropped,
  });

  const emitChange = (status: PeerStatus): void => {
    for (const handler of changeHandlers) {
      try {
        handler(status);
      } catch (err) {
        log.error("peer change handler failed", { peer: status.id, error: errorMessage(err) });
      }
    }
  };

  const countClose = (reason: CloseReason, by: ClosedBy): void => {
    const counter = stats.closes[reason] ?? { local: 0, remote: 0 };
    counter[by]++;
    stats.closes[reason] = counter;
  };

  // ---- dialling ------------------------------------------------------------------------------

  /** Whether we can be dialled: our own entry says so, or (without one) we listen. */
  const reachable = (): boolean =>
    peerSet.self !== undefined ? peerSet.self.endpoint !== undefined : listen !== undefined;

  const shouldDial = (entry: PeerEntry): boolean =>
    entry.config.host !== undefined && (localId < entry.config.id || !reachable());

  const scheduleDial = (entry: PeerEntry): void => {
    if (!running || peers.get(entry.config.id) !== entry || !shouldDial(entry)) return;
    if (entry.link !== undefined || entry.dialing !== undefined || entry.retryTimer !== undefined)
      return;
    const delay = backoffDelay(
      entry.attempts,
      { baseMs: limits.reconnectBaseMs, maxMs: limits.reconnectMaxMs },
      random,
    );
    entry.attempts++;
    entry.retryTimer = clock.setTimer(delay, () => {
      entry.retryTimer = undefined;
      dial(entry);
    });
  };

  const dial = (entry: PeerEntry): void => {
    const { host, port } = entry.config;
    if (!running || host === undefined || port === undefined || secureContext === undefined) return;
    if (entry.link !== undefined || entry.dialing !== undefined) return;
    log.debug("dialling peer", {
      peer: entry.config.id,
      endpoint: entry.config.endpoint,
      attempt: entry.attempts,
    });
    const socket = tlsConnect({
      host,
      port,
      secureContext,
      minVersion: "TLSv1.3",
      ALPNProtocols: [TRANSPORT_ALPN],
      // Peers are authenticated by the hello, not by a CA: see the module doc.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    socket.setNoDelay(true);
    const state = track(
      socket,
      "outbound",
      entry.config.endpoint ?? `${host}:${port}`,
      entry.config.id,
    );
    entry.dialing = state;
    socket.once("secureConnect", () => onSecure(state));
  };

  // ---- connections ---------------------------------------------------------------------------

  /** Wraps a socket in a link and starts its handshake deadline. */
  const track = (
    socket: TLSSocket,
    direction: "inbound" | "outbound",
    remoteAddress: string,
    expectedPeerId: string | undefined,
  ): LinkState => {
    // The link's callbacks run on socket events, never during construction, so they can close
    // over `state` before it is assigned.
    let state: LinkState;
    const link = new TlsLink({
      socket,
      direction,
      remoteAddress,
      maxPayloadBytes: PRE_AUTH_MAX_FRAME_BYTES,
      clock,
      events: {
        frame: (_link, type, payload) => onFrame(state, type, payload),
        activity: () => {
          state.silentTicks = 0;
          if (state.open && state.peer !== undefined) state.peer.lastSeenMs = clock.now();
        },
        closed: (_link, reason, by, detail) => onClosed(state, reason, by, detail),
        released: () => {
          links.delete(state);
          for (const waiter of [...releaseWaiters]) waiter();
        },
      },
    });
    state = {
      link,
      expectedPeerId,
      localNonce: random.bytes(NONCE_BYTES),
      peerFingerprint: undefined,
      remoteNonce: undefined,
      peer: undefined,
      readyReceived: false,
      open: false,
      handshakeTimer: undefined,
      silentTicks: 0,
    };
    links.add(state);
    state.handshakeTimer = clock.setTimer(limits.handshakeTimeoutMs, () => {
      state.handshakeTimer = undefined;
      if (!state.open)
        reject(
          state,
          CloseReason.HANDSHAKE_TIMEOUT,
          `not authenticated within ${limits.handshakeTimeoutMs} ms`,
        );
    });
    return state;
  };

  const onSecure = (state: LinkState): void => {
    const { socket } = state.link;
    if (state.link.closed || fingerprint === undefined) return;
    if (socket.alpnProtocol !== TRANSPORT_ALPN) {
      reject(state, CloseReason.PROTOCOL_ERROR, `peer did not negotiate ALPN ${TRANSPORT_ALPN}`);
      return;
    }
    const certificate = socket.getPeerCertificate();
    if (certificate === null || certificate.raw === undefined) {
      reject(state, CloseReason.PROTOCOL_ERROR, "peer presented no TLS certificate");
      return;
    }
    state.peerFingerprint = suite.hash(certificate.raw);
    state.link.enqueue(FrameType.NONCE, encodeNonceFrame(state.localNonce));
  };

  /** Refuses or ends a connection for `reason`; `onClosed` logs it. */
  const reject = (
    state: LinkState,
    reason: CloseReason,
    detail: string,
    claimedId?: string,
  ): void => {
    if (state.link.closed) return;
    if (claimedId !== undefined) state.claimedId = claimedId;
    state.link.close(reason, detail, true);
  };

  const onFrame = (state: LinkState, type: number, payload: Uint8Array): boolean => {
    if (state.open) {
      switch (type) {
        case FrameType.DATA: {
          const peer = state.peer as PeerEntry;
          stats.framesReceived++;
          stats.bytesReceived += payload.length;
          for (const handler of frameHandlers) {
            try {
              handler(peer.config.id, payload);
            } catch (err) {
              log.error("frame handler failed", { peer: peer.config.id, error: errorMessage(err) });
            }
          }
          return !state.link.closed;
        }
        case FrameType.PING:
          if (payload.length !== 8) break;
          state.link.enqueue(FrameType.PONG, payload, true);
          return true;
        case FrameType.PONG: {
          if (payload.length !== 8) break;
          const sentAt = new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0);
          const rtt = clock.monotonic() - sentAt;
          if (state.peer !== undefined && rtt >= 0 && Number.isFinite(rtt)) state.peer.rttMs = rtt;
          return true;
        }
        default:
          break;
      }
      reject(
        state,
        CloseReason.PROTOCOL_ERROR,
        `unexpected frame type ${type} on an open link`,
        state.peer?.config.id,
      );
      return false;
    }
    return onHandshakeFrame(state, type, payload);
  };

  const onHandshakeFrame = (state: LinkState, type: number, payload: Uint8Array): boolean => {
    const fail = (detail: string): boolean => {
      reject(state, CloseReason.PROTOCOL_ERROR, detail);
      return false;
    };
    if (state.peerFingerprint === undefined || fingerprint === undefined)
      return fail("frame before the TLS handshake finished");
    if (type === FrameType.NONCE) {
      if (state.remoteNonce !== undefined) return fail("second NONCE");
      const nonce = decodeNonceFrame(payload);
      if (nonce === undefined) return fail("malformed NONCE or unsupported protocol version");
      state.remoteNonce = nonce;
      const hello = createHello(signer, { chainId, nodeId: localId, fingerprint, nonce });
      state.link.enqueue(FrameType.HELLO, encodeHello(hello));
      return true;
    }
    if (type === FrameType.HELLO) {
      if (state.peer !== undefined) return fail("second HELLO");
      const hello = decodeHello(payload);
      if (hello === undefined) return fail("malformed HELLO");
      const check = checkHello(hello, {
        suite,
        chainId,
        localId,
        localPublicKey,
        fingerprint: state.peerFingerprint,
        nonce: state.localNonce,
        expectedPeerId: state.expectedPeerId,
        idOfKey: (key) => idByKey.get(key),
      });
      if (!check.ok) {
        reject(state, check.reason, check.detail, hello.nodeId.slice(0, 128));
        return false;
      }
      const entry = peers.get(check.peerId) as PeerEntry;
      if (!claimSlot(entry, state)) return false;
      state.peer = entry;
      state.link.enqueue(FrameType.READY, new Uint8Array(0));
      if (state.readyReceived) openLink(state);
      return true;
    }
    if (type === FrameType.READY) {
      if (state.peer === undefined || state.readyReceived) return fail("READY before HELLO");
      state.readyReceived = true;
      openLink(state);
      return true;
    }
    return fail(`frame type ${type} before authentication`);
  };

  /**
   * Makes `state` the connection of `entry`, resolving duplicates deterministically (both sides
   * reach the same answer): the same dialer → the newer wins; different dialers → the one
   * dialled by the smaller id wins. Returns false when `state` lost (and was closed).
   */
  const claimSlot = (entry: PeerEntry, state: LinkState): boolean => {
    const existing = entry.link;
    if (existing !== undefined && existing !== state) {
      const dialerOf = (s: LinkState): string =>
        s.link.direction === "outbound" ? localId : entry.config.id;
      // Ids compare as strings (UTF-16 code units), the same order on both sides.
      const smaller = [localId, entry.config.id].sort()[0];
      if (dialerOf(existing) === dialerOf(state)) {
        log.info("newer connection replaces the existing one", { peer: entry.config.id });
        existing.link.close(CloseReason.REPLACED, "a newer connection from the same dialer", true);
      } else if (dialerOf(state) === smaller) {
        existing.link.close(
          CloseReason.DUPLICATE_CONNECTION,
          "the connection dialled by the smaller id wins",
          true,
        );
      } else {
        reject(
          state,
          CloseReason.DUPLICATE_CONNECTION,
          "the pair already has a connection",
          entry.config.id,
        );
        return false;
      }
    }
    entry.link = state;
    if (entry.dialing === state) entry.dialing = undefined;
    return true;
  };

  const openLink = (state: LinkState): void => {
    const entry = state.peer as PeerEntry;
    state.open = true;
    state.handshakeTimer?.cancel();
    state.handshakeTimer = undefined;
    state.silentTicks = 0;
    state.link.setMaxPayloadBytes(limits.maxFrameBytes);
    handshaking.delete(state);
    if (entry.retryTimer !== undefined) {
      entry.retryTimer.cancel();
      entry.retryTimer = undefined;
    }
    entry.attempts = 0;
    if (entry.everConnected) entry.reconnects++;
    entry.everConnected = true;
    entry.lastSeenMs = clock.now();
    stats.connectionsOpened++;
    log.info("peer connected", {
      peer: entry.config.id,
      direction: state.link.direction,
      remote: state.link.remoteAddress,
    });
    emitChange(statusOf(entry));
  };

  const onClosed = (
    state: LinkState,
    closeReason: CloseReason,
    by: ClosedBy,
    detail: string,
  ): void => {
    state.handshakeTimer?.cancel();
    state.handshakeTimer = undefined;
    handshaking.delete(state);
    // A socket that died before TLS finished never reached us as a peer: a failed connect.
    const reason =
      closeReason === CloseReason.CONNECTION_LOST && state.peerFingerprint === undefined
        ? CloseReason.CONNECT_FAILED
        : closeReason;
    countClose(reason, by);
    const entry =
      state.peer ??
      (state.expectedPeerId === undefined ? undefined : peers.get(state.expectedPeerId));
    if (by === "local" && !ORDERLY_CLOSES.has(reason)) {
      // Every refusal and protocol violation, whether the transport or the link decided it.
      log.warn("connection rejected", {
        reason,
        detail,
        remote: state.link.remoteAddress,
        direction: state.link.direction,
        peer: entry?.config.id ?? state.claimedId ?? null,
      });
    }
    if (by === "remote" && !state.open) {
      // A refusal with a reason usually means the two configurations disagree: worth a warning.
      // Plain connect failures repeat at every backoff step while a peer is down: debug only.
      const fields = {
        reason,
        detail,
        remote: state.link.remoteAddress,
        peer: entry?.config.id ?? null,
      };
      if (reason === CloseReason.CONNECT_FAILED || reason === CloseReason.CONNECTION_LOST)
        log.debug("connection failed", fields);
      else log.warn("connection refused by peer", fields);
    }
    if (entry === undefined) return;
    if (entry.dialing === state) entry.dialing = undefined;
    if (entry.link === state) {
      entry.link = undefined;
      if (state.open) {
        log.info("peer disconnected", { peer: entry.config.id, reason, by, detail });
        if (running) emitChange(statusOf(entry, false));
        entry.attempts = 0;
      }
    }
    scheduleDial(entry);
  };

  // ---- heartbeats ----------------------------------------------------------------------------

  const heartbeat = (): void => {
    heartbeatTimer = undefined;
    if (!running) return;
    const ping = new Uint8Array(8);
    new DataView(ping.buffer).setFloat64(0, clock.monotonic());
    for (const state of links) {
      if (!state.open || state.link.closed) continue;
      if (state.silentTicks >= limits.heartbeatMisses) {
        const detail = `nothing received for ${state.silentTicks} heartbeat intervals of ${limits.heartbeatIntervalMs} ms`;
        reject(state, CloseReason.HEARTBEAT_TIMEOUT, detail, state.peer?.config.id);
        continue;
      }
      state.silentTicks++;
      state.link.enqueue(FrameType.PING, ping, true);
    }
    heartbeatTimer = clock.setTimer(limits.heartbeatIntervalMs, heartbeat);
  };

  // ---- lifecycle -----------------------------------------------------------------------------

  const doStart = async (): Promise<void> => {
    if (running) return;
    const identity = createTlsIdentity({ clock, random });
    fingerprint = suite.hash(identity.certificateDer);
    secureContext = createSecureContext({
      key: identity.keyPem,
      cert: identity.certificatePem,
      minVersion: "TLSv1.3",
    });
    if (listen !== undefined) {
      // A plain TCP server whose sockets we wrap ourselves: one code path for both directions,
      // and the TCP socket is tracked (and counted against the pending limit) before TLS starts.
      const netServer = createNetServer((socket) => acceptInbound(socket));
      await new Promise<void>((resolve, rejectListen) => {
        const onError = (err: Error): void => {
          rejectListen(
            networkError(
              NetworkErrorCode.LISTEN_FAILED,
              `cannot listen on ${formatEndpoint(listen)}: ${errorMessage(err)}`,
              { host: listen.host, port: listen.port },
              err,
            ),
          );
        };
        netServer.once("error", onError);
        netServer.listen(listen.port, listen.host, () => {
          netServer.off("error", onError);
          resolve();
        });
      });
      netServer.on("error", (err) =>
        log.error("listening socket failed", { error: errorMessage(err) }),
      );
      const address = netServer.address();
      if (address !== null && typeof address === "object")
        boundEndpoint = formatEndpoint({ host: address.address, port: address.port });
      server = netServer;
    }
    running = true;
    log.info("transport started", {
      id: localId,
      listen: boundEndpoint ?? null,
      peers: peers.size,
    });
    heartbeatTimer = clock.setTimer(limits.heartbeatIntervalMs, heartbeat);
    for (const entry of peers.values()) {
      entry.attempts = 0;
      if (shouldDial(entry)) dial(entry);
    }
  };

  const acceptInbound = (raw: Socket): void => {
    if (!running || secureContext === undefined) {
      raw.destroy();
      return;
    }
    const remote = `${raw.remoteAddress ?? "?"}:${raw.remotePort ?? 0}`;
    if (handshaking.size >= limits.maxPendingConnections) {
      countClose(CloseReason.TOO_MANY_PENDING, "local");
      log.warn("connection rejected", { reason: CloseReason.TOO_MANY_PENDING, remote });
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    const socket = new TLSSocketClass(raw, {
      isServer: true,
      secureContext,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: [TRANSPORT_ALPN],
    });
    const state = track(socket, "inbound", remote, undefined);
    handshaking.add(state);
    socket.once("secure", () => onSecure(state));
  };

  const doStop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    heartbeatTimer?.cancel();
    heartbeatTimer = undefined;
    const closing = server;
    server = undefined;
    const serverClosed =
      closing === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => closing.close(() => resolve()));
    for (const entry of peers.values()) {
      entry.retryTimer?.cancel();
      entry.retryTimer = undefined;
      const wasOpen = entry.link?.open === true;
      if (wasOpen) emitChange(statusOf(entry, false));
    }
    for (const state of [...links])
      state.link.close(CloseReason.SHUTDOWN, "transport stopping", state.open);
    // Sockets finish their CLOSE frame and end gracefully; each link destroys its own socket
    // after CLOSE_GRACE_MS at the latest, so this wait is bounded.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (links.size === 0) {
          releaseWaiters.delete(check);
          resolve();
        }
      };
      releaseWaiters.add(check);
      check();
    });
    await serverClosed;
    boundEndpoint = undefined;
    secureContext = undefined;
    fingerprint = undefined;
    log.info("transport stopped", { id: localId });
  };

  // ---- the interface -------------------------------------------------------------------------

  const refuse = (
    entry: PeerEntry | undefined,
    kind: "unknownPeer" | "notConnected" | "queueFull",
  ): false => {
    stats.droppedFrames[kind]++;
    if (entry !== undefined) entry.dropped++;
    return false;
  };

  const checkSize = (frame: Uint8Array): void => {
    if (frame.length > limits.maxFrameBytes) {
      throw networkError(
        NetworkErrorCode.FRAME_TOO_LARGE,
        `frame of ${frame.length} bytes exceeds maxFrameBytes`,
        {
          bytes: frame.length,
          limit: limits.maxFrameBytes,
        },
      );
    }
  };

  const sendTo = (entry: PeerEntry, frame: Uint8Array): boolean => {
    const state = entry.link;
    if (state === undefined || !state.open || state.link.closed)
      return refuse(entry, "notConnected");
    if (state.link.outboundBytes + frame.length + 5 > limits.maxQueueBytes)
      return refuse(entry, "queueFull");
    state.link.enqueue(FrameType.DATA, frame);
    stats.framesSent++;
    stats.bytesSent += frame.length;
    return true;
  };

  const transport: TlsTransport = {
    localId,
    maxFrameBytes: limits.maxFrameBytes,
    get listenEndpoint() {
      return boundEndpoint;
    },
    get certificateFingerprint() {
      return fingerprint === undefined ? undefined : toHex(fingerprint);
    },
    start() {
      lifecycle = lifecycle.then(doStart, doStart);
      return lifecycle;
    },
    stop() {
      lifecycle = lifecycle.then(doStop, doStop);
      return lifecycle;
    },
    send(peerId, frame) {
      checkSize(frame);
      const entry = peers.get(peerId);
      if (entry === undefined) return refuse(undefined, "unknownPeer");
      return sendTo(entry, frame);
    },
    broadcast(frame) {
      checkSize(frame);
      let accepted = 0;
      for (const entry of peers.values()) {
        if (entry.link?.open === true && sendTo(entry, frame)) accepted++;
      }
      return accepted;
    },
    onFrame(handler) {
      // A wrapper per registration, so registering one function twice gives two deliveries.
      const wrapped: FrameHandler = (peerId, frame) => handler(peerId, frame);
      frameHandlers.add(wrapped);
      return () => frameHandlers.delete(wrapped);
    },
    onPeerChange(handler) {
      const wrapped: PeerChangeHandler = (peer) => handler(peer);
      changeHandlers.add(wrapped);
      return () => changeHandlers.delete(wrapped);
    },
    peers() {
      return [...peers.values()]
        .map((entry) => statusOf(entry))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    setPeers(list: readonly PeerConfig[]) {
      const next = resolvePeerSet(list, localId, suite);
      peerSet = next;
      const removed: PeerEntry[] = [];
      for (const [id, entry] of peers) {
        const config = next.peers.get(id);
        if (config === undefined || config.publicKey !== entry.config.publicKey)
          removed.push(entry);
      }
      for (const entry of removed) {
        peers.delete(entry.config.id);
        idByKey.delete(entry.config.publicKey);
        entry.retryTimer?.cancel();
        entry.retryTimer = undefined;
        for (const state of [entry.link, entry.dialing]) {
          state?.link.close(CloseReason.PEER_REMOVED, "removed from the peer set", true);
        }
        log.info("peer removed", { peer: entry.config.id });
        if (running) emitChange(statusOf(entry, false));
      }
      const added: PeerEntry[] = [];
      for (const config of next.peers.values()) {
        const entry = peers.get(config.id);
        if (entry === undefined) {
          const fresh = newEntry(config);
          peers.set(config.id, fresh);
          idByKey.set(config.publicKey, config.id);
          added.push(fresh);
        } else {
          entry.config = config;
          // Dialling rules may have changed with the endpoint (ours or theirs).
          if (!shouldDial(entry) && entry.retryTimer !== undefined) {
            entry.retryTimer.cancel();
            entry.retryTimer = undefined;
          }
          if (
            running &&
            shouldDial(entry) &&
            entry.link === undefined &&
            entry.dialing === undefined &&
            entry.retryTimer === undefined
          ) {
            dial(entry);
          }
        }
      }
      // Connections still authenticating may belong to keys that just left the set: the hello
      // check reads the current set, so they are refused when their hello arrives.
      if (running) for (const entry of added) if (shouldDial(entry)) dial(entry);
      log.info("peer set updated", {
        peers: peers.size,
        added: added.length,
        removed: removed.length,
      });
    },
    stats() {
      const closes: Record<string, { local: number; remote: number }> = {};
      for (const [reason, counter] of Object.entries(stats.closes)) closes[reason] = { ...counter };
      return { ...stats, droppedFrames: { ...stats.droppedFrames }, closes };
    },
  };
  return transport;
}
