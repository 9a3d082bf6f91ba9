import { describe, expect, it } from "vitest";
import {
  histogramDelta,
  histogramOf,
  histogramQuantile,
  parsePrometheusText,
  sampleValue,
} from "../../src/bench/prometheus.js";
import {
  commitQuorum,
  networkCeilingTps,
  percentile,
  summariseLatencies,
} from "../../src/bench/stats.js";

const SCRAPE = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
govchain_consensus_phase_seconds_bucket{le="0.01",phase="decided"} 10
govchain_consensus_phase_seconds_bucket{le="0.1",phase="decided"} 30
govchain_consensus_phase_seconds_bucket{le="+Inf",phase="decided"} 40
govchain_consensus_phase_seconds_sum{phase="decided"} 2
govchain_consensus_phase_seconds_count{phase="decided"} 40
govchain_consensus_phase_seconds_bucket{le="0.01",phase="prepared"} 40
govchain_consensus_phase_seconds_bucket{le="+Inf",phase="prepared"} 40
label_escapes{path="a\\"b\\\\c"} 1
`;

describe("Prometheus text", () => {
  const samples = parsePrometheusText(SCRAPE);

  it("reads samples with labels, skipping comments", () => {
    expect(sampleValue(samples, "process_cpu_seconds_total")).toBe(12.5);
    expect(sampleValue(samples, "label_escapes", { path: 'a"b\\c' })).toBe(1);
    expect(sampleValue(samples, "absent")).toBeUndefined();
  });

  it("selects a histogram by label and interpolates its quantiles within buckets", () => {
    const decided = histogramOf(samples, "govchain_consensus_phase_seconds", { phase: "decided" });
    expect(decided.count).toBe(40);
    expect(decided.buckets.map((b) => b.count)).toEqual([10, 30, 40]);
    // Rank 20 lies halfway through the (0.01, 0.1] bucket, which holds ranks 11–30.
    expect(histogramQuantile(decided, 0.5)).toBeCloseTo(0.055, 6);
    // Rank 39.6 is in +Inf: reported as the highest finite edge, as Prometheus does.
    expect(histogramQuantile(decided, 0.99)).toBe(0.1);
    expect(histogramQuantile({ buckets: [], count: 0, sum: 0 }, 0.5)).toBeUndefined();
  });

  it("subtracts two scrapes bucket by bucket", () => {
    const before = histogramOf(samples, "govchain_consensus_phase_seconds", { phase: "decided" });
    const later = parsePrometheusText(
      SCRAPE.replaceAll('phase="decided"} 40', 'phase="decided"} 50').replace(
        'sum{phase="decided"} 2',
        'sum{phase="decided"} 3',
      ),
    );
    const after = histogramOf(later, "govchain_consensus_phase_seconds", { phase: "decided" });
    const delta = histogramDelta(before, after);
    expect(delta.count).toBe(10);
    expect(delta.sum).toBeCloseTo(1);
    expect(delta.buckets.map((b) => b.count)).toEqual([0, 0, 10]);
  });
});

describe("load statistics", () => {
  it("takes nearest-rank percentiles", () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, 50)).toBe(5);
    expect(percentile(sorted, 90)).toBe(9);
    expect(percentile(sorted, 99)).toBe(10);
    expect(percentile([], 50)).toBe(0);
    expect(() => percentile(sorted, 0)).toThrow(RangeError);
  });

  it("summarises unsorted latencies without modifying them", () => {
    const values = [30, 10, 20];
    const summary = summariseLatencies(values);
    expect(values).toEqual([30, 10, 20]);
    expect(summary).toMatchObject({ count: 3, min: 10, max: 30, mean: 20, p50: 20 });
  });

  it("maps commit thresholds to node counts", () => {
    expect(commitQuorum("first", 4)).toBe(1);
    expect(commitQuorum("f+1", 4)).toBe(2);
    expect(commitQuorum("f+1", 7)).toBe(3);
    expect(commitQuorum("all", 4)).toBe(4);
    expect(() => commitQuorum("all", 0)).toThrow(RangeError);
  });

  it("splits the machine's cores between validators for the network ceiling", () => {
    expect(networkCeilingTps(8_000, 2, 4)).toBe(4_000);
    expect(networkCeilingTps(8_000, 2, 1)).toBe(8_000);
    expect(networkCeilingTps(8_000, 8, 4)).toBe(8_000);
  });
});
