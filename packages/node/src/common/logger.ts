/**
 * Structured logging behind a small interface: `log.info("block committed", {height, txs})`.
 * The composition root backs it with pino; tests use `silentLogger` or `memoryLogger`.
 * Never log secrets, and raw peer payloads only at debug.
 */
import { pino } from "pino";

export type LogFields = Readonly<Record<string, unknown>>;
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger for one module: every record carries `module`. */
  child(module: string): Logger;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

/** A record captured by `createMemoryLogger`. */
export interface LogRecord {
  level: LogLevel;
  module: string;
  msg: string;
  fields: LogFields;
}

/** A logger that keeps records in memory, for tests that check what was logged. */
export function createMemoryLogger(
  records: LogRecord[] = [],
  module = "root",
): Logger & { records: LogRecord[] } {
  const at =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}): void => {
      records.push({ level, module, msg, fields });
    };
  return {
    records,
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (child) => createMemoryLogger(records, child),
  };
}

/** Options of `createPinoLogger`. */
export interface PinoLoggerOptions {
  /** Minimum level; default `info`. */
  level?: LogLevel;
  /** Fields on every record, e.g. `{ nodeId }`. */
  base?: LogFields;
  /** File descriptor or path to write to; default stdout. */
  destination?: number | string;
}

/** A pino-backed logger writing JSON lines. */
export function createPinoLogger(options: PinoLoggerOptions = {}): Logger {
  const destination = pino.destination({ dest: options.destination ?? 1, sync: false });
  const root = pino({ level: options.level ?? "info", base: { ...options.base } }, destination);
  return wrapPino(root);
}

function wrapPino(p: pino.Logger): Logger {
  return {
    trace: (msg, fields) => p.trace(fields ?? {}, msg),
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    child: (module) => wrapPino(p.child({ module })),
  };
}
