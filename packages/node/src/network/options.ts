/**
 * Options of the TLS transport, their defaults, and their validation. Defaults are sized for
 * validators on one LAN or region: frames up to 16 MiB (a block with its batches), 64 MiB of
 * outbound queue per peer (a few blocks behind a slow peer, never unbounded), a heartbeat per
 * second and a peer declared gone after three silent seconds.
 */
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { Random } from "../common/random.js";
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import { parseEndpoint } from "./endpoint.js";
import { NetworkErrorCode, networkError } from "./errors.js";
import type { PeerConfig } from "./interface.js";

/** Defaults of `TlsTransportOptions`. */
export const TRANSPORT_DEFAULTS = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxQueueBytes: 64 * 1024 * 1024,
  heartbeatIntervalMs: 1_000,
  heartbeatMisses: 3,
  handshakeTimeoutMs: 5_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  maxPendingConnections: 64,
  listenHost: "127.0.0.1",
});

/** Largest frame accepted before authentication: a hello is ~250 bytes with any suite. */
export const PRE_AUTH_MAX_FRAME_BYTES = 4096;

/** How to build a TLS transport. */
export interface TlsTransportOptions {
  /** This node's id, as the peer sets of the others name it. */
  readonly localId: string;
  /** The chain's id (genesis); hellos for another chain are refused. */
  readonly chainId: string;
  /** The chain's crypto suite: verifies hellos and hashes certificates into fingerprints. */
  readonly suite: CryptoSuite;
  /** The node's chain key, which signs its hellos. */
  readonly signer: Signer;
  /**
   * Where to accept connections: `{ host, port }` (port 0 asks the OS; see `listenEndpoint`),
   * or `false` for a node that only dials out (an observer behind NAT). Default
   * `{ host: "127.0.0.1", port: 0 }`; production sets the interface to serve peers on.
   */
  readonly listen?: { readonly host?: string; readonly port?: number } | false;
  /** The initial peer set (see `Transport.setPeers`); default empty. */
  readonly peers?: readonly PeerConfig[];
  /** Largest frame, in bytes; default 16 MiB. A larger received frame closes the connection. */
  readonly maxFrameBytes?: number;
  /** Outbound bytes queued per peer before `send` refuses; default 64 MiB. */
  readonly maxQueueBytes?: number;
  /** Heartbeat period; default 1,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Silent heartbeat periods after which a peer is disconnected; default 3. */
  readonly heartbeatMisses?: number;
  /** Time allowed from TCP connect to authenticated link; default 5,000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** First reconnect delay; default 100 ms (doubling, with jitter). */
  readonly reconnectBaseMs?: number;
  /** Largest reconnect delay; default 5,000 ms. */
  readonly reconnectMaxMs?: number;
  /** Inbound connections still authenticating beyond which new ones are refused; default 64. */
  readonly maxPendingConnections?: number;
  /** Timers and time stamps (heartbeats, RTT, backoff); default the system clock. */
  readonly clock?: Clock;
  /**
   * Connection nonces, certificate serials and backoff jitter; default the OS CSPRNG. Nonces
   * must be unpredictable in production: pass a seeded generator only in simulations.
   */
  readonly random?: Random;
  /** Default silent. */
  readonly logger?: Logger;
}

/** Options with every default applied. */
export interface ResolvedTransportLimits {
  readonly maxFrameBytes: number;
  readonly maxQueueBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatMisses: number;
  readonly handshakeTimeoutMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly maxPendingConnections: number;
}

/** Applies defaults and checks ranges; throws `NETWORK_INVALID_OPTIONS`. */
export function resolveTransportLimits(options: TlsTransportOptions): ResolvedTransportLimits {
  const limits: ResolvedTransportLimits = {
    maxFrameBytes: options.maxFrameBytes ?? TRANSPORT_DEFAULTS.maxFrameBytes,
    maxQueueBytes: options.maxQueueBytes ?? TRANSPORT_DEFAULTS.maxQueueBytes,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? TRANSPORT_DEFAULTS.heartbeatIntervalMs,
    heartbeatMisses: options.heartbeatMisses ?? TRANSPORT_DEFAULTS.heartbeatMisses,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? TRANSPORT_DEFAULTS.handshakeTimeoutMs,
    reconnectBaseMs: options.reconnectBaseMs ?? TRANSPORT_DEFAULTS.reconnectBaseMs,
    reconnectMaxMs: options.reconnectMaxMs ?? TRANSPORT_DEFAULTS.reconnectMaxMs,
    maxPendingConnections:
      options.maxPendingConnections ?? TRANSPORT_DEFAULTS.maxPendingConnections,
  };
  const check = (ok: boolean, field: string, rule: string): void => {
    if (!ok) {
      throw networkError(
        NetworkErrorCode.INVALID_OPTIONS,
        `transport option ${field} must be ${rule}`,
        {
          field,
          value: (limits as unknown as Record<string, unknown>)[field],
        },
      );
    }
  };
  const int = (n: number, min: number, max: number): boolean =>
    Number.isInteger(n) && n >= min && n <= max;
  // The 4-byte length prefix counts the type byte too.
  check(int(limits.maxFrameBytes, 1, 0xffff_fffe), "maxFrameBytes", "an integer in [1, 2^32 - 2]");
  check(
    int(limits.maxQueueBytes, 1, Number.MAX_SAFE_INTEGER),
    "maxQueueBytes",
    "a positive integer",
  );
  check(
    int(limits.heartbeatIntervalMs, 1, 3_600_000),
    "heartbeatIntervalMs",
    "an integer in [1, 3600000]",
  );
  check(int(limits.heartbeatMisses, 1, 1_000), "heartbeatMisses", "an integer in [1, 1000]");
  check(
    int(limits.handshakeTimeoutMs, 1, 3_600_000),
    "handshakeTimeoutMs",
    "an integer in [1, 3600000]",
  );
  check(int(limits.reconnectBaseMs, 1, 3_600_000), "reconnectBaseMs", "an integer in [1, 3600000]");
  check(
    int(limits.reconnectMaxMs, limits.reconnectBaseMs, 3_600_000),
    "reconnectMaxMs",
    "an integer in [reconnectBaseMs, 3600000]",
  );
  check(
    int(limits.maxPendingConnections, 1, 100_000),
    "maxPendingConnections",
    "an integer in [1, 100000]",
  );
  if (options.localId.length === 0 || options.localId.length > MAX_ID_LENGTH) {
    throw networkError(NetworkErrorCode.INVALID_OPTIONS, "localId must have 1 to 128 characters", {
      length: options.localId.length,
    });
  }
  if (options.listen !== undefined && options.listen !== false) {
    const port = options.listen.port ?? 0;
    if (!int(port, 0, 65_535)) {
      throw networkError(
        NetworkErrorCode.INVALID_OPTIONS,
        "listen.port must be an integer in [0, 65535]",
        { port },
      );
    }
  }
  return limits;
}

/** Longest node id. */
export const MAX_ID_LENGTH = 128;

/** A validated peer entry. */
export interface ResolvedPeer {
  readonly id: string;
  /** Lower-case hex. */
  readonly publicKey: string;
  readonly endpoint: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
}

/** The peer set `peers` describes, with the local node's own entry split off. */
export interface ResolvedPeerSet {
  readonly peers: ReadonlyMap<string, ResolvedPeer>;
  /** The entry with the local id, if the list had one (it tells whether others can dial us). */
  readonly self: ResolvedPeer | undefined;
}

/**
 * Validates a peer list as a whole: ids 1–128 characters and unique, keys hex that the suite
 * accepts and unique, endpoints `host:port`. Throws `NETWORK_INVALID_PEER_CONFIG`.
 */
export function resolvePeerSet(
  peers: readonly PeerConfig[],
  localId: string,
  suite: CryptoSuite,
): ResolvedPeerSet {
  const fail = (message: string, context: Record<string, unknown>): never => {
    throw networkError(NetworkErrorCode.INVALID_PEER_CONFIG, message, context);
  };
  const byId = new Map<string, ResolvedPeer>();
  const keys = new Set<string>();
  let self: ResolvedPeer | undefined;
  for (const [index, peer] of peers.entries()) {
    if (typeof peer.id !== "string" || peer.id.length === 0 || peer.id.length > MAX_ID_LENGTH) {
      fail("peer id must have 1 to 128 characters", { index });
    }
    const publicKey = typeof peer.publicKey === "string" ? peer.publicKey.toLowerCase() : "";
    if (
      !/^(?:[0-9a-f]{2})+$/.test(publicKey) ||
      suite.algorithmOf(Buffer.from(publicKey, "hex")) === undefined
    ) {
      fail(`peer ${peer.id} has a public key the ${suite.id} suite does not accept`, {
        index,
        id: peer.id,
      });
    }
    let host: string | undefined;
    let port: number | undefined;
    if (peer.endpoint !== undefined) {
      const parsed = parseEndpoint(peer.endpoint);
      if (parsed === undefined)
        fail(`peer ${peer.id} has a malformed endpoint`, {
          index,
          id: peer.id,
          endpoint: peer.endpoint,
        });
      host = parsed?.host;
      port = parsed?.port;
    }
    if (byId.has(peer.id) || self?.id === peer.id)
      fail(`peer id ${peer.id} appears twice`, { index, id: peer.id });
    if (keys.has(publicKey))
      fail(`peer ${peer.id} has the same key as another peer`, { index, id: peer.id });
    keys.add(publicKey);
    const resolved: ResolvedPeer = { id: peer.id, publicKey, endpoint: peer.endpoint, host, port };
    if (peer.id === localId) self = resolved;
    else byId.set(peer.id, resolved);
  }
  return { peers: byId, self };
}
