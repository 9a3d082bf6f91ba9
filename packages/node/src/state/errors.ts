/**
 * Error codes of the state module. They are part of the API: the REST layer maps them to HTTP
 * statuses, and the CLI prints them when a proof does not verify.
 */

/** Codes carried by `GovchainError`s thrown from `state/`. */
export const StateErrorCode = {
  /** An address or address prefix is not lower-case hex of the allowed length. */
  INVALID_ADDRESS: "INVALID_ADDRESS",
  /** A state root is not 64 lower-case hex characters. */
  INVALID_STATE_ROOT: "INVALID_STATE_ROOT",
  /** A change, option or constructor argument is malformed. */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  /** Bytes are not a canonical node encoding (ADR 0003). */
  INVALID_STATE_NODE: "INVALID_STATE_NODE",
  /** A node reachable from the requested root is neither staged nor stored. */
  STATE_NODE_MISSING: "STATE_NODE_MISSING",
  /** A state proof does not prove what it claims under the trusted root. */
  INVALID_PROOF: "INVALID_PROOF",
  /** A state sync could not obtain every node of the trusted root from its peers. */
  STATE_SYNC_FAILED: "STATE_SYNC_FAILED",
} as const;

/** One of `StateErrorCode`'s values. */
export type StateErrorCodeName = (typeof StateErrorCode)[keyof typeof StateErrorCode];
