/**
 * Runs the CLI in-process with captured streams, for tests of single commands: no process
 * start-up cost, and the same `main` the `govchain` binary runs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import type { CliIo, CliStream } from "../../src/cli/output.js";

/** What one in-process run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as one JSON document. */
  json<T = Record<string, unknown>>(): T;
}

/** Options of `runCli`. */
export interface RunCliOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** Pretend stdout/stderr are terminals. */
  readonly tty?: boolean;
}

function capture(tty: boolean): CliStream & { text: string } {
  const stream = {
    text: "",
    isTTY: tty,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

/** Runs `govchain <args>` in-process. */
export async function runCli(args: readonly string[], options: RunCliOptions): Promise<CliRun> {
  const stdout = capture(options.tty ?? false);
  const stderr = capture(options.tty ?? false);
  const io: CliIo = {
    stdout,
    stderr,
    env: options.env ?? {},
    cwd: options.cwd,
    ownsProcess: false,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const code = await main(["node", "govchain", ...args], io);
  return {
    code,
    stdout: stdout.text,
    stderr: stderr.text,
    json<T>() {
      try {
        return JSON.parse(stdout.text) as T;
      } catch {
        throw new Error(`stdout is not JSON:\n${stdout.text}\nstderr:\n${stderr.text}`);
      }
    },
  };
}

/** A fresh temporary directory and its removal. */
export async function tempDir(
  prefix = "govchain-cli-",
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
