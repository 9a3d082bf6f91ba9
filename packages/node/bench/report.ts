/**
 * Builds the targets table of `docs/benchmarks/README.md` and the SVG charts in
 * `docs/benchmarks/charts/` from the JSON the benchmark scripts wrote into `docs/benchmarks/`:
 * every figure in the table is read from a measured report, never typed in. A target whose
 * report is missing shows as "not measured".
 *
 * Run: `npx tsx packages/node/bench/report.ts [--dir docs/benchmarks]` (it formats the README
 * with Biome afterwards, as `npm run lint` expects).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const args = process.argv.slice(2);
const dirAt = args.indexOf("--dir");
const dir = dirAt >= 0 ? (args[dirAt + 1] as string) : "docs/benchmarks";
const biomeBin = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
const START = "<!-- targets:start -->";
const END = "<!-- targets:end -->";

// biome-ignore lint/suspicious/noExplicitAny: reports are JSON written by our own scripts
type Json = any;

async function load(name: string): Promise<Json | undefined> {
  const path = join(dir, name);
  return existsSync(path) ? JSON.parse(await readFile(path, "utf8")) : undefined;
}

interface TargetRow {
  readonly id: string;
  readonly measure: string;
  readonly target: string;
  readonly value: string;
  readonly verdict: "met" | "not met" | "not measured" | "partly met";
  readonly conditions: string;
  readonly source: string;
}

const n = (value: number, digits = 0): string =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function clusterRow(cluster: Json | undefined, id: string) {
  return cluster?.rows?.find((r: Json) => r.id === id)?.report as Json | undefined;
}

function conditionsOf(report: Json): string {
  const c = report.conditions;
  return `${c.nodes} validators, ${c.suite}/${c.algorithm}, ${c.batch_size} tx/batch, ${c.mode}, commit ${c.commit}, load avg ${c.loadavg_before?.[0]}, ${String(c.date).slice(0, 10)}`;
}

function targets(json: Record<string, Json | undefined>): TargetRow[] {
  const rows: TargetRow[] = [];
  const cluster = json.cluster;
  const missing = (id: string, measure: string, target: string, source: string): TargetRow => ({
    id,
    measure,
    target,
    value: "—",
    verdict: "not measured",
    conditions: "",
    source,
  });

  const p1 = clusterRow(cluster, "P1");
  const p1b = clusterRow(cluster, "P1b");
  if (p1) {
    const best = p1b && p1b.tps > p1.tps ? p1b : p1;
    rows.push({
      id: "P1",
      measure: "committed tx/s, 4 validators, Ed25519 intkey",
      target: "≥ 6,000 (≥ 75 % of ceiling)",
      value:
        `${n(p1.tps)} (1 tx/batch, ${n(p1.ceiling?.ratio * 100, 0)} % of ceiling ${n(p1.ceiling?.network_tps)})` +
        (p1b ? `; ${n(p1b.tps)} (10 tx/batch, ${n(p1b.ceiling?.ratio * 100, 0)} %)` : ""),
      verdict: best.tps >= 6_000 ? "met" : "not met",
      conditions: conditionsOf(p1),
      source: "cluster.json",
    });
  } else rows.push(missing("P1", "committed tx/s, 4 validators", "≥ 6,000", "cluster.json"));

  const p2 = clusterRow(cluster, "P2");
  rows.push(
    p2
      ? {
          id: "P2",
          measure: "submit→commit latency at half of P1's rate",
          target: "p50 ≤ 25 ms, p99 ≤ 150 ms",
          value: `p50 ${n(p2.p50_ms, 1)} ms, p99 ${n(p2.p99_ms, 1)} ms at ${n(p2.tps)} tx/s`,
          verdict:
            p2.p50_ms <= 25 && p2.p99_ms <= 150
              ? "met"
              : p2.p50_ms <= 25 || p2.p99_ms <= 150
                ? "partly met"
                : "not met",
          conditions: conditionsOf(p2),
          source: "cluster.json",
        }
      : missing("P2", "latency at half load", "p50 ≤ 25 ms, p99 ≤ 150 ms", "cluster.json"),
  );
  for (const [id, measure, target, min] of [
    ["P3", "gm suite (SM2/SM3) tx/s", "≥ 1,100", 1_100],
    ["P4", "secp256k1 signers tx/s", "≥ 1,200", 1_200],
  ] as const) {
    const r = clusterRow(cluster, id);
    rows.push(
      r
        ? {
            id,
            measure,
            target,
            value: `${n(r.tps)} (${n(r.ceiling?.ratio * 100)} % of ceiling ${n(r.ceiling?.network_tps)})`,
            verdict: r.tps >= min ? "met" : "not met",
            conditions: conditionsOf(r),
            source: "cluster.json",
          }
        : missing(id, measure, target, "cluster.json"),
    );
  }
  rows.push(
    p1
      ? {
          id: "P5",
          measure: "CPU per committed tx per validator",
          target: "≤ 70 µs",
          value: `${n(p1.cpu_us_per_tx)} µs (P1 run)`,
          verdict: p1.cpu_us_per_tx <= 70 ? "met" : "not met",
          conditions: conditionsOf(p1),
          source: "cluster.json",
        }
      : missing("P5", "CPU per tx per validator", "≤ 70 µs", "cluster.json"),
  );

  // recovery.json (bench/recovery.ts): p6 is one series per consensus setting, the first with
  // the node defaults; p7 has the full-size catch-up and smaller comparisons.
  const recovery = json.recovery;
  const recoveryDate = String(recovery?.conditions?.date ?? "").slice(0, 10);
  const p6 = (recovery?.p6 as Json[] | undefined)?.[0];
  const p6Resume = p6?.median?.resumeS as number | null | undefined;
  rows.push(
    p6 && p6Resume !== undefined && p6Resume !== null
      ? {
          id: "P6",
          measure: "primary killed under load → commits resume in the new view",
          target: "≤ 1.5 s (default settings)",
          value: `median ${n(p6Resume, 2)} s over ${p6.rounds?.length ?? "?"} kills (${(
            p6.rounds as Json[]
          )
            .map((r) => (r.resumeS === null ? "–" : n(r.resumeS, 2)))
            .join(", ")} s); backlog cleared after ${n(p6.median.backToRateS ?? Number.NaN, 1)} s`,
          verdict: p6Resume <= 1.5 ? "met" : "not met",
          conditions: `4 validators, ${p6.rate} tx/s offered, default view-change timeout 1 s, ${recoveryDate}`,
          source: "recovery.md",
        }
      : missing("P6", "primary killed → commits resume", "≤ 1.5 s", "recovery.json"),
  );
  const p7 = recovery?.p7?.full as Json | undefined;
  rows.push(
    p7
      ? {
          id: "P7",
          measure: "wiped validator rejoins 1M committed txs behind",
          target: "caught up ≤ 60 s",
          value: `${n(p7.caughtUpS, 1)} s for ${n(p7.historyTransactions)} tx (${n(p7.targetHeight)} blocks) by ${p7.method}`,
          verdict:
            p7.caughtUpS <= 60 && p7.historyTransactions >= 1_000_000
              ? "met"
              : p7.caughtUpS <= 60
                ? "partly met"
                : "not met",
          conditions: `4 validators, ${recovery.p7.batchSize} tx per batch, time from process spawn, ${recoveryDate}`,
          source: "recovery.md",
        }
      : missing("P7", "wiped validator catch-up", "≤ 60 s", "recovery.json"),
  );

  const state = json.stateCommit;
  const sha = state?.results?.find?.((r: Json) => r.mode === "compute");
  rows.push(
    sha
      ? {
          id: "P8",
          measure: "state commit, random addresses (tree work)",
          target: "≥ 100,000 leaf updates/s per core",
          value: `${n(sha.perCpuSecond ?? sha.updatesPerCpuSecond ?? 0)} per CPU-s (${state.hash}, ${n(state.leaves)} leaves)`,
          verdict:
            (sha.perCpuSecond ?? sha.updatesPerCpuSecond ?? 0) >= 100_000 ? "met" : "not met",
          conditions: `blocks of ${state.blockSize}, radix ${state.radix}, ${String(state.date).slice(0, 10)}`,
          source: "state-commit.json",
        }
      : missing("P8", "state commit", "≥ 100,000 /s per core", "state-commit.md"),
  );

  const storage = json.storage;
  if (storage?.p9) {
    const p50 = storage.p9.map(
      (s: Json) => `${s.valueKiB} KiB −${n(s.readLatencyReduction.afterWrites.p50 * 100)} %`,
    );
    const c = storage.conditions;
    rows.push({
      id: "P9",
      measure: "off-chain store (LMDB) read latency vs LevelDB, 100k uniform writes then reads",
      target: "≥ 50 % below LevelDB",
      value: `p50 ${p50.join(", ")}`,
      verdict: storage.p9Met ? "met" : "not met",
      conditions: `${c.ops} ops per size, groups of ${c.batchSize} fsynced, ${String(c.started).slice(0, 10)}`,
      source: "storage-experiment.json",
    });
  } else
    rows.push(
      missing("P9", "off-chain store reads", "≥ 50 % below LevelDB", "storage-experiment.json"),
    );

  const scaling = json.scaling;
  rows.push(
    scaling
      ? {
          id: "P10",
          measure: "consensus bytes per block as N grows (simulation)",
          target: "optimised mode ~linear; ≥ 5× fewer bytes than all-to-all at N = 32",
          value: scaling.summary ?? "baseline measured",
          verdict: "not met",
          conditions: "all-to-all PBFT baseline; the optimised mode is a later issue",
          source: "consensus-scaling.md",
        }
      : missing(
          "P10",
          "consensus traffic scaling",
          "≥ 5× fewer bytes at N = 32",
          "consensus-scaling.json",
        ),
  );

  const soak = json.soak;
  rows.push(
    p1
      ? {
          id: "P11",
          measure: "validator RSS during P1; growth over a 10-minute soak",
          target: "≤ 512 MB; ≤ 10 % growth",
          value:
            `${n(p1.rss_mb)} MB max during P1` +
            (soak
              ? `; soak at ${soak.conditions?.workload?.match(/\d+ tx\/s/)?.[0] ?? "fixed rate"}: RSS growth ${n(soak.growth_pct, 1)} % over ${n(soak.seconds / 60, 0)} min (anonymous ${n(soak.anon_growth_pct ?? Number.NaN, 1)} %), max ${n(soak.rss_max_mb)} MB`
              : "; soak not run"),
          verdict:
            p1.rss_mb <= 512 && soak && soak.growth_pct <= 10
              ? "met"
              : p1.rss_mb <= 512
                ? "partly met"
                : "not met",
          conditions: conditionsOf(p1),
          source: soak ? "cluster.json, soak.json" : "cluster.json",
        }
      : missing("P11", "memory", "≤ 512 MB", "cluster.json"),
  );
  return rows;
}

async function svg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const out = await view.toSVG();
  view.finalize();
  return `${out}\n`;
}

async function charts(json: Record<string, Json | undefined>): Promise<string[]> {
  const made: string[] = [];
  const chartDir = join(dir, "charts");
  await mkdir(chartDir, { recursive: true });
  // Every chart: a vega-lite v6 spec rendered to one SVG file.
  const chart = async (file: string, spec: Json): Promise<void> => {
    await writeFile(
      join(chartDir, file),
      await svg({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", ...spec }),
    );
    made.push(`charts/${file}`);
  };
  const sweep = (json.cluster?.rows ?? []).filter((r: Json) => String(r.id).startsWith("sweep-"));
  if (sweep.length > 0) {
    const values = sweep.flatMap((r: Json) => [
      { offered: r.report.conditions.mode, tps: r.report.tps, latency: r.report.p50_ms, q: "p50" },
      { offered: r.report.conditions.mode, tps: r.report.tps, latency: r.report.p99_ms, q: "p99" },
    ]);
    await chart("latency-throughput.svg", {
      title: "4 validators, Ed25519 intkey, open loop: latency vs committed throughput",
      width: 480,
      height: 280,
      data: { values },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "tps", type: "quantitative", title: "committed tx/s" },
        y: {
          field: "latency",
          type: "quantitative",
          title: "submit → commit (ms, f+1 nodes)",
          scale: { type: "log" },
        },
        color: { field: "q", type: "nominal", title: "percentile" },
      },
    });
  }
  const scaling = json.scaling?.rows as Json[] | undefined;
  if (scaling && scaling.length > 0) {
    const values = scaling
      .filter((r) => r.bytesPerBlock !== undefined)
      .flatMap((r) => [
        { n: r.n, bytes: r.bytesPerBlock, what: "all nodes" },
        ...(r.primaryBytesPerBlock !== undefined
          ? [{ n: r.n, bytes: r.primaryBytesPerBlock, what: "primary" }]
          : []),
      ]);
    if (values.length > 0) {
      await chart("consensus-scaling.svg", {
        title: "PBFT bytes sent per committed block (simulation, all-to-all baseline)",
        width: 480,
        height: 280,
        data: { values },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "n", type: "quantitative", title: "validators N", scale: { type: "log" } },
          y: {
            field: "bytes",
            type: "quantitative",
            title: "bytes / block",
            scale: { type: "log" },
          },
          color: { field: "what", type: "nominal", title: "sent by" },
        },
      });
    }
  }
  const perSuite = (json.cluster?.rows ?? []).filter((r: Json) =>
    ["P1", "P1b", "P3", "P4", "trace"].includes(r.id),
  );
  if (perSuite.length > 0) {
    const values = perSuite.flatMap((r: Json) => [
      { run: `${r.id}: ${r.label}`, what: "measured tx/s", tps: r.report.tps },
      ...(r.report.ceiling
        ? [
            {
              run: `${r.id}: ${r.label}`,
              what: "network ceiling",
              tps: r.report.ceiling.network_tps,
            },
          ]
        : []),
    ]);
    await chart("throughput-vs-ceiling.svg", {
      title: "4 validators on 2 cores: committed tx/s and the ceiling of the same session",
      width: 420,
      data: { values },
      mark: "bar",
      encoding: {
        y: { field: "run", type: "nominal", title: null },
        yOffset: { field: "what" },
        x: { field: "tps", type: "quantitative", title: "tx/s" },
        color: { field: "what", type: "nominal", title: null },
      },
    });
  }
  return made;
}

function table(rows: readonly TargetRow[], made: readonly string[]): string {
  const lines = [
    START,
    "",
    "_Generated by `packages/node/bench/report.ts` from the JSON reports in this directory._",
    "",
    "| id | measure | target | current value | verdict | conditions | report |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.id} | ${r.measure} | ${r.target} | ${r.value} | **${r.verdict}** | ${r.conditions} | [${r.source}](${r.source.split(",")[0]}) |`,
    ),
    "",
    ...made.map((m) => `![${m}](${m})`),
    "",
    END,
  ];
  return lines.join("\n");
}

const json = {
  cluster: await load("cluster.json"),
  recovery: await load("recovery.json"),
  stateCommit: await load("state-commit.json"),
  storage: await load("storage-experiment.json"),
  scaling: await load("consensus-scaling.json"),
  soak: await load("soak.json"),
};
const rows = targets(json);
const made = await charts(json);
const readmePath = join(dir, "README.md");
const readme = await readFile(readmePath, "utf8");
const block = table(rows, made);
const next =
  readme.includes(START) && readme.includes(END)
    ? `${readme.slice(0, readme.indexOf(START))}${block}${readme.slice(readme.indexOf(END) + END.length)}`
    : `${readme.trimEnd()}\n\n## Targets\n\n${block}\n`;
await writeFile(readmePath, next);
// The table as Biome's Markdown formatter lays it out (columns padded), or lint fails.
spawnSync(process.execPath, [biomeBin, "format", "--write", readmePath], { stdio: "inherit" });
process.stderr.write(`${readmePath}: ${rows.length} targets, ${made.length} charts\n`);
