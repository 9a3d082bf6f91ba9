/**
 * PBFT parameters and quorum arithmetic. Quorums are correct for any N, not only N = 3f + 1:
 * with f = ⌊(N − 1) / 3⌋ tolerated faults, a quorum is Q = ⌊(N + f) / 2⌋ + 1, the smallest
 * size for which any two quorums share at least f + 1 validators (so at least one honest one).
 * For N = 3f + 1 that is the familiar 2f + 1.
 */
import { GovchainError } from "../../common/errors.js";

/** A voting validator. Order matters: it decides which validator is primary in each view. */
export interface PbftValidator {
  readonly id: string;
  /** The validator's chain key (hex), which signs its consensus messages. */
  readonly publicKey: string;
}

/** Parameters of one PBFT network. */
export interface PbftConfig {
  readonly chainId: string;
  readonly validators: readonly PbftValidator[];
  /** A checkpoint every `checkpointInterval` blocks; default 50. */
  readonly checkpointInterval: number;
  /** Sequence numbers accepted above the stable checkpoint (high watermark); default 2 × interval. */
  readonly window: number;
  /** Blocks the primary may have proposed but not committed at once; default 4. */
  readonly maxInFlight: number;
  /** View-change timeout of the first attempt; default 1,000 ms. */
  readonly viewChangeTimeoutMs: number;
  /** Upper bound of the growing view-change timeout; default 8,000 ms. */
  readonly maxViewChangeTimeoutMs: number;
  /** Re-send own votes of unfinished slots this often (covers message loss); default 400 ms. */
  readonly retransmitMs: number;
}

/** Options of `createPbftConfig`: validators and chain id are required. */
export type PbftConfigInput = Pick<PbftConfig, "chainId" | "validators"> &
  Partial<Omit<PbftConfig, "chainId" | "validators">>;

/** A validated configuration with defaults filled in. */
export function createPbftConfig(input: PbftConfigInput): PbftConfig {
  const checkpointInterval = input.checkpointInterval ?? 50;
  const config: PbftConfig = {
    chainId: input.chainId,
    validators: input.validators,
    checkpointInterval,
    window: input.window ?? 2 * checkpointInterval,
    maxInFlight: input.maxInFlight ?? 4,
    viewChangeTimeoutMs: input.viewChangeTimeoutMs ?? 1_000,
    maxViewChangeTimeoutMs: input.maxViewChangeTimeoutMs ?? 8_000,
    retransmitMs: input.retransmitMs ?? 400,
  };
  const ids = new Set(config.validators.map((v) => v.id));
  if (config.validators.length === 0 || ids.size !== config.validators.length) {
    throw new GovchainError(
      "INVALID_PBFT_CONFIG",
      "PBFT needs at least one validator and distinct validator ids",
    );
  }
  if (
    config.checkpointInterval < 1 ||
    config.window < config.checkpointInterval ||
    config.maxInFlight < 1
  ) {
    throw new GovchainError(
      "INVALID_PBFT_CONFIG",
      "checkpointInterval ≥ 1, window ≥ checkpointInterval and maxInFlight ≥ 1 are required",
    );
  }
  if (
    config.viewChangeTimeoutMs <= 0 ||
    config.maxViewChangeTimeoutMs < config.viewChangeTimeoutMs
  ) {
    throw new GovchainError(
      "INVALID_PBFT_CONFIG",
      "view-change timeouts must be positive and the maximum at least the base",
    );
  }
  return config;
}

/** Faults tolerated by `n` validators. */
export function faultsTolerated(n: number): number {
  return Math.floor((n - 1) / 3);
}

/** Votes needed for a quorum among `n` validators. */
export function quorumSize(n: number): number {
  return Math.floor((n + faultsTolerated(n)) / 2) + 1;
}

/** Votes that prove at least one honest validator: f + 1. */
export function weakQuorumSize(n: number): number {
  return faultsTolerated(n) + 1;
}
