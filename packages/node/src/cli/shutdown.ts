/**
 * How long-running commands (`node start`, `up`) learn that they should stop: SIGINT or
 * SIGTERM when the CLI owns the process, or the test's abort signal. The same signal again
 * during a slow shutdown ends the process at once, which is what people expect from a second
 * Ctrl-C.
 */
import type { CliIo } from "./output.js";

/** Exit code after a forced stop (128 + SIGINT). */
const FORCED_EXIT_CODE = 130;
/** How long a process may linger after a clean stop before it is ended anyway. */
const EXIT_GRACE_MS = 5_000;

/** A pending shutdown request. */
export interface ShutdownWatch {
  /** Resolves with the signal's name (or `abort`) once a stop is requested. */
  readonly requested: Promise<string>;
  /** Removes the handlers; call once the command has stopped. */
  dispose(): void;
}

/** Watches for SIGINT/SIGTERM (when `io` owns the process) and `io.signal`. */
export function watchShutdown(io: CliIo): ShutdownWatch {
  const cleanups: (() => void)[] = [];
  let first: string | undefined;
  const requested = new Promise<string>((resolve) => {
    const request = (reason: string): void => {
      if (first !== undefined) {
        // The same signal again while stopping: the user pressed Ctrl-C twice and wants out
        // now. A different one is not: a terminal's SIGINT reaches `up` and its node child
        // together, and `up` then sends the child SIGTERM as well.
        if (reason === first && io.ownsProcess) process.exit(FORCED_EXIT_CODE);
        return;
      }
      first = reason;
      resolve(reason);
    };
    if (io.ownsProcess) {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        const handler = (): void => request(signal);
        process.on(signal, handler);
        cleanups.push(() => process.off(signal, handler));
      }
    }
    const { signal } = io;
    if (signal) {
      if (signal.aborted) request("abort");
      const onAbort = (): void => request("abort");
      signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
  });
  return {
    requested,
    dispose() {
      for (const cleanup of cleanups.splice(0)) cleanup();
    },
  };
}

/**
 * After a clean stop, makes sure the process really ends: if some library left a handle open
 * the process would otherwise hang. The timer is unref'd, so a process that exits on its own
 * is not delayed. Does nothing unless `io` owns the process.
 */
export function exitSoonAfterStop(io: CliIo, code: number): void {
  if (!io.ownsProcess) return;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}
