/**
 * CPU time and memory of a process from Linux's /proc, for "CPU µs per committed transaction"
 * and RSS figures. Returns undefined where /proc is not available.
 */
import { readFile } from "node:fs/promises";

/** CPU time and resident memory of a process at one moment. */
export interface ProcessSample {
  /** User + system CPU time, microseconds. */
  readonly cpuMicros: number;
  /** Resident set size, bytes: anonymous + file-backed (+ shared memory). */
  readonly rssBytes: number;
  /** Anonymous resident memory (heap, buffers, native allocations): what the process owns. */
  readonly rssAnonBytes: number;
  /**
   * File-backed resident pages: the binary and memory-mapped files (LevelDB maps its table
   * files), page cache the kernel reclaims under pressure.
   */
  readonly rssFileBytes: number;
}

// Linux reports CPU times in clock ticks; 100 per second on every mainstream kernel config.
const TICKS_PER_SECOND = 100;

/** Samples `pid`'s CPU time and RSS. */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? "0");
    return {
      cpuMicros: ((utime + stime) * 1e6) / TICKS_PER_SECOND,
      rssBytes: kb("VmRSS") * 1024,
      rssAnonBytes: kb("RssAnon") * 1024,
      rssFileBytes: kb("RssFile") * 1024,
    };
  } catch {
    return undefined;
  }
}
