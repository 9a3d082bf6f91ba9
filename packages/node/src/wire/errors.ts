/**
 * Errors of the wire layer. Every fault found while decoding or validating Sawtooth wire objects
 * is a `WireValidationError` with a stable code from `WIRE_ERROR_CODES`, so the REST layer maps
 * one class to `400 Bad Request` and clients can branch on the code.
 */
import { type ErrorContext, GovchainError } from "../common/errors.js";

/** Codes of `WireValidationError`, stable and part of the API. */
export const WIRE_ERROR_CODES = [
  /** Bytes are not a valid protobuf encoding of the expected message. */
  "UNDECODABLE",
  /** A value cannot be encoded (for example a `uint64` out of range). */
  "UNENCODABLE",
  /** The encoded batch list exceeds `maxBatchListBytes`. */
  "BATCH_LIST_TOO_LARGE",
  /** A batch list holds no batches. */
  "NO_BATCHES",
  /** A batch list holds more than `maxBatchesPerList` batches. */
  "TOO_MANY_BATCHES",
  /** An encoded batch exceeds `maxBatchBytes`. */
  "BATCH_TOO_LARGE",
  /** A batch's `header_signature` is not 128 lower-case hex characters. */
  "INVALID_BATCH_ID",
  /** The same batch id appears twice in one list or block. */
  "DUPLICATE_BATCH",
  /** A batch holds no transactions. */
  "EMPTY_BATCH",
  /** A batch holds more than `maxTransactionsPerBatch` transactions. */
  "TOO_MANY_TRANSACTIONS",
  /** `BatchHeader.transaction_ids` differs from the transactions' ids (count or order). */
  "TRANSACTION_IDS_MISMATCH",
  /** A transaction's `header_signature` is not 128 lower-case hex characters. */
  "INVALID_TRANSACTION_ID",
  /** The same transaction id appears twice in one batch, list or block. */
  "DUPLICATE_TRANSACTION",
  /** A payload exceeds `maxPayloadBytes`. */
  "PAYLOAD_TOO_LARGE",
  /** `payload_sha512` differs from the suite's digest of the payload. */
  "PAYLOAD_HASH_MISMATCH",
  /** A transaction's `batcher_public_key` differs from its batch's signer. */
  "BATCHER_KEY_MISMATCH",
  /** A public key is not lower-case hex of a key the chain's suite accepts. */
  "UNSUPPORTED_KEY",
  /** Family name empty or longer than `maxFamilyNameLength`. */
  "INVALID_FAMILY_NAME",
  /** Family version empty or longer than `maxFamilyVersionLength`. */
  "INVALID_FAMILY_VERSION",
  /** Nonce longer than `maxNonceLength`. */
  "NONCE_TOO_LONG",
  /** More than `maxInputs` inputs. */
  "TOO_MANY_INPUTS",
  /** More than `maxOutputs` outputs. */
  "TOO_MANY_OUTPUTS",
  /** An input or output is not a lower-case hex address prefix of 1 to 70 characters. */
  "INVALID_ADDRESS",
  /** More than `maxDependencies` dependencies. */
  "TOO_MANY_DEPENDENCIES",
  /** A dependency is not a transaction id (128 lower-case hex characters). */
  "INVALID_DEPENDENCY",
  /** The batch signature does not verify against the batch header bytes. */
  "INVALID_BATCH_SIGNATURE",
  /** A transaction signature does not verify against its header bytes. */
  "INVALID_TRANSACTION_SIGNATURE",
  /** A block's `header_signature` is not 128 lower-case hex characters. */
  "INVALID_BLOCK_ID",
  /** `previous_block_id` is neither a block id nor, at height 0, `NULL_BLOCK_ID`. */
  "INVALID_PREVIOUS_BLOCK_ID",
  /** `state_root_hash` is not 64 lower-case hex characters. */
  "INVALID_STATE_ROOT",
  /** `BlockHeader.batch_ids` differs from the block's batches' ids (count or order). */
  "BATCH_IDS_MISMATCH",
  /** The block signature does not verify against the block header bytes. */
  "INVALID_BLOCK_SIGNATURE",
] as const;

/** A code of `WireValidationError`. */
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** Where in a batch list or block a fault was found. Ids are clipped to 128 characters. */
export interface WireErrorContext extends ErrorContext {
  readonly messageType?: string;
  readonly blockId?: string;
  readonly batchId?: string;
  readonly transactionId?: string;
  /** Position of the offending batch in its list or block, or transaction in its batch. */
  readonly index?: number;
}

/** A wire object that does not decode or breaks a structural, size or signature rule. */
export class WireValidationError extends GovchainError {
  declare readonly code: WireErrorCode;
  declare readonly context: WireErrorContext;

  constructor(
    code: WireErrorCode,
    message: string,
    context: WireErrorContext = {},
    options?: ErrorOptions,
  ) {
    super(code, message, context, options);
  }
}

/** True when `err` is a `WireValidationError`, optionally with the given code. */
export function isWireValidationError(
  err: unknown,
  code?: WireErrorCode,
): err is WireValidationError {
  return err instanceof WireValidationError && (code === undefined || err.code === code);
}

const MAX_ID_IN_CONTEXT = 128;

/**
 * An id from untrusted input, cut to a loggable length: a malformed `header_signature` may be
 * megabytes long, and error contexts end up in logs and HTTP responses.
 */
export function clipId(id: string): string {
  return id.length <= MAX_ID_IN_CONTEXT ? id : `${id.slice(0, MAX_ID_IN_CONTEXT)}…`;
}

/** Throws a `WireValidationError`; a statement-friendly shorthand for the many checks. */
export function failWire(
  code: WireErrorCode,
  message: string,
  context: WireErrorContext = {},
): never {
  throw new WireValidationError(code, message, context);
}

/**
 * Runs `fn`, adding `where` (block, batch, transaction ids) to the context of any
 * `WireValidationError` it throws: a decoder knows the message type, only its caller knows
 * which batch or transaction the bytes belong to.
 */
export function withWireContext<T>(fn: () => T, where: WireErrorContext): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WireValidationError) {
      throw new WireValidationError(
        err.code,
        err.message,
        { ...err.context, ...where },
        { cause: err.cause },
      );
    }
    throw err;
  }
}
