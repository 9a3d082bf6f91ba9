/**
 * The one error model of govchain. Every error that crosses a module boundary is a
 * `GovchainError` with a machine-readable `code` (SCREAMING_SNAKE, stable, part of the API) and
 * structured `context`; the REST layer maps codes to HTTP statuses in a single table.
 */

/** Structured, loggable details of an error. Never put secrets or raw payloads here. */
export type ErrorContext = Readonly<Record<string, unknown>>;

/** Base class of all govchain errors. */
export class GovchainError extends Error {
  readonly code: string;
  readonly context: ErrorContext;

  constructor(code: string, message: string, context: ErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** True when `err` is a GovchainError, optionally with the given code. */
export function isGovchainError(err: unknown, code?: string): err is GovchainError {
  return err instanceof GovchainError && (code === undefined || err.code === code);
}

/** Thrown on a bug: a broken invariant inside govchain itself, never caused by input. */
export class InvariantError extends GovchainError {
  constructor(message: string, context: ErrorContext = {}) {
    super("INVARIANT_VIOLATED", message, context);
  }
}

/** Asserts an internal invariant; failing means a bug, not bad input. */
export function invariant(
  condition: unknown,
  message: string,
  context?: ErrorContext,
): asserts condition {
  if (!condition) throw new InvariantError(message, context);
}

/** Message of any thrown value, for logs and receipts. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
