/**
 * Error codes of the crypto module. They are part of the API: the CLI prints them when a key
 * file cannot be used, and the REST layer maps them to statuses. Verification never throws (a bad
 * signature is an answer, not an error), so these codes cover keys, key files and backends only.
 */
import { type ErrorContext, GovchainError } from "../common/errors.js";

/** Codes carried by `GovchainError`s thrown from `crypto/`. */
export const CryptoErrorCode = {
  /** A suite id that is neither `standard` nor `gm`. */
  UNKNOWN_SUITE: "UNKNOWN_SUITE",
  /** The algorithm is not one of the suite's (e.g. an SM2 key given to the `standard` suite). */
  UNSUPPORTED_ALGORITHM: "UNSUPPORTED_ALGORITHM",
  /** Private key bytes of the wrong length, or a scalar outside the curve's valid range. */
  INVALID_PRIVATE_KEY: "INVALID_PRIVATE_KEY",
  /** A key file could not be read: missing, not a regular file, or not permitted. */
  KEY_FILE_UNREADABLE: "KEY_FILE_UNREADABLE",
  /** A key file was read but is neither a govchain JSON key file nor a Sawtooth `.priv` file. */
  KEY_FILE_INVALID: "KEY_FILE_INVALID",
  /** A key file already exists and overwriting was not asked for. */
  KEY_FILE_EXISTS: "KEY_FILE_EXISTS",
  /** A key file could not be written (directory missing, not permitted, disk full). */
  KEY_FILE_UNWRITABLE: "KEY_FILE_UNWRITABLE",
  /** A native crypto backend (the SM2 addon) is not built or failed to load. */
  CRYPTO_BACKEND_UNAVAILABLE: "CRYPTO_BACKEND_UNAVAILABLE",
} as const;

/** One of `CryptoErrorCode`'s values. */
export type CryptoErrorCodeName = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** A `GovchainError` carrying a crypto code. Never put key material in `context`. */
export function cryptoError(
  code: CryptoErrorCodeName,
  message: string,
  context: ErrorContext = {},
  cause?: unknown,
): GovchainError {
  return new GovchainError(code, message, context, cause === undefined ? undefined : { cause });
}
