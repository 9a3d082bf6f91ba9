/**
 * The cluster figures of the performance targets (P1–P5, P11), each a `govchain bench` run
 * (`runBench`, the code behind the CLI) on a fresh 4-validator local network:
 *
 * - a short probe finds the closed-loop rate, so the P1 run lasts about `--seconds` (60);
 * - P1/P5/P11: intkey, Ed25519, closed loop — with 1 transaction per batch (Sawtooth's intkey
 *   workload) and with 10 per batch;
 * - P2: open loop at half of P1's rate; and a sweep of offered rates for the latency chart;
 * - P3: the gm suite (SM2/SM3); P4: secp256k1 signers; and the traceability workload.
 *
 * Writes `docs/benchmarks/cluster.json` (every report in full) with `--out DIR`.
 * Run: `npx tsx packages/node/bench/cluster.ts [--seconds 60] [--quick] [--out docs/benchmarks]`
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type BenchOptions, type BenchReport, runBench } from "../src/bench/run.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const quick = args.includes("--quick");
const seconds = Number(flag("--seconds") ?? (quick ? 10 : 60));
const outDir = flag("--out");
const only = flag("--only")?.split(",");

const base: BenchOptions = {
  nodes: 4,
  suite: "standard",
  workload: "intkey",
  transactions: 3_000,
  batchSize: 1,
  listSize: 20,
  mode: { kind: "closed", concurrency: 8 },
  commit: "f+1",
  warmup: 0.05,
};

interface Row {
  readonly id: string;
  readonly label: string;
  readonly report: BenchReport;
}
const rows: Row[] = [];

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function measure(id: string, label: string, options: BenchOptions): Promise<BenchReport> {
  log(`\n${id}: ${label}`);
  let last = "";
  const report = await runBench({
    ...options,
    onProgress: (text) => {
      if (text !== last && !text.startsWith("committed")) log(`  ${text}`);
      last = text;
    },
  });
  log(
    `  → ${report.tps} tx/s, p50 ${report.p50_ms} ms, p99 ${report.p99_ms} ms, success ${report.success_rate}, ` +
      `${report.cpu_us_per_tx} µs/tx/validator, RSS ${report.rss_mb} MB, ceiling ratio ${report.ceiling?.ratio}`,
  );
  rows.push({ id, label, report });
  return report;
}

/** Transactions for about `seconds` at the probed rate (at least 2,000). */
async function sized(
  id: string,
  options: BenchOptions,
): Promise<{ options: BenchOptions; probe: number }> {
  const probe = await measure(`${id}-probe`, "probe of the closed-loop rate", {
    ...options,
    transactions: quick ? 1_000 : 3_000,
    ceiling: false,
  });
  rows.pop();
  return {
    options: { ...options, transactions: Math.max(2_000, Math.round(probe.tps * seconds)) },
    probe: probe.tps,
  };
}

const want = (id: string): boolean => only === undefined || only.includes(id);

if (want("P1")) {
  const single = await sized("P1", base);
  const p1 = await measure("P1", "intkey, Ed25519, 1 tx/batch, closed loop", single.options);
  const batched = await sized("P1b", { ...base, batchSize: 10, listSize: 4 });
  await measure("P1b", "intkey, Ed25519, 10 tx/batch, closed loop", batched.options);
  if (want("P2")) {
    const half = Math.max(10, Math.round(p1.tps / 2));
    await measure("P2", `intkey, Ed25519, open loop at half of P1 (${half} tx/s)`, {
      ...base,
      mode: { kind: "open", ratePerSecond: half },
      transactions: half * Math.min(seconds, 30),
    });
    for (const share of quick ? [0.5, 1] : [0.25, 0.5, 0.75, 1, 1.25]) {
      const rate = Math.max(10, Math.round(p1.tps * share));
      await measure(`sweep-${share}`, `open loop at ${share} × P1 (${rate} tx/s)`, {
        ...base,
        mode: { kind: "open", ratePerSecond: rate },
        transactions: rate * Math.min(seconds, 20),
        ceiling: false,
      });
    }
  }
}
if (want("P3")) {
  const gm = await sized("P3", { ...base, suite: "gm" });
  await measure("P3", "intkey, gm suite (SM2/SM3), 1 tx/batch, closed loop", gm.options);
}
if (want("P4")) {
  const secp = await sized("P4", { ...base, algorithm: "secp256k1" });
  await measure("P4", "intkey, secp256k1 signers, 1 tx/batch, closed loop", secp.options);
}
if (want("trace")) {
  const trace = await sized("trace", { ...base, workload: "trace" });
  await measure("trace", "APSChain create_lot, Ed25519, 1 tx/batch, closed loop", trace.options);
}

// With --only, the rows not re-run are kept from the previous report (each row's conditions
// carry its own date and load).
const path = outDir ? join(outDir, "cluster.json") : undefined;
const previous: Row[] =
  only && path && existsSync(path)
    ? (JSON.parse(await readFile(path, "utf8")) as { rows: Row[] }).rows
    : [];
const merged = [...previous.filter((old) => !rows.some((row) => row.id === old.id)), ...rows];
const result = { generated: new Date().toISOString(), seconds, rows: merged };
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
if (path) await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
