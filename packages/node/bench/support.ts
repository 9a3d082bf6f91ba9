/** Helpers shared by the benchmark scripts in this directory. */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";

/** The checked-out commit (short hash), for a report's conditions; null outside a git checkout. */
export function gitCommit(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

/** The median of `xs` (the mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Where and when a report was produced: the first fields of its conditions. */
export function runConditions(started: Date): {
  date: string;
  commit: string | null;
  machine: string;
  node: string;
  loadavg_at_end: number[];
} {
  return {
    date: started.toISOString(),
    commit: gitCommit(),
    machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown CPU"}`,
    node: process.version,
    loadavg_at_end: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
