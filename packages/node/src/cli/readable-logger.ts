/**
 * A `Logger` for people: one line per record (`12:03:04.123 INFO  chain: block committed
 * height=5`), used by `node start` when stdout is a terminal. Pipes and files get pino's JSON
 * lines instead, which machines read better.
 */
import type { LogFields, Logger, LogLevel } from "../common/logger.js";
import type { CliStream } from "./output.js";

const RANK: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: 100,
};

const COLOUR: Readonly<Partial<Record<LogLevel, string>>> = {
  trace: "\x1b[90m",
  debug: "\x1b[90m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

function formatValue(value: unknown): string {
  if (typeof value === "string") return /[\s="]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return JSON.stringify(value.message);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return "";
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${formatValue(v)}`);
  return parts.length > 0 ? ` ${parts.join(" ")}` : "";
}

/** Options of `createReadableLogger`. */
export interface ReadableLoggerOptions {
  readonly stream: CliStream;
  /** Minimum level; default `info`. */
  readonly level?: LogLevel;
  /** Colour the level names (when the stream is a terminal). */
  readonly colour?: boolean;
  /** The time of a record, injected so output is testable; default the local wall clock. */
  readonly now?: () => Date;
}

/** Creates a readable one-line-per-record logger. */
export function createReadableLogger(options: ReadableLoggerOptions, module?: string): Logger {
  const min = RANK[options.level ?? "info"];
  const now = options.now ?? (() => new Date());
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: LogFields): void => {
      if (RANK[level] < min) return;
      const date = now();
      const time = `${date.toTimeString().slice(0, 8)}.${String(date.getMilliseconds()).padStart(3, "0")}`;
      const name = level.toUpperCase().padEnd(5);
      const colour = options.colour ? COLOUR[level] : undefined;
      const levelText = colour ? `${colour}${name}\x1b[0m` : name;
      options.stream.write(
        `${time} ${levelText} ${module ? `${module}: ` : ""}${msg}${formatFields(fields)}\n`,
      );
    };
  return {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (child) => createReadableLogger(options, child),
  };
}
