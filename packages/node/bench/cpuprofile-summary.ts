/**
 * Summarises V8 `.cpuprofile` files (from `node --cpu-prof`): where the CPU time went, by
 * function (self and inclusive time) and by area (our modules, each dependency, Node internals,
 * garbage collection, idle). Several files are merged (e.g. the four validators of one run) and
 * shares are given of the busy (non-idle) time.
 *
 * Run: `npx tsx packages/node/bench/cpuprofile-summary.ts [--top 30] [--focus text] [--skip s]
 *   a.cpuprofile …` — `--skip s` leaves out each profile's first s seconds (start-up: the
 * TypeScript loader compiling sources, LevelDB opening).
 * A directory argument stands for its largest `.cpuprofile` (with `--cpu-prof`, each thread of
 * a process writes its own file; the main thread's is the largest).
 * `--focus text` also lists the callers' stacks (three frames up) of functions whose name or
 * file contains `text`.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const TOP = topAt >= 0 ? Number(args[topAt + 1]) : 30;
const focusAt = args.indexOf("--focus");
const FOCUS = focusAt >= 0 ? args[focusAt + 1] : undefined;
const inputs = args.filter(
  (a, i) =>
    !a.startsWith("--") &&
    i !== topAt + 1 &&
    i !== focusAt + 1 &&
    i !== (args.indexOf("--skip") >= 0 ? args.indexOf("--skip") + 1 : -1) &&
    a.length > 0,
);

/** A file as is; a directory as its largest profile. */
async function resolveInput(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  let best: { path: string; size: number } | undefined;
  for (const name of await readdir(path)) {
    if (!name.endsWith(".cpuprofile")) continue;
    const size = (await stat(join(path, name))).size;
    if (!best || size > best.size) best = { path: join(path, name), size };
  }
  if (!best) throw new Error(`no .cpuprofile in ${path}`);
  return best.path;
}
const skipAt = args.indexOf("--skip");
const SKIP_MS = skipAt >= 0 ? Number(args[skipAt + 1]) * 1000 : 0;
const files = await Promise.all(inputs.map(resolveInput));

/** Where a frame belongs: a module of ours, a dependency, Node, or a V8 pseudo-frame. */
function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith("(")) return functionName; // (garbage collector), (idle), …
    return "(native)";
  }
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return `dep:${dep[1]}`;
  const ours = /packages\/([^/]+)\/src\/([^/]+)/.exec(url);
  if (ours) return `src/${(ours[2] ?? "").replace(/\.ts$/, "")}`;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  return url.split("/").slice(-2).join("/");
}

function shortUrl(url: string): string {
  const dep = /node_modules\/(.*)$/.exec(url);
  if (dep) return dep[1] ?? url;
  const ours = /packages\/[^/]+\/(src\/.*)$/.exec(url);
  if (ours) return ours[1] ?? url;
  return url.replace(/^file:\/\//, "");
}

const keyOf = (f: CallFrame): string =>
  `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const areaSelf = new Map<string, number>();
const focusStacks = new Map<string, number>();
let total = 0;
let idle = 0;
let wall = 0;

const add = (map: Map<string, number>, key: string, value: number): void => {
  map.set(key, (map.get(key) ?? 0) + value);
};

for (const file of files) {
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  wall += Math.max(0, (profile.endTime - profile.startTime) / 1000 - SKIP_MS);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    at += (profile.timeDeltas[i] ?? 0) / 1000;
    if (at < SKIP_MS) continue;
    // The delta after a sample is the time it stands for (V8 records the one before).
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) continue;
    total += ms;
    if (node.callFrame.functionName === "(idle)") {
      idle += ms;
      continue;
    }
    add(self, keyOf(node.callFrame), ms);
    add(areaSelf, areaOf(node.callFrame), ms);
    const seen = new Set<string>();
    const chain: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      const key = keyOf(frame);
      chain.push(key);
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, ms);
    }
    if (FOCUS) {
      const hit = chain.findIndex((k) => k.includes(FOCUS));
      if (hit >= 0) add(focusStacks, chain.slice(hit, hit + 4).join("  <  "), ms);
    }
  }
}

const busy = total - idle;
const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
const table = (title: string, map: Map<string, number>, n: number): void => {
  process.stdout.write(`\n## ${title}\n\n`);
  for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`${pct(ms)} ${(ms / 1000).toFixed(2).padStart(8)} s  ${key}\n`);
  }
};

process.stdout.write(
  `${files.length} profile(s), wall ${(wall / 1000).toFixed(1)} s, sampled ${(total / 1000).toFixed(1)} s, ` +
    `busy ${(busy / 1000).toFixed(1)} s, idle ${(idle / 1000).toFixed(1)} s (shares are of busy time)\n`,
);
table("by area (self time)", areaSelf, TOP);
table("by function, self time", self, TOP);
table("by function, inclusive time", inclusive, TOP);
if (FOCUS) table(`stacks through "${FOCUS}"`, focusStacks, TOP);
