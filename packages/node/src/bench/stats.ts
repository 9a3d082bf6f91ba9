/**
 * The statistics of a load run, kept apart from the driver so they are pure and unit-tested:
 * latency percentiles (nearest rank, as Caliper and most load tools report them), the commit
 * quorum a `--commit` choice means, and the throughput ceiling of N validators sharing a
 * machine's cores.
 */

/** Latency summary of committed batches, milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` values by the nearest-rank method:
 * the smallest value with at least p % of the values at or below it. 0 for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], not ${p}`);
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Summarises latencies given in any order (the array is not modified). */
export function summariseLatencies(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  let sum = 0;
  for (const v of list) sum += v;
  return {
    count: list.length,
    min: list[0] as number,
    mean: sum / list.length,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list[list.length - 1] as number,
  };
}

/** How many nodes must report a batch committed before it counts. */
export type CommitThreshold = "first" | "f+1" | "all";

/** The largest number of faulty validators `n` PBFT validators tolerate: ⌊(n − 1) / 3⌋. */
export function faultsTolerated(n: number): number {
  return Math.floor((n - 1) / 3);
}

/**
 * The number of watched nodes a threshold means: `first` 1, `f+1` one more than the faults
 * the network tolerates (so at least one honest node has committed), `all` every one.
 */
export function commitQuorum(threshold: CommitThreshold, nodes: number): number {
  if (!Number.isInteger(nodes) || nodes < 1) throw new RangeError(`nodes must be ≥ 1: ${nodes}`);
  switch (threshold) {
    case "first":
      return 1;
    case "f+1":
      return faultsTolerated(nodes) + 1;
    case "all":
      return nodes;
  }
}

/**
 * The throughput ceiling of `nodes` validators on `cores` shared cores, from the one-core
 * ceiling: every validator does the unavoidable work for every transaction, so the machine's
 * cores are split between them (a validator is one thread: it cannot use more than one core
 * for this work even when cores outnumber validators).
 */
export function networkCeilingTps(oneCoreTps: number, cores: number, nodes: number): number {
  if (nodes < 1 || cores < 1) throw new RangeError("cores and nodes must be ≥ 1");
  return (oneCoreTps * Math.min(cores, nodes)) / nodes;
}

/** Committed transactions per second over the window [startMs, endMs]; 0 for an empty window. */
export function throughput(committed: number, startMs: number, endMs: number): number {
  const seconds = (endMs - startMs) / 1000;
  return seconds > 0 ? committed / seconds : 0;
}

/** Rounds to `digits` decimal places (for reports; keeps integers integral). */
export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
