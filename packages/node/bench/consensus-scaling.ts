/**
 * P10 baseline: PBFT traffic per committed block as the validator count grows
 * (docs/benchmarks/consensus-scaling.md).
 *
 * Runs the deterministic simulator (test/sim: the real PBFT machine and driver on every node,
 * a virtual clock and network) fault-free — no loss, no duplication, every message delayed by
 * the same small latency — until every validator has committed `--blocks` blocks, for each
 * validator count in `--sizes`, and counts what the validators send each other. Bytes are
 * real encoded bytes: every frame is what the driver's codec (`cborCodec`, the one a node's
 * transport carries) produced, plus the PBFT kind byte of the peer services and the 5-byte
 * frame header of the TLS link; TLS records and TCP/IP are not counted. Frames are sorted into
 * the protocol proper (a validator's own message to a peer for the first time), help answers
 * (relay-marked: a decided height's pre-prepare and commits, sent to a peer whose vote arrived
 * after the decision) and re-sent ones (retransmissions of own messages).
 *
 * Sizes are a real node's: signatures of 64 bytes (Ed25519's), block ids of 128 hex
 * characters (a block id is its header signature), and every proposal carries a real
 * proposal payload (`encodeProposalPayload`: the signed block header with its batch ids, and
 * the batch ids again) of `--batches` batch ids. The simulator's own block fields (height,
 * parent, transactions, state root) add ~0.2 KB.
 *
 * PBFT parameters are the node's defaults (`createPbftConfig`), not the simulator's stress
 * settings. With `--view-change`, the listed sizes are run again with the primary crashed
 * just before it proposes block `blocks / 2 + 1`, to show what a view change costs.
 *
 *   npx tsx packages/node/bench/consensus-scaling.ts [--blocks 50] [--batches 100]
 *     [--sizes 4,7,10,16,22,32,43,64] [--view-change 4,16,32] [--latency-ms 2] [--seed 1]
 *     [--view-change-allowance-ms 5000] [--json] [--out docs/benchmarks]
 *
 * The table goes to stdout, progress to stderr; `--json` prints one JSON object instead, and
 * `--out <dir>` also writes it to `<dir>/consensus-scaling.json`.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodePbftBlockData, encodeProposalPayload } from "../src/consensus/pbft/chain-host.js";
import { createPbftConfig, faultsTolerated, quorumSize } from "../src/consensus/pbft/config.js";
import {
  cborCodec,
  type MessageAuthenticator,
  type PbftMessageType,
  type SignedMessage,
} from "../src/consensus/pbft/messages.js";
import { createEd25519Signer } from "../src/crypto/ed25519.js";
import { FRAME_HEADER_BYTES } from "../src/network/frame-codec.js";
import { TRANSPORT_DEFAULTS } from "../src/network/options.js";
import { createBlock, createBlockHeader } from "../src/wire/index.js";
import type { Batch } from "../src/wire/types.js";
import { makeBlock, type SimBlockFormat } from "../test/sim/sim-ledger.js";
import {
  runScenario,
  type ScenarioResult,
  type SimNetworkObserver,
} from "../test/sim/sim-world.js";
import { runConditions } from "./support.js";

const { values: args } = parseArgs({
  options: {
    blocks: { type: "string", default: "50" },
    batches: { type: "string", default: "100" },
    sizes: { type: "string", default: "4,7,10,16,22,32,43,64" },
    "view-change": { type: "string", default: "4,16,32" },
    "latency-ms": { type: "string", default: "2" },
    "view-change-allowance-ms": { type: "string", default: "5000" },
    seed: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const BLOCKS = Number(args.blocks);
const BATCHES = Number(args.batches);
const list = (text: string): number[] => (text === "" ? [] : text.split(",").map(Number));
const SIZES = list(args.sizes);
const VIEW_CHANGE_SIZES = list(args["view-change"]);
const LATENCY_MS = Number(args["latency-ms"]);
const SEED = Number(args.seed);
/**
 * Virtual time after the crash within which commits must resume; a run where they have not is
 * stopped and reported stuck. A run that resumes gets this long on top of the time the
 * remaining blocks take at the workload's slowest pace (one transaction every 400 ms).
 */
const VIEW_CHANGE_ALLOWANCE_MS = Number(args["view-change-allowance-ms"]);
/** The block the crashed primary was about to propose. */
const CRASH_BEFORE = Math.floor(BLOCKS / 2) + 1;
/** When a crash run at `atMs` is called stuck (virtual ms). */
const crashBoundMs = (atMs: number): number =>
  atMs + VIEW_CHANGE_ALLOWANCE_MS + (BLOCKS - CRASH_BEFORE + 1) * 400;

/** Bytes a PBFT frame gains on its way to TLS: the peer services' kind byte, the link header. */
const KIND_BYTES = 1; // FrameKind.PBFT, p2p/peer-services.ts
const WIRE_OVERHEAD = KIND_BYTES + FRAME_HEADER_BYTES;
/** A progress line on stderr every this much virtual time. */
const PROGRESS_EVERY_MS = 2_000;

const TYPES: readonly PbftMessageType[] = [
  "pre-prepare",
  "prepare",
  "commit",
  "checkpoint",
  "view-change",
  "new-view",
];

// --- blocks of a real node's size ---------------------------------------------------------------

const proposer = createEd25519Signer(new Uint8Array(32).fill(7));
const hex128 = (...parts: (string | number)[]): string =>
  createHash("sha512").update(parts.join("/")).digest("hex");

/**
 * Blocks whose payload is a real proposal payload: a signed Sawtooth block header naming
 * `BATCHES` batches, and their ids; ids of 128 hex characters, as a block's header signature.
 */
const realisticBlocks: SimBlockFormat = {
  id: (payload) => createHash("sha512").update(payload).digest("hex"),
  body: (height, parentId, txs) => {
    const batchIds = Array.from({ length: BATCHES }, (_, i) => hex128("batch", height, i, ...txs));
    const header = createBlockHeader({
      blockNum: BigInt(height),
      previousBlockId: parentId,
      signerPublicKey: proposer.publicKeyHex,
      batchIds,
      consensus: {
        engine: "pbft",
        timestampMs: 1_700_000_000_000n + BigInt(height) * 1_000n,
        data: encodePbftBlockData("sim", 0),
      },
      stateRootHash: hex128("state", height).slice(0, 64),
    });
    // Only the ids of the batches go into a proposal; the batches travel by gossip.
    const batches: Batch[] = batchIds.map((id) => ({
      header: new Uint8Array(0),
      headerSignature: id,
      transactions: [],
      trace: false,
    }));
    return encodeProposalPayload(createBlock(proposer, header, batches));
  },
};

// --- counting ----------------------------------------------------------------------------------

interface TypeCount {
  messages: number;
  bytes: number;
}

interface FrameInfo {
  readonly type: PbftMessageType;
  /** Who signed it: another validator's message is being relayed (a help answer). */
  readonly author: string;
  readonly seq: number | undefined;
  /** Identifies the message: its signature is deterministic over its bytes. */
  readonly signature: string;
  /** VIEW-CHANGE and NEW-VIEW: why a replica's decoder (default limits) refuses it, if it does. */
  readonly refused: string | undefined;
}

const counts = (): Map<PbftMessageType, TypeCount> =>
  new Map(TYPES.map((t) => [t, { messages: 0, bytes: 0 }]));

const add = (map: Map<PbftMessageType, TypeCount>, type: PbftMessageType, bytes: number): void => {
  const c = map.get(type) as TypeCount;
  c.messages++;
  c.bytes += bytes;
};

const total = (map: Map<PbftMessageType, TypeCount>): TypeCount => {
  let messages = 0;
  let bytes = 0;
  for (const c of map.values()) {
    messages += c.messages;
    bytes += c.bytes;
  }
  return { messages, bytes };
};

const record = (map: Map<PbftMessageType, TypeCount>): Record<string, TypeCount> =>
  Object.fromEntries(TYPES.map((t) => [t, { ...(map.get(t) as TypeCount) }]));

/** Counts what validators send each other; each distinct frame is decoded once. */
class TrafficCounter implements SimNetworkObserver {
  /** Everything sent, by type. */
  readonly byType = counts();
  /** A validator's own messages, sent to a peer for the first time: the protocol proper. */
  readonly firstByType = counts();
  /** Help answers: the decision of a height sent to a peer whose vote arrived after it. */
  readonly helpByType = counts();
  /** A validator's own messages sent to the same peer again (retransmissions, answers). */
  readonly resentByType = counts();
  messages = 0;
  bytes = 0;
  beyondMessages = 0;
  beyondBytes = 0;
  largestFrame = 0;
  overTransportLimit = 0;
  readonly refused = new Map<string, number>();
  readonly sentBytes = new Map<string, number>();
  /** Bytes of each node's own messages sent for the first time. */
  readonly sentFirstBytes = new Map<string, number>();
  readonly receivedBytes = new Map<string, number>();
  firstNewViewAtMs: number | undefined;
  private nextProgressMs = PROGRESS_EVERY_MS;
  private readonly started = performance.now();
  /** When the first COMMIT for a height at or past `resumeSeq` was sent. */
  resumedAtMs: number | undefined;
  /** Aborted when commits have not resumed by `crash.giveUpAtMs`. */
  readonly stuck = new AbortController();
  /** Frames addressed to the crashed node after its crash (a real transport has no link). */
  toCrashed: TypeCount = { messages: 0, bytes: 0 };
  /**
   * Frames already described, by length and trailing signature bytes: a re-sent message is
   * encoded again into a new frame with the same bytes, and a NEW-VIEW can be megabytes.
   */
  private readonly info = new Map<string, FrameInfo>();
  private readonly seen = new Set<string>();
  private readonly permissive;
  private readonly strict;

  constructor(
    validators: readonly string[],
    private readonly targetHeight: number,
    private readonly crash?: {
      readonly node: string;
      readonly atMs: number;
      readonly resumeSeq: number;
      readonly giveUpAtMs: number;
    },
  ) {
    const auth: MessageAuthenticator = { sign: () => new Uint8Array(0), verify: () => true };
    const set = new Set(validators);
    this.permissive = {
      chainId: "sim",
      validators: set,
      auth,
      maxNested: Number.POSITIVE_INFINITY,
    };
    this.strict = { chainId: "sim", validators: set, auth };
  }

  private describe(frame: Uint8Array): FrameInfo {
    const cacheKey = `${frame.length}:${Buffer.from(frame.buffer, frame.byteOffset + Math.max(0, frame.length - 64), Math.min(64, frame.length)).toString("base64")}`;
    let info = this.info.get(cacheKey);
    if (info) return info;
    const opened: SignedMessage = cborCodec.open(frame, this.permissive);
    const m = opened.message;
    let refused: string | undefined;
    if (m.type === "view-change" || m.type === "new-view") {
      try {
        cborCodec.open(frame, this.strict);
      } catch (err) {
        refused = (err as Error).message;
      }
    }
    info = {
      type: m.type,
      author: opened.sender,
      seq: "seq" in m ? m.seq : undefined,
      signature: Buffer.from(opened.signature).toString("base64"),
      refused,
    };
    this.info.set(cacheKey, info);
    return info;
  }

  onSend(from: string, to: string, frame: Uint8Array, atMs: number, relay: boolean): void {
    if (atMs >= this.nextProgressMs) {
      this.nextProgressMs = atMs + PROGRESS_EVERY_MS;
      log(
        `    t = ${(atMs / 1000).toFixed(1)} s virtual: ${this.messages} messages, ${(this.bytes / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - this.started) / 1000).toFixed(0)} s wall`,
      );
    }
    if (this.crash && this.resumedAtMs === undefined && atMs > this.crash.giveUpAtMs)
      this.stuck.abort();
    const info = this.describe(frame);
    const bytes = frame.length + WIRE_OVERHEAD;
    if (this.crash && to === this.crash.node && atMs >= this.crash.atMs) {
      this.toCrashed.messages++;
      this.toCrashed.bytes += bytes;
      return;
    }
    // Messages for heights past the target belong to blocks the run did not wait for.
    if (info.seq !== undefined && info.seq > this.targetHeight) {
      this.beyondMessages++;
      this.beyondBytes += bytes;
      return;
    }
    this.messages++;
    this.bytes += bytes;
    add(this.byType, info.type, bytes);
    const key = `${from}>${to}>${info.signature}`;
    if (relay || info.author !== from) add(this.helpByType, info.type, bytes);
    else if (this.seen.has(key)) add(this.resentByType, info.type, bytes);
    else {
      this.seen.add(key);
      add(this.firstByType, info.type, bytes);
      this.sentFirstBytes.set(from, (this.sentFirstBytes.get(from) ?? 0) + bytes);
    }
    this.sentBytes.set(from, (this.sentBytes.get(from) ?? 0) + bytes);
    this.receivedBytes.set(to, (this.receivedBytes.get(to) ?? 0) + bytes);
    if (frame.length > this.largestFrame) this.largestFrame = frame.length;
    if (frame.length + KIND_BYTES > TRANSPORT_DEFAULTS.maxFrameBytes) this.overTransportLimit++;
    if (info.refused) this.refused.set(info.refused, (this.refused.get(info.refused) ?? 0) + 1);
    if (info.type === "new-view" && this.firstNewViewAtMs === undefined)
      this.firstNewViewAtMs = atMs;
    if (
      this.crash &&
      this.resumedAtMs === undefined &&
      info.type === "commit" &&
      (info.seq ?? 0) >= this.crash.resumeSeq
    )
      this.resumedAtMs = atMs;
  }
}

// --- runs --------------------------------------------------------------------------------------

interface RunReport {
  readonly scenario: "fault-free" | "primary-crash";
  readonly n: number;
  readonly f: number;
  readonly quorum: number;
  readonly blocks: number;
  readonly crash_at_ms?: number;
  readonly first_new_view_at_ms?: number;
  /** The first COMMIT for the block the crashed primary did not propose. */
  readonly resumed_at_ms?: number;
  /** Frames to the crashed node after its crash, not counted elsewhere. */
  readonly to_crashed?: TypeCount;
  readonly max_view: number;
  readonly virtual_ms: number;
  readonly wall_ms: number;
  readonly cpu_ms: number;
  readonly violations: readonly string[];
  readonly messages: number;
  readonly bytes: number;
  readonly by_type: Readonly<Record<string, TypeCount>>;
  /** Own messages to a peer for the first time (the protocol proper), by type. */
  readonly first_by_type: Readonly<Record<string, TypeCount>>;
  /** Help answers (relay-marked frames: a decided height's pre-prepare and commits), by type. */
  readonly help_by_type: Readonly<Record<string, TypeCount>>;
  /** Own messages sent to the same peer again, by type. */
  readonly resent_by_type: Readonly<Record<string, TypeCount>>;
  readonly first: TypeCount;
  readonly help: TypeCount;
  readonly resent: TypeCount;
  readonly beyond_target: TypeCount;
  /** Figures divided by the committed blocks; "protocol" counts first sends only. */
  readonly per_block: {
    readonly messages: number;
    readonly bytes: number;
    readonly protocol_messages: number;
    readonly protocol_bytes: number;
    readonly messages_by_type: Readonly<Record<string, number>>;
    readonly bytes_by_type: Readonly<Record<string, number>>;
    readonly protocol_messages_by_type: Readonly<Record<string, number>>;
    readonly protocol_bytes_by_type: Readonly<Record<string, number>>;
    /** Bytes v0 (the primary of view 0) sent, in all and of its own first sends. */
    readonly primary_bytes_sent: number;
    readonly primary_protocol_bytes_sent: number;
    /** The most any other validator sent, and who; and the most of own first sends. */
    readonly max_replica_bytes_sent: number;
    readonly max_replica: string;
    readonly max_replica_protocol_bytes_sent: number;
    readonly max_bytes_received: number;
  };
  readonly largest_frame_bytes: number;
  readonly frames_over_transport_limit: number;
  readonly refused_by_replicas: Readonly<Record<string, number>>;
}

const PBFT_DEFAULTS = (() => {
  const {
    chainId: _chainId,
    validators: _validators,
    ...params
  } = createPbftConfig({
    chainId: "defaults",
    validators: [{ id: "v0", publicKey: "v0" }],
  });
  return params;
})();

const round1 = (x: number): number => Math.round(x * 10) / 10;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function run(
  n: number,
  crash?: { readonly atMs: number },
): Promise<{ report: RunReport; counter: TrafficCounter; result: ScenarioResult }> {
  const ids = Array.from({ length: n }, (_, i) => `v${i}`);
  const counter = new TrafficCounter(
    ids,
    BLOCKS,
    crash
      ? {
          node: "v0",
          atMs: crash.atMs,
          resumeSeq: CRASH_BEFORE,
          giveUpAtMs: crash.atMs + VIEW_CHANGE_ALLOWANCE_MS,
        }
      : undefined,
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runScenario(
    {
      seed: SEED,
      faults: "benign",
      validators: n,
      healAtMs: 0,
      liveBoundMs: crash ? crashBoundMs(crash.atMs) : 600_000,
    },
    {
      observer: counter,
      latencyMs: LATENCY_MS,
      pbft: PBFT_DEFAULTS,
      blockFormat: realisticBlocks,
      signatureBytes: 64,
      targetHeight: BLOCKS,
      ...(crash
        ? { crashes: [{ node: "v0", atMs: crash.atMs }], signal: counter.stuck.signal }
        : {}),
    },
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const perBlock = (x: number): number => x / BLOCKS;
  const maxReplicaOf = (sent: ReadonlyMap<string, number>): [string, number] =>
    [...sent.entries()]
      .filter(([id]) => id !== "v0")
      .reduce<[string, number]>((best, entry) => (entry[1] > best[1] ? entry : best), ["", 0]);
  const [maxReplica, maxReplicaBytes] = maxReplicaOf(counter.sentBytes);
  const byType = record(counter.byType);
  const firstByType = record(counter.firstByType);
  const first = total(counter.firstByType);
  const perType = (
    map: Readonly<Record<string, TypeCount>>,
    field: keyof TypeCount,
  ): Record<string, number> =>
    Object.fromEntries(TYPES.map((t) => [t, round1(perBlock(map[t]?.[field] ?? 0))]));
  const report: RunReport = {
    scenario: crash ? "primary-crash" : "fault-free",
    n,
    f: faultsTolerated(n),
    quorum: quorumSize(n),
    blocks: BLOCKS,
    ...(crash ? { crash_at_ms: crash.atMs } : {}),
    ...(counter.firstNewViewAtMs !== undefined
      ? { first_new_view_at_ms: counter.firstNewViewAtMs }
      : {}),
    ...(counter.resumedAtMs !== undefined ? { resumed_at_ms: counter.resumedAtMs } : {}),
    ...(crash ? { to_crashed: counter.toCrashed } : {}),
    max_view: result.stats.maxView,
    virtual_ms: Math.round(result.stats.virtualMs),
    wall_ms: Math.round(wallMs),
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    violations: result.violations,
    messages: counter.messages,
    bytes: counter.bytes,
    by_type: byType,
    first_by_type: firstByType,
    help_by_type: record(counter.helpByType),
    resent_by_type: record(counter.resentByType),
    first,
    help: total(counter.helpByType),
    resent: total(counter.resentByType),
    beyond_target: { messages: counter.beyondMessages, bytes: counter.beyondBytes },
    per_block: {
      messages: round1(perBlock(counter.messages)),
      bytes: Math.round(perBlock(counter.bytes)),
      protocol_messages: round1(perBlock(first.messages)),
      protocol_bytes: Math.round(perBlock(first.bytes)),
      messages_by_type: perType(byType, "messages"),
      bytes_by_type: perType(byType, "bytes"),
      protocol_messages_by_type: perType(firstByType, "messages"),
      protocol_bytes_by_type: perType(firstByType, "bytes"),
      primary_bytes_sent: Math.round(perBlock(counter.sentBytes.get("v0") ?? 0)),
      primary_protocol_bytes_sent: Math.round(perBlock(counter.sentFirstBytes.get("v0") ?? 0)),
      max_replica_bytes_sent: Math.round(perBlock(maxReplicaBytes)),
      max_replica: maxReplica,
      max_replica_protocol_bytes_sent: Math.round(
        perBlock(maxReplicaOf(counter.sentFirstBytes)[1]),
      ),
      max_bytes_received: Math.round(perBlock(Math.max(0, ...counter.receivedBytes.values()))),
    },
    largest_frame_bytes: counter.largestFrame,
    frames_over_transport_limit: counter.overTransportLimit,
    refused_by_replicas: Object.fromEntries(counter.refused),
  };
  return { report, counter, result };
}

/** Virtual time at which v0 sends its PRE-PREPARE for `seq`, from a fault-free run. */
async function proposalTime(n: number, seq: number): Promise<number> {
  let at: number | undefined;
  const ids = Array.from({ length: n }, (_, i) => `v${i}`);
  const counter = new TrafficCounter(ids, BLOCKS);
  const observer: SimNetworkObserver = {
    onSend(from, to, frame, atMs, relay) {
      counter.onSend(from, to, frame, atMs, relay);
      if (at !== undefined || from !== "v0") return;
      const m = cborCodec.open(frame, {
        chainId: "sim",
        validators: new Set(ids),
        auth: { sign: () => new Uint8Array(0), verify: () => true },
        maxNested: Number.POSITIVE_INFINITY,
      }).message;
      if (m.type === "pre-prepare" && m.seq === seq) at = atMs;
    },
  };
  await runScenario(
    { seed: SEED, faults: "benign", validators: n, healAtMs: 0, liveBoundMs: 600_000 },
    {
      observer,
      latencyMs: LATENCY_MS,
      pbft: PBFT_DEFAULTS,
      blockFormat: realisticBlocks,
      signatureBytes: 64,
      targetHeight: seq,
    },
  );
  if (at === undefined) throw new Error(`v0 never proposed block ${seq} with ${n} validators`);
  return at;
}

// --- growth ------------------------------------------------------------------------------------

/** Least-squares slope of log(y) on log(x): y ~ x^slope (NaN with fewer than two points). */
function exponent(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += ((lx[i] as number) - mx) * ((ly[i] as number) - my);
    den += ((lx[i] as number) - mx) ** 2;
  }
  return num / den;
}

/** Least squares of y = a·(N − 1) + b·N·(N − 1): the one-to-all part and the all-to-all part. */
function splitFit(ns: readonly number[], ys: readonly number[]): { a: number; b: number } {
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let s1y = 0;
  let s2y = 0;
  for (let i = 0; i < ns.length; i++) {
    const n = ns[i] as number;
    const y = ys[i] as number;
    const u = n - 1;
    const v = n * (n - 1);
    s11 += u * u;
    s12 += u * v;
    s22 += v * v;
    s1y += u * y;
    s2y += v * y;
  }
  const det = s11 * s22 - s12 * s12;
  return { a: (s1y * s22 - s2y * s12) / det, b: (s11 * s2y - s12 * s1y) / det };
}

// --- main --------------------------------------------------------------------------------------

const fmt = (x: number, digits = 0): string =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const kb = (bytes: number): string => fmt(bytes / 1024, 1);
const mib = (bytes: number): string => fmt(bytes / 1024 / 1024, 2);
const round2 = (x: number): number => Math.round(x * 100) / 100;

const started = new Date();
const faultFree: RunReport[] = [];
for (const n of SIZES) {
  log(`fault-free, N = ${n} …`);
  const { report } = await run(n);
  log(
    `  ${fmt(report.per_block.messages, 1)} messages and ${kb(report.per_block.bytes)} KiB per block, ${fmt(report.wall_ms)} ms`,
  );
  faultFree.push(report);
}
const crashRuns: RunReport[] = [];
for (const n of VIEW_CHANGE_SIZES) {
  log(`primary crash, N = ${n} …`);
  const atMs = (await proposalTime(n, CRASH_BEFORE)) - 0.5;
  const { report } = await run(n, { atMs });
  log(
    `  ${fmt(report.per_block.messages, 1)} messages and ${kb(report.per_block.bytes)} KiB per block, view ${report.max_view}, ${fmt(report.wall_ms)} ms${report.violations.length > 0 ? `, stuck: ${report.violations[0]}` : ""}`,
  );
  crashRuns.push(report);
}

const ns = faultFree.map((r) => r.n);
const series = (pick: (r: RunReport) => number) => faultFree.map(pick);
const localExponents = (pick: (r: RunReport) => number) =>
  faultFree.slice(1).map((r, i) => {
    const prev = faultFree[i] as RunReport;
    return {
      from: prev.n,
      to: r.n,
      exponent: round2(Math.log(pick(r) / pick(prev)) / Math.log(r.n / prev.n)),
    };
  });
const totalBytes = (r: RunReport): number => r.per_block.bytes;
const protocolBytes = (r: RunReport): number => r.per_block.protocol_bytes;
const growth = {
  method: "least-squares slope of log(per-block figure) on log(N)",
  messages: round2(
    exponent(
      ns,
      series((r) => r.per_block.messages),
    ),
  ),
  bytes: round2(exponent(ns, series(totalBytes))),
  protocol_messages: round2(
    exponent(
      ns,
      series((r) => r.per_block.protocol_messages),
    ),
  ),
  protocol_bytes: round2(exponent(ns, series(protocolBytes))),
  protocol_vote_bytes: round2(
    exponent(
      ns,
      series(
        (r) =>
          (r.per_block.protocol_bytes_by_type.prepare ?? 0) +
          (r.per_block.protocol_bytes_by_type.commit ?? 0),
      ),
    ),
  ),
  primary_bytes: round2(
    exponent(
      ns,
      series((r) => r.per_block.primary_bytes_sent),
    ),
  ),
  primary_protocol_bytes: round2(
    exponent(
      ns,
      series((r) => r.per_block.primary_protocol_bytes_sent),
    ),
  ),
  local_bytes: localExponents(totalBytes),
  local_protocol_bytes: localExponents(protocolBytes),
  /** protocol bytes/block ≈ one_to_all·(N − 1) + all_to_all·N·(N − 1) */
  protocol_bytes_split: (() => {
    const { a, b } = splitFit(ns, series(protocolBytes));
    return { one_to_all: Math.round(a), all_to_all: Math.round(b) };
  })(),
};

const output = {
  conditions: {
    ...runConditions(started),
    simulator:
      "packages/node/test/sim: the real PBFT machine and driver on every node, virtual clock and network",
    network: `fault-free: no loss, no duplication, every message ${LATENCY_MS} ms`,
    workload:
      "the simulator's: a transaction gossiped to every node every 150–400 ms of virtual time",
    seed: SEED,
    blocks: BLOCKS,
    batch_ids_per_block: BATCHES,
    signature_bytes: 64,
    proposal_payload_bytes: realisticBlocks.body?.(1, hex128("parent"), [1]).length,
    sim_block_payload_bytes: makeBlock(
      1,
      hex128("parent"),
      [1],
      hex128("root").slice(0, 64),
      realisticBlocks,
    ).payload.length,
    block_id_hex_chars: 128,
    pbft: PBFT_DEFAULTS,
    bytes: `codec frame (cborCodec) + ${KIND_BYTES} kind byte + ${FRAME_HEADER_BYTES}-byte link frame header, per recipient; TLS and TCP/IP not counted`,
    protocol:
      "a validator's own message sent to a peer for the first time; the rest is help (relay-marked answers to a vote that arrived after the height was decided: its pre-prepare and Q commits) or re-sent (own message to the same peer again: retransmission)",
    view_change: `v0 (primary of view 0) crashed for good 0.5 ms before it proposes block ${CRASH_BEFORE}; a run in which no COMMIT for block ${CRASH_BEFORE} is sent within ${VIEW_CHANGE_ALLOWANCE_MS} ms of virtual time after the crash is stopped there and reported stuck`,
  },
  summary: summaryLine(),
  /** One row per N (fault-free), in the shape the benchmark report (bench/report.ts) charts. */
  rows: faultFree.map((r) => ({
    n: r.n,
    messagesPerBlock: r.per_block.messages,
    bytesPerBlock: r.per_block.bytes,
    protocolMessagesPerBlock: r.per_block.protocol_messages,
    protocolBytesPerBlock: r.per_block.protocol_bytes,
    primaryBytesPerBlock: r.per_block.primary_bytes_sent,
    primaryProtocolBytesPerBlock: r.per_block.primary_protocol_bytes_sent,
  })),
  fault_free: faultFree,
  primary_crash: crashRuns,
  growth,
};

/** One line for the benchmarks' targets table. */
function summaryLine(): string {
  const at32 = faultFree.find((r) => r.n === 32) ?? faultFree.at(-1);
  const parts: string[] = [];
  if (at32)
    parts.push(
      `N = ${at32.n}: ${mib(at32.per_block.bytes)} MiB/block (protocol proper ${mib(at32.per_block.protocol_bytes)} MiB, the rest help answers), primary ${mib(at32.per_block.primary_bytes_sent)} MiB`,
    );
  parts.push(`bytes ~N^${growth.bytes} (protocol ~N^${growth.protocol_bytes})`);
  for (const r of crashRuns)
    parts.push(
      `view change at N = ${r.n}: ${r.violations.length > 0 ? "does not complete" : `${mib((r.by_type["view-change"]?.bytes ?? 0) + (r.by_type["new-view"]?.bytes ?? 0))} MiB`}`,
    );
  return parts.join("; ");
}

const viewChangeSummary = (r: RunReport): string => {
  const base = faultFree.find((b) => b.n === r.n);
  const vcMessages =
    (r.by_type["view-change"]?.messages ?? 0) + (r.by_type["new-view"]?.messages ?? 0);
  const vcBytes = (r.by_type["view-change"]?.bytes ?? 0) + (r.by_type["new-view"]?.bytes ?? 0);
  const parts = [
    `N = ${r.n}, primary crashed at ${fmt(r.crash_at_ms ?? 0, 1)} ms: view ${r.max_view}`,
    `first NEW-VIEW ${r.first_new_view_at_ms !== undefined ? `at ${fmt(r.first_new_view_at_ms, 1)} ms` : "never"}`,
    `first COMMIT of block ${CRASH_BEFORE} ${r.resumed_at_ms !== undefined ? `at ${fmt(r.resumed_at_ms, 1)} ms` : "never"}`,
    `VIEW-CHANGE + NEW-VIEW: ${fmt(vcMessages)} messages, ${mib(vcBytes)} MiB${base ? ` (${fmt(vcBytes / base.per_block.bytes, 1)} fault-free blocks' worth)` : ""}`,
    `largest frame ${mib(r.largest_frame_bytes)} MiB`,
  ];
  if (base) parts.push(`run ${fmt(r.virtual_ms - base.virtual_ms)} ms of virtual time longer`);
  if (r.frames_over_transport_limit > 0)
    parts.push(
      `${fmt(r.frames_over_transport_limit)} frames over the transport's ${mib(TRANSPORT_DEFAULTS.maxFrameBytes)} MiB limit`,
    );
  for (const [reason, count] of Object.entries(r.refused_by_replicas))
    parts.push(`${fmt(count)} frames a replica refuses: ${reason}`);
  if (r.violations.length > 0)
    parts.push(
      `STUCK: ${r.resumed_at_ms === undefined ? `no commit within ${fmt(VIEW_CHANGE_ALLOWANCE_MS)} ms of the crash, ` : ""}${r.violations[0]}`,
    );
  return parts.join("; ");
};

if (args.out !== undefined) {
  await writeFile(join(args.out, "consensus-scaling.json"), `${JSON.stringify(output, null, 2)}\n`);
}
if (args.json) {
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
} else {
  const rows = [...faultFree, ...crashRuns].map((r) => {
    const p = r.per_block.protocol_messages_by_type;
    const m = r.per_block.messages_by_type;
    return [
      r.scenario === "primary-crash" ? `${r.n} (primary crash)` : `${r.n}`,
      `${r.f}`,
      `${r.quorum}`,
      fmt(r.per_block.messages, 1),
      fmt(r.per_block.protocol_messages, 1),
      `${fmt(p["pre-prepare"] ?? 0, 1)} / ${fmt(p.prepare ?? 0, 1)} / ${fmt(p.commit ?? 0, 1)} / ${fmt(p.checkpoint ?? 0, 1)} / ${fmt((m["view-change"] ?? 0) + (m["new-view"] ?? 0), 1)}`,
      kb(r.per_block.bytes),
      kb(r.per_block.protocol_bytes),
      `${kb(r.per_block.primary_bytes_sent)} (${kb(r.per_block.primary_protocol_bytes_sent)})`,
      `${kb(r.per_block.max_replica_bytes_sent)} (${kb(r.per_block.max_replica_protocol_bytes_sent)})`,
      fmt(r.wall_ms / 1000, 1),
      fmt(r.cpu_ms / 1000, 1),
    ];
  });
  const header = [
    "N",
    "f",
    "Q",
    "msgs/block",
    "protocol msgs/block",
    "protocol: pre-prep / prepare / commit / checkpt / view chg (all)",
    "KiB/block",
    "protocol KiB/block",
    "primary KiB/block (protocol)",
    "max replica KiB/block (protocol)",
    "wall s",
    "CPU s",
  ];
  const lines = [
    `PBFT traffic per committed block: ${BLOCKS} blocks, ${BATCHES} batch ids per proposal, fault-free network with ${LATENCY_MS} ms latency, seed ${SEED}`,
    "",
    ...markdownTable(header, rows, [
      false,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]),
    "",
    `growth over N = ${ns.join(", ")} (${growth.method}):`,
    `  all traffic: messages ~N^${growth.messages}, bytes ~N^${growth.bytes}; local bytes exponents ${growth.local_bytes.map((e) => `${e.from}→${e.to} ${e.exponent}`).join(", ")}`,
    `  protocol:    messages ~N^${growth.protocol_messages}, bytes ~N^${growth.protocol_bytes} (prepare + commit ~N^${growth.protocol_vote_bytes}); local ${growth.local_protocol_bytes.map((e) => `${e.from}→${e.to} ${e.exponent}`).join(", ")}`,
    `  protocol bytes/block ≈ ${fmt(growth.protocol_bytes_split.one_to_all)}·(N−1) + ${fmt(growth.protocol_bytes_split.all_to_all)}·N·(N−1)`,
    `  primary bytes sent: ~N^${growth.primary_bytes} (protocol ~N^${growth.primary_protocol_bytes})`,
    ...crashRuns.map(viewChangeSummary),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** A Markdown table with aligned columns (`numeric` ones right-aligned). */
function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly boolean[],
): string[] {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)),
  );
  const cell = (text: string, i: number): string =>
    numeric[i] ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0);
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => cell(c, i)).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (numeric[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)];
}
