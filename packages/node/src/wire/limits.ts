/**
 * Size and count limits applied to submitted wire objects. Sawtooth itself bounds little beyond
 * the REST body size; govchain bounds every dimension an attacker could inflate, and checks the
 * byte limits before decoding so that oversized input costs no decoding work.
 */

/** Limits of `parseBatchList` / `parseBatch`. Every field has a default in `DEFAULT_WIRE_LIMITS`. */
export interface WireLimits {
  /** Encoded size of a whole `BatchList` (a `POST /batches` body). Default 10 MiB, Sawtooth REST's default body limit. */
  readonly maxBatchListBytes: number;
  /** Batches in one list. Default 100. */
  readonly maxBatchesPerList: number;
  /** Transactions in one batch. Default 256. */
  readonly maxTransactionsPerBatch: number;
  /** Encoded size of one `Batch`. Default 1 MiB. */
  readonly maxBatchBytes: number;
  /** Size of one transaction payload. Default 256 KiB (documents stay off-chain; the chain holds hashes). */
  readonly maxPayloadBytes: number;
  /** Inputs of one transaction. Default 256. */
  readonly maxInputs: number;
  /** Outputs of one transaction. Default 256. */
  readonly maxOutputs: number;
  /** Dependencies of one transaction. Default 256. */
  readonly maxDependencies: number;
  /** Characters of `family_name`. Default 64. */
  readonly maxFamilyNameLength: number;
  /** Characters of `family_version`. Default 32. */
  readonly maxFamilyVersionLength: number;
  /** Characters of `nonce`. Default 256 (Sawtooth clients use 16–64 hex characters or a UUID). */
  readonly maxNonceLength: number;
}

/** The default `WireLimits`. */
export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({
  maxBatchListBytes: 10 * 1024 * 1024,
  maxBatchesPerList: 100,
  maxTransactionsPerBatch: 256,
  maxBatchBytes: 1024 * 1024,
  maxPayloadBytes: 256 * 1024,
  maxInputs: 256,
  maxOutputs: 256,
  maxDependencies: 256,
  maxFamilyNameLength: 64,
  maxFamilyVersionLength: 32,
  maxNonceLength: 256,
});

/** `DEFAULT_WIRE_LIMITS` with the given overrides. */
export function createWireLimits(overrides: Partial<WireLimits> = {}): WireLimits {
  return Object.freeze({ ...DEFAULT_WIRE_LIMITS, ...overrides });
}
