/**
 * Guards the module boundaries written down in ARCHITECTURE.md: which source folders may
 * import which, that consensus does no I/O, and that only the composition root (and the CLI
 * that wraps it) chooses concrete implementations.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** Internal modules each folder may import (besides itself). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  common: [],
  crypto: ["common"],
  storage: ["common"],
  wire: ["common", "crypto"],
  state: ["common", "storage"],
  metrics: [],
  execution: ["common", "state", "storage", "wire"],
  gs1: ["common"],
  families: ["common", "execution", "wire", "gs1"],
  trace: ["common", "crypto", "families", "gs1", "state", "wire"],
  ledger: ["common", "storage", "wire"],
  admission: ["common", "crypto", "execution", "ledger", "wire"],
  chain: ["common", "crypto", "execution", "admission", "ledger", "state", "storage", "wire"],
  consensus: ["common", "crypto", "chain", "admission", "ledger", "storage", "wire", "families"],
  genesis: ["common", "crypto", "families", "state", "wire"],
  api: [
    "common",
    "crypto",
    "wire",
    "state",
    "storage",
    "execution",
    "families",
    "ledger",
    "admission",
    "chain",
    "consensus",
    "genesis",
    "metrics",
    "node",
    "gs1",
    "trace",
  ],
  network: ["common", "crypto"],
  p2p: ["common", "crypto", "wire", "network", "admission", "ledger", "consensus"],
  cli: ["*"],
  bench: ["*"],
};

/** Node built-ins that mean I/O; consensus must reach none of them directly. */
const IO_MODULES = [
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:http",
  "node:https",
  "node:dgram",
  "node:child_process",
  "node:worker_threads",
];

/** Factories of concrete implementations that only the composition root may call. */
const CONCRETE_FACTORIES = [
  "createLevelStore",
  "createDevmodeEngine",
  "createPinoLogger",
  "createTlsTransport",
  "createPbftEngine",
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text))
    specifiers.push((m[1] ?? m[2]) as string);
  return specifiers;
}

/** The top-level source folder of a file (`node` for src/node.ts, `index` for src/index.ts). */
function moduleOf(file: string): string {
  const rel = relative(SRC, file).split("/");
  return rel.length === 1 ? (rel[0] as string).replace(/\.(ts|js)$/, "") : (rel[0] as string);
}

const files = sourceFiles(SRC);

describe("architecture", () => {
  it("finds the source tree", () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it("keeps imports within the allowed module graph", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = moduleOf(file);
      const allowed = ALLOWED[from];
      if (allowed === undefined || allowed.includes("*")) continue;
      for (const spec of importsOf(file)) {
        if (!spec.startsWith(".")) continue;
        const target = moduleOf(resolve(dirname(file), spec));
        if (target !== from && !allowed.includes(target))
          violations.push(`${relative(SRC, file)} imports ${spec} (${from} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("keeps consensus free of I/O", () => {
    const violations = files
      .filter((f) => moduleOf(f) === "consensus")
      .flatMap((f) =>
        importsOf(f)
          .filter((s) => IO_MODULES.includes(s))
          .map((s) => `${relative(SRC, f)} imports ${s}`),
      );
    expect(violations).toEqual([]);
  });

  it("lets only the composition root, the CLI and the benchmarks choose concrete implementations", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = moduleOf(file);
      if (from === "node" || from === "cli" || from === "bench") continue;
      const text = readFileSync(file, "utf8");
      for (const factory of CONCRETE_FACTORIES) {
        // The defining module may mention its own factory.
        if (
          new RegExp(`\\b${factory}\\(`).test(text) &&
          !new RegExp(`export function ${factory}\\b`).test(text)
        ) {
          violations.push(`${relative(SRC, file)} calls ${factory}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("never reads the wall clock or timers outside adapters", () => {
    const adapters = new Set(["common/clock.ts", "common/random.ts", "common/logger.ts"]);
    const pattern = /\b(Date\.now\(|setTimeout\(|setInterval\(|Math\.random\()/;
    const violations = files
      .filter((f) =>
        [
          "consensus",
          "execution",
          "chain",
          "state",
          "families",
          "ledger",
          "admission",
          "gs1",
          "trace",
        ].includes(moduleOf(f)),
      )
      .filter((f) => !adapters.has(relative(SRC, f)) && pattern.test(readFileSync(f, "utf8")))
      .map((f) => relative(SRC, f));
    expect(violations).toEqual([]);
  });
});
