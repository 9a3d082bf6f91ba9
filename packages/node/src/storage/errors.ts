/**
 * Error codes of the storage module. Every failure a `KvStore` reports is a `GovchainError`
 * with one of these codes, whichever engine sits underneath, so callers (and the REST error
 * table) never see LevelDB's own codes.
 */
import { type ErrorContext, GovchainError } from "../common/errors.js";

/** The stable error codes of `KvStore` implementations. */
export const StoreErrorCode = {
  /** The store was never opened, is closing, or was closed. */
  NOT_OPEN: "STORE_NOT_OPEN",
  /** Another process, or another store object in this process, holds the directory's lock. */
  LOCKED: "STORE_LOCKED",
  /** The directory could not be created or opened: corrupt, unreadable, or not a directory. */
  OPEN_FAILED: "STORE_OPEN_FAILED",
  /** A read, write or close failed inside the engine (I/O error, corruption met on read). */
  IO_FAILED: "STORE_IO_FAILED",
  /** A caller passed something that is not a valid key, value, operation, range or option. */
  INVALID_ARGUMENT: "STORE_INVALID_ARGUMENT",
} as const;

/** One of the `StoreErrorCode` values. */
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** A `GovchainError` carrying a storage code. */
export function storeError(
  code: StoreErrorCode,
  message: string,
  context: ErrorContext = {},
  cause?: unknown,
): GovchainError {
  return new GovchainError(code, message, context, cause === undefined ? undefined : { cause });
}

/** The error every operation on a store that is not open throws. */
export function storeNotOpen(operation: string, cause?: unknown): GovchainError {
  return storeError(
    StoreErrorCode.NOT_OPEN,
    `the store is not open: cannot ${operation}`,
    { operation },
    cause,
  );
}
