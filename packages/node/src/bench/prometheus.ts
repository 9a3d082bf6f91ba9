/**
 * Just enough of the Prometheus text format to read a node's `/metrics` before and after a run:
 * samples, histogram buckets, and the change of a histogram over the run (counters only grow,
 * so the difference of two scrapes is what the run itself observed). Quantiles from buckets are
 * interpolated linearly inside a bucket as Prometheus's `histogram_quantile` does, so they are
 * estimates bounded by the bucket edges.
 */

/** One sample line: metric name, labels and value. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A histogram's cumulative buckets (ascending `le`, the last +Inf), count and sum. */
export interface PromHistogram {
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly count: number;
  readonly sum: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the samples of a Prometheus text exposition (comments and blank lines skipped). */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? "").matchAll(LABEL)) {
      labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_all, c: string) =>
        c === "n" ? "\n" : c,
      );
    }
    const value = parseValue(match[3] as string);
    if (value !== undefined) samples.push({ name: match[1] as string, labels, value });
  }
  return samples;
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

/** The value of the first sample named `name` whose labels include `labels`. */
export function sampleValue(
  samples: readonly PromSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return samples.find((s) => s.name === name && matches(s.labels, labels))?.value;
}

function matches(have: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>) {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/**
 * The histogram `name` restricted to series whose labels include `labels` (several series —
 * e.g. one per node — are summed). An absent histogram (nothing observed yet; prom-client
 * prints no series for a labelled histogram before its first observation) is empty.
 */
export function histogramOf(
  samples: readonly PromSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): PromHistogram {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const s of samples) {
    if (!matches(s.labels, labels)) continue;
    if (s.name === `${name}_bucket`) {
      const le = parseValue(s.labels.le ?? "");
      if (le !== undefined) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_count`) count += s.value;
    else if (s.name === `${name}_sum`) sum += s.value;
  }
  const buckets = [...byLe.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([le, c]) => ({ le, count: c }));
  return { buckets, count, sum };
}

/** What a histogram observed between two scrapes (`after − before`, bucket by bucket). */
export function histogramDelta(before: PromHistogram, after: PromHistogram): PromHistogram {
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The `q`-quantile (0 < q < 1) of a histogram, interpolated linearly within the bucket that
 * holds it (the first bucket's lower edge is 0). A quantile in the +Inf bucket is reported as
 * the highest finite edge, as Prometheus does. Undefined for an empty histogram.
 */
export function histogramQuantile(h: PromHistogram, q: number): number | undefined {
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerEdge = 0;
  let lowerCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerEdge;
      const inBucket = b.count - lowerCount;
      return inBucket > 0
        ? lowerEdge + (b.le - lowerEdge) * ((rank - lowerCount) / inBucket)
        : b.le;
    }
    lowerEdge = b.le;
    lowerCount = b.count;
  }
  return lowerEdge;
}
