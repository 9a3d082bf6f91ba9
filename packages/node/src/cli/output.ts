/**
 * The CLI's output layer: the only place that writes to the terminal. Commands hand it a
 * result twice — as text for people and as a value for `--json` — and it picks one, so the two
 * forms can never drift apart in what they contain. Progress (spinners, counters) goes to
 * stderr and only on a TTY, so pipes and `--json` stay clean.
 */
import { codeOf } from "./errors.js";

/** A writable text stream (process.stdout/stderr, or a buffer in tests). */
export interface CliStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** What the CLI reads from and writes to: the process, or a test's stand-ins. */
export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths and `.govchain/` are resolved against. */
  readonly cwd: string;
  /**
   * Ends long-running commands (`node start`, `up`) like SIGINT does. The real process uses
   * signals; in-process tests use this.
   */
  readonly signal?: AbortSignal;
  /** True when `main` owns the process: it may install signal handlers and force an exit. */
  readonly ownsProcess: boolean;
}

/** The process's own streams, environment and working directory. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ownsProcess: true,
  };
}

/** A progress indicator for a long operation. */
export interface Progress {
  /** Replaces the text after the spinner, e.g. `3/10 committed`. */
  update(text: string): void;
  /** Stops the spinner, leaving `text` (if any) as a finished line on stderr. */
  done(text?: string): void;
}

/** How a command's output is rendered. */
export interface OutputOptions {
  readonly json: boolean;
  readonly verbose: boolean;
}

/** The output of one command run. */
export interface Output {
  readonly json: boolean;
  readonly verbose: boolean;
  /** The command's result: `human` lines for people, or `data` as one JSON document. */
  result(human: string | readonly string[], data: unknown): void;
  /**
   * Like `result`, but `data` is printed as ONE line of JSON: for long-running commands whose
   * readiness a script waits for line by line (`node start`, `up`).
   */
  event(human: string | readonly string[], data: unknown): void;
  /** A line for people only (hints, headings); dropped with `--json`. */
  info(text: string): void;
  /** A warning on stderr; in `--json` mode a JSON line on stderr. */
  warn(text: string): void;
  /** Starts a progress indicator (a no-op unless stderr is a TTY and `--json` is off). */
  progress(label: string): Progress;
  /** Prints an error that ended the command: one line, or the stack with `--verbose`. */
  error(err: unknown): void;
  /** True when stdout is a terminal. */
  readonly interactive: boolean;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;
const SPINNER_INTERVAL_MS = 100;

/** JSON.stringify that writes bigints as decimal strings and bytes as hex. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
      return v;
    },
    indent,
  );
}

/** Creates the output of one command run. */
export function createOutput(io: CliIo, options: OutputOptions): Output {
  const { json, verbose } = options;
  const line = (stream: CliStream, text: string): void => {
    stream.write(text.endsWith("\n") ? text : `${text}\n`);
  };
  let active: { clear(): void } | undefined;

  const output: Output = {
    json,
    verbose,
    interactive: io.stdout.isTTY === true,

    result(human, data) {
      active?.clear();
      if (json) line(io.stdout, toJson(data));
      else for (const text of typeof human === "string" ? [human] : human) line(io.stdout, text);
    },

    event(human, data) {
      active?.clear();
      if (json) line(io.stdout, toJson(data, 0));
      else for (const text of typeof human === "string" ? [human] : human) line(io.stdout, text);
    },

    info(text) {
      if (json) return;
      active?.clear();
      line(io.stdout, text);
    },

    warn(text) {
      active?.clear();
      line(io.stderr, json ? toJson({ warning: text }, 0) : `warning: ${text}`);
    },

    progress(label) {
      if (json || io.stderr.isTTY !== true) return { update() {}, done() {} };
      let frame = 0;
      let text = "";
      let visible = false;
      const draw = (): void => {
        const spinner = SPINNER[frame % SPINNER.length] ?? "-";
        io.stderr.write(`\r\x1b[2K${spinner} ${label}${text ? ` ${text}` : ""}`);
        visible = true;
      };
      const clear = (): void => {
        if (visible) io.stderr.write("\r\x1b[2K");
        visible = false;
      };
      // A spinner is presentation, not synchronisation: the interval is unref'd so it never
      // keeps the process alive.
      const timer = setInterval(() => {
        frame++;
        draw();
      }, SPINNER_INTERVAL_MS);
      timer.unref();
      const handle = { clear };
      active = handle;
      draw();
      return {
        update(next) {
          text = next;
          draw();
        },
        done(final) {
          clearInterval(timer);
          clear();
          if (active === handle) active = undefined;
          if (final !== undefined) line(io.stderr, final);
        },
      };
    },

    error(err) {
      active?.clear();
      const code = codeOf(err);
      const message = err instanceof Error ? err.message : String(err);
      if (json) {
        line(io.stdout, toJson({ error: { code, message } }, 0));
      } else {
        line(io.stderr, `error [${code}]: ${message}`);
      }
      if (verbose) {
        let cause: unknown = err;
        while (cause instanceof Error) {
          line(io.stderr, cause.stack ?? `${cause.name}: ${cause.message}`);
          cause = cause.cause;
          if (cause !== undefined) line(io.stderr, "caused by:");
        }
      }
    },
  };
  return output;
}
