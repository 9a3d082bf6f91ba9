/**
 * Network: authenticated, encrypted, ordered links between validators and observers, behind the
 * `Transport` interface that consensus, gossip and block transfer use (and that a simulated
 * network implements for deterministic tests).
 *
 * The production transport is `createTlsTransport`: mutual TLS 1.3 from `node:tls` with an
 * ephemeral Ed25519 certificate per run, then a hello signed with the node's chain key (the
 * chain's suite: Ed25519/secp256k1 or SM2) that binds the chain id, the node id, the sender's
 * certificate fingerprint and the receiver's fresh nonce. Only keys of the current peer set
 * connect; one connection per pair (the smaller id dials); length-prefixed frames up to 16 MiB;
 * a 64 MiB bounded outbound queue per peer coalesced into one write per event-loop turn;
 * reconnects with capped, jittered exponential backoff; heartbeats with RTT. Time, timers and
 * randomness come from the injected `Clock` and `Random`.
 *
 * Owns: sockets, TLS, framing, link authentication, peer status. Does not own: what frames mean
 * (consensus and gossip encode their own messages), membership (settings decide it and call
 * `setPeers`), gossip topics. Imports only `common` and `crypto`.
 * See docs/adr/0007-transport.md for the choice of TLS over js-libp2p and the measurements.
 */
export { type BackoffOptions, backoffDelay } from "./backoff.js";
export { type Endpoint, formatEndpoint, parseEndpoint } from "./endpoint.js";
export {
  CloseReason,
  isCloseReason,
  NetworkErrorCode,
  type NetworkErrorCodeName,
  networkError,
} from "./errors.js";
export { FRAME_HEADER_BYTES, FrameType } from "./frame-codec.js";
export { NONCE_BYTES, TRANSPORT_PROTOCOL_VERSION } from "./hello.js";
export type * from "./interface.js";
export {
  PRE_AUTH_MAX_FRAME_BYTES,
  type TlsTransportOptions,
  TRANSPORT_DEFAULTS,
} from "./options.js";
export { createTlsIdentity, type TlsIdentity, type TlsIdentityOptions } from "./tls-identity.js";
export {
  createTlsTransport,
  type TlsTransport,
  TRANSPORT_ALPN,
  type TransportStats,
} from "./tls-transport.js";
