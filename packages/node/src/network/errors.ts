/**
 * Error codes and close reasons of the network module. Errors thrown to callers are
 * `GovchainError`s with a `NetworkErrorCode`; a connection that is closed carries a
 * `CloseReason`, which is logged on both sides (the closing side sends it in a CLOSE frame
 * before hanging up) and counted per reason in the transport's stats.
 */
import { type ErrorContext, GovchainError } from "../common/errors.js";

/** Codes of `GovchainError`s thrown by transports. */
export const NetworkErrorCode = {
  /** Transport options that cannot work (limits out of range, a malformed listen address). */
  INVALID_OPTIONS: "NETWORK_INVALID_OPTIONS",
  /** `setPeers` input that is not a valid peer set: nothing was applied. */
  INVALID_PEER_CONFIG: "NETWORK_INVALID_PEER_CONFIG",
  /** A frame larger than `maxFrameBytes` was given to `send`/`broadcast` (a caller's bug). */
  FRAME_TOO_LARGE: "NETWORK_FRAME_TOO_LARGE",
  /** The listening socket could not be bound (address in use, not permitted). */
  LISTEN_FAILED: "NETWORK_LISTEN_FAILED",
} as const;

/** One of `NetworkErrorCode`'s values. */
export type NetworkErrorCodeName = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

/** A `GovchainError` carrying a network code. */
export function networkError(
  code: NetworkErrorCodeName,
  message: string,
  context: ErrorContext = {},
  cause?: unknown,
): GovchainError {
  return new GovchainError(code, message, context, cause === undefined ? undefined : { cause });
}

/**
 * Why a connection was refused or closed. The values travel in CLOSE frames, so they are short,
 * stable and contain no details (details stay in the closing side's log).
 */
export const CloseReason = {
  /** The hello's chain key is not in the local peer set (or not the key configured for that id). */
  UNKNOWN_KEY: "unknown-key",
  /** The hello names another chain. */
  WRONG_CHAIN: "wrong-chain",
  /** The hello's signature does not verify under the configured chain key. */
  BAD_SIGNATURE: "bad-signature",
  /** The hello names a TLS certificate other than the one presented on this connection. */
  FINGERPRINT_MISMATCH: "fingerprint-mismatch",
  /** The hello answers another connection's nonce: a replayed or relayed hello. */
  STALE_NONCE: "stale-nonce",
  /** The key belongs to another id than the hello claims, or a dialled endpoint is someone else. */
  ID_MISMATCH: "id-mismatch",
  /** The other side is this node itself (its own endpoint is in its peer list). */
  SELF_CONNECTION: "self-connection",
  /** The pair already has a connection that the deterministic tie-break keeps. */
  DUPLICATE_CONNECTION: "duplicate-connection",
  /** A newer connection from the same dialer replaced this one (the peer restarted). */
  REPLACED: "replaced",
  /** Authentication did not finish within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: "handshake-timeout",
  /** Too many connections were still authenticating. */
  TOO_MANY_PENDING: "too-many-pending",
  /** A frame longer than the receiver's limit (`maxFrameBytes`, or the small pre-auth limit). */
  FRAME_TOO_LARGE: "frame-too-large",
  /** A malformed frame, a frame of the wrong type for the state, or a wrong protocol version. */
  PROTOCOL_ERROR: "protocol-error",
  /** Nothing was received for `heartbeatMisses` heartbeat intervals. */
  HEARTBEAT_TIMEOUT: "heartbeat-timeout",
  /** The peer was removed from the peer set by `setPeers`. */
  PEER_REMOVED: "peer-removed",
  /** The transport is stopping. */
  SHUTDOWN: "shutdown",
  /** The socket failed or the peer hung up (no CLOSE frame was received). */
  CONNECTION_LOST: "connection-lost",
  /** The TCP or TLS connection could not be set up. */
  CONNECT_FAILED: "connect-failed",
} as const;

/** One of `CloseReason`'s values. */
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

const CLOSE_REASONS = new Set<string>(Object.values(CloseReason));

/** True when `value` is a known close reason (a CLOSE frame's text is checked before logging). */
export function isCloseReason(value: string): value is CloseReason {
  return CLOSE_REASONS.has(value);
}
