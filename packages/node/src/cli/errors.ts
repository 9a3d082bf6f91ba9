/**
 * Errors of the command-line interface. Every failure a user can cause or meet ends as one
 * line `error [CODE]: message` and a non-zero exit code; the codes are stable so scripts can
 * branch on them (`--json` prints `{"error":{"code","message"}}`).
 */
import { type ErrorContext, GovchainError, isGovchainError } from "../common/errors.js";

/** Codes raised by the CLI itself (errors from other modules keep their own codes). */
export const CliErrorCode = {
  /** Bad command line: unknown option, missing or malformed argument. */
  USAGE_ERROR: "USAGE_ERROR",
  /** An argument has the right shape for the parser but not for govchain. */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  /** No node answered at the API URL. */
  API_UNREACHABLE: "API_UNREACHABLE",
  /** The API answered with something that is not what it documents. */
  API_BAD_RESPONSE: "API_BAD_RESPONSE",
  /** The API answered with an error but gave no code of its own. */
  API_ERROR: "API_ERROR",
  /** The API took longer than the request's bound. */
  API_TIMEOUT: "API_TIMEOUT",
  /** The asked-for state entry, block or record does not exist. */
  NOT_FOUND: "NOT_FOUND",
  /** A command that signs was given no key and found no default key. */
  KEY_REQUIRED: "KEY_REQUIRED",
  /** `network init` (or `up`) found a network already there. */
  NETWORK_EXISTS: "NETWORK_EXISTS",
  /** A file the command needs is missing or unreadable. */
  FILE_UNREADABLE: "FILE_UNREADABLE",
  /** A file the command reads is not in the expected format. */
  FILE_INVALID: "FILE_INVALID",
  /** A file the command writes exists and `--force` was not given. */
  FILE_EXISTS: "FILE_EXISTS",
  /** The TCP port asked for is taken by another process. */
  PORT_IN_USE: "PORT_IN_USE",
  /** A batch was rejected (status INVALID). */
  BATCH_INVALID: "BATCH_INVALID",
  /** A batch is still PENDING (or UNKNOWN) when the wait ran out. */
  BATCH_TIMEOUT: "BATCH_TIMEOUT",
  /** A proof file does not prove what it claims (tampered, wrong chain, wrong signer). */
  PROOF_INVALID: "PROOF_INVALID",
  /** A node process did not start, or stopped unexpectedly. */
  NODE_FAILED: "NODE_FAILED",
  /** The option combination asks for something this version cannot do yet. */
  UNSUPPORTED: "UNSUPPORTED",
  /** Interrupted by SIGINT/SIGTERM before the command finished. */
  INTERRUPTED: "INTERRUPTED",
  /** A bug: an error without a code escaped. */
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;

/** One of `CliErrorCode`'s values. */
export type CliErrorCodeName = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** Exit code of a usage error (as in most Unix tools); every other failure exits 1. */
export const USAGE_EXIT_CODE = 2;

/** A `GovchainError` raised by the CLI. */
export class CliError extends GovchainError {}

/** Creates a CLI error. */
export function cliError(
  code: CliErrorCodeName,
  message: string,
  context: ErrorContext = {},
  cause?: unknown,
): CliError {
  return new CliError(code, message, context, cause === undefined ? undefined : { cause });
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  return isGovchainError(err, CliErrorCode.USAGE_ERROR) ? USAGE_EXIT_CODE : 1;
}

/** The `code` to print for any thrown value. */
export function codeOf(err: unknown): string {
  if (isGovchainError(err)) return err.code;
  if (err instanceof Error && "code" in err && typeof err.code === "string") return err.code;
  return CliErrorCode.INTERNAL_ERROR;
}
