/**
 * The deterministic PBFT simulator: the real `createPbftDriver` and machine on every node, with
 * a virtual clock, a simulated network (delay, reordering, loss, duplication, partitions), a
 * simulated ledger and disk, crashes with restart from the simulated store, and Byzantine
 * behaviours. Everything random comes from one seed, so a failing run replays exactly.
 *
 * Invariants, checked on every commit and at the end:
 * - agreement: no two honest nodes commit different blocks at one height;
 * - validity: every committed block is valid, extends the previous one and carries a commit
 *   certificate with a quorum of valid signatures (checked by the simulated ledger);
 * - liveness: once faults heal (with at most f faulty nodes left), every honest node commits new
 *   blocks within `liveBoundMs` of virtual time.
 */

import { type Logger, silentLogger } from "../../src/common/logger.js";
import { createSeededRandom, type Random } from "../../src/common/random.js";
import {
  createPbftConfig,
  faultsTolerated,
  type PbftConfig,
  type PbftConfigInput,
  quorumSize,
} from "../../src/consensus/pbft/config.js";
import { createPbftDriver, type PbftDriver } from "../../src/consensus/pbft/driver.js";
import type { PbftOutput } from "../../src/consensus/pbft/machine.js";
import {
  encodeEnvelope,
  type OpenContext,
  openEnvelope,
  type PbftMessage,
  signMessage,
} from "../../src/consensus/pbft/messages.js";
import { createPbftStore } from "../../src/consensus/pbft/store.js";
import type { KvStore } from "../../src/storage/interface.js";
import { createMemoryStore } from "../../src/storage/memory-store.js";
import { SimKeys } from "./sim-auth.js";
import { createSimClock, EventQueue } from "./sim-clock.js";
import {
  createSimLedger,
  makeBlock,
  nextRoot,
  readBlock,
  type SimBlock,
  type SimBlockFormat,
  type SimDisk,
  type SimLedger,
  simGenesis,
} from "./sim-ledger.js";

/** The fault classes a scenario can exercise. */
export const FAULT_CLASSES = [
  "benign",
  "lossy",
  "partition",
  "crash",
  "wipe",
  "equivocate",
  "conflicting-votes",
  "bad-signatures",
  "stale-views",
  "out-of-window",
  "replay",
  "silence",
  "invalid-blocks",
  "twins",
  "mutation",
  "slow-restart",
  "mixed",
] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

/** Byzantine behaviours of a faulty node's outgoing traffic. */
type Behaviour =
  | "equivocate"
  | "conflicting-votes"
  | "bad-signatures"
  | "stale-views"
  | "out-of-window"
  | "replay"
  | "silence"
  | "mutation"
  | "invalid-blocks";

/** One scenario. */
export interface ScenarioSpec {
  readonly seed: number;
  readonly faults: FaultClass;
  readonly validators: number;
  /** Faults stop (network heals, crashed honest nodes restart) at this virtual time. */
  readonly healAtMs: number;
  /** Honest nodes must commit new blocks within this long after healing. */
  readonly liveBoundMs: number;
  /** Planted bug for the simulator's self-test: use this quorum size instead of the real one. */
  readonly unsafeQuorum?: number;
}

/** Sees the simulated network's traffic (benchmarks count messages and bytes with it). */
export interface SimNetworkObserver {
  /**
   * A frame leaves node `from` for node `to` at virtual time `atMs` (a broadcast is one call per
   * peer); `relay` marks a help answer (another node's messages, a PBFT_RELAY frame on a real
   * link). What a faulty node sends is seen after its tampering, before any loss. Nodes are
   * named by instance (a twin is `v1'`).
   */
  onSend(from: string, to: string, frame: Uint8Array, atMs: number, relay: boolean): void;
}

/**
 * Settings of a run beyond its spec, for benchmarks. Each is optional and, when absent, the
 * run is exactly the test suite's.
 */
export interface SimRunOptions {
  readonly observer?: SimNetworkObserver;
  /** Every message takes exactly this long and none is duplicated (default: random delays). */
  readonly latencyMs?: number;
  /** PBFT parameters in place of the simulator's stress settings (checkpoint every 5 blocks…). */
  readonly pbft?: Partial<Omit<PbftConfigInput, "chainId" | "validators">>;
  /** How blocks are encoded (default: compact). */
  readonly blockFormat?: SimBlockFormat;
  /** Signature size: 64 bytes as Ed25519's, or the default 32. */
  readonly signatureBytes?: 32 | 64;
  /**
   * End the run as soon as every live honest node has committed this height (a liveness
   * violation if they have not by `healAtMs + liveBoundMs`), instead of 3 blocks past healing.
   */
  readonly targetHeight?: number;
  /** Validators crashed for good at these virtual times (after healing: none restarts them). */
  readonly crashes?: readonly { readonly node: string; readonly atMs: number }[];
  /** Ends the run early, as if its time bound were reached (the liveness check still runs). */
  readonly signal?: AbortSignal;
}

/** What a run found. */
export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly violations: readonly string[];
  readonly stats: {
    readonly messages: number;
    readonly heights: Readonly<Record<string, number>>;
    readonly maxView: number;
    readonly virtualMs: number;
    readonly faulty: readonly string[];
  };
}

interface Instance {
  readonly id: string;
  readonly name: string;
  readonly disk: SimDisk;
  readonly store: KvStore;
  alive: boolean;
  generation: number;
  driver: PbftDriver | undefined;
  ledger: SimLedger | undefined;
  readonly behaviour: Behaviour | undefined;
  readonly faulty: boolean;
  /** Partition group before healing. */
  group: number;
}

/** Builds and runs one scenario to completion. */
export async function runScenario(
  spec: ScenarioSpec,
  options: SimRunOptions = {},
): Promise<ScenarioResult> {
  const rng = createSeededRandom(spec.seed);
  const queue = new EventQueue();
  const keys = new SimKeys(spec.seed, options.signatureBytes);
  const n = spec.validators;
  const f = faultsTolerated(n);
  const ids = Array.from({ length: n }, (_, i) => `v${i}`);
  const config: PbftConfig = createPbftConfig({
    chainId: "sim",
    validators: ids.map((id) => ({ id, publicKey: id })),
    checkpointInterval: 5,
    window: 10,
    maxInFlight: 3,
    viewChangeTimeoutMs: 400,
    maxViewChangeTimeoutMs: 3_200,
    retransmitMs: 150,
    ...options.pbft,
  });
  const quorum = spec.unsafeQuorum ?? quorumSize(n);
  const genesis = simGenesis(spec.seed, options.blockFormat);
  const violations: string[] = [];
  const violation = (what: string): void => {
    if (violations.length < 20) violations.push(`t=${queue.now}ms ${what}`);
  };
  let messages = 0;
  let maxView = 0;

  // --- who is faulty -------------------------------------------------------------------------
  // `mixed`: one other class, plus some loss, duplication and crashes of honest nodes.
  const mixed = spec.faults === "mixed";
  const faults = mixed
    ? pick(
        rng,
        FAULT_CLASSES.filter((c) => c !== "mixed" && c !== "twins" && c !== "wipe"),
      )
    : spec.faults;
  const byzantine: Behaviour[] = [
    "equivocate",
    "conflicting-votes",
    "bad-signatures",
    "stale-views",
    "out-of-window",
    "replay",
    "silence",
    "mutation",
    "invalid-blocks",
  ];
  const faultyIds = new Set<string>();
  const behaviours = new Map<string, Behaviour>();
  if ((byzantine as string[]).includes(faults) && f > 0) {
    // Up to f faulty validators; the primary of view 0 among them half of the time, so
    // primary-only attacks (equivocation, invalid blocks) actually happen.
    const count = 1 + rng.int(f);
    const candidates = rng.next() < 0.5 ? ids : [...ids.slice(1), ids[0] as string];
    for (const id of candidates.slice(0, count)) {
      faultyIds.add(id);
      behaviours.set(id, faults as Behaviour);
    }
  }
  if ((faults === "wipe" || faults === "twins") && f > 0) faultyIds.add(ids[rng.int(n)] as string);

  // --- instances -----------------------------------------------------------------------------
  const instances: Instance[] = [];
  const makeInstance = (id: string, name: string, group: number): Instance => {
    const instance: Instance = {
      id,
      name,
      disk: { blocks: [genesis] },
      store: createMemoryStore(),
      alive: false,
      generation: 0,
      driver: undefined,
      ledger: undefined,
      behaviour: behaviours.get(id),
      faulty: faultyIds.has(id),
      group,
    };
    instances.push(instance);
    return instance;
  };
  for (const id of ids) makeInstance(id, id, 0);
  if (faults === "twins" && f > 0) {
    const twinId = [...faultyIds][0] as string;
    const twin = makeInstance(twinId, `${twinId}'`, 1);
    // The two twins start in different halves of a partition, so each can gather a quorum's
    // worth of honest votes for a different block; agreement must still hold.
    const others = ids.filter((id) => id !== twinId);
    for (const [i, id] of others.entries()) {
      const inst = instances.find((x) => x.name === id);
      if (inst) inst.group = i % 2;
    }
    twin.group = 1;
  }
  if (faults === "partition") {
    for (const inst of instances) inst.group = rng.int(2);
  }
  const honest = (inst: Instance): boolean => !inst.faulty;
  // slow-restart: the primary crashes, comes back slow (as a node catching up under CPU load),
  // and must not drop out of the protocol.
  const slowNodes = new Set<string>();

  // --- agreement and progress tracking -------------------------------------------------------
  const committedAt = new Map<number, string>();
  const onCommit = (inst: Instance, block: SimBlock): void => {
    if (!honest(inst)) return;
    const known = committedAt.get(block.height);
    if (known === undefined) committedAt.set(block.height, block.blockId);
    else if (known !== block.blockId)
      violation(
        `agreement: ${inst.name} committed ${block.blockId.slice(0, 8)} at ${block.height}, others ${known.slice(0, 8)}`,
      );
  };

  // --- network -------------------------------------------------------------------------------
  const healed = (): boolean => queue.now >= spec.healAtMs;
  const lossRate = faults === "lossy" ? 0.1 + rng.next() * 0.25 : mixed ? 0.05 : 0;
  const dupRate = faults === "lossy" || mixed ? 0.1 : 0.01;
  const jitterMs = faults === "benign" ? 3 : 12;

  // `relay`: the frame is a help answer, marked as such on the wire like a node's PBFT_RELAY frames.
  const deliver = (from: Instance, to: Instance, frame: Uint8Array, relay: boolean): void => {
    if (!healed()) {
      if ((faults === "partition" || faults === "twins") && from.group !== to.group) return;
      if (rng.next() < lossRate) return;
    }
    const fixed = options.latencyMs;
    const copies = fixed !== undefined ? 1 : rng.next() < dupRate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const generation = to.generation;
      const delay = fixed ?? 1 + rng.next() * (healed() ? 4 : jitterMs);
      queue.schedule(delay, () => {
        if (to.alive && to.generation === generation) {
          messages++;
          if (process.env.SIM_TRACE === "3" && to.name === process.env.SIM_TRACE_NODE) {
            try {
              const m = openEnvelope(frame, {
                chainId: config.chainId,
                validators: new Set(ids),
                auth: keys.authenticator(to.id),
              }).message;
              process.stdout.write(
                `${queue.now.toFixed(1).padStart(9)} ${to.name} <- ${from.name} ${m.type} ${"view" in m ? `v${m.view}` : ""} ${"seq" in m ? `#${m.seq}` : ""}\n`,
              );
            } catch (err) {
              process.stdout.write(
                `${queue.now.toFixed(1).padStart(9)} ${to.name} <- ${from.name} REJECT ${(err as Error).message}\n`,
              );
            }
          }
          to.driver?.receive(from.id, frame, relay);
        }
      });
    }
  };

  const route = (
    from: Instance,
    toId: string | undefined,
    frame: Uint8Array,
    relay = false,
  ): void => {
    for (const to of instances) {
      if (to === from || (toId !== undefined && to.id !== toId)) continue;
      if (toId === undefined && to.id === from.id) continue; // a twin does not message itself
      for (const out of adversary(from, to, frame)) {
        options.observer?.onSend(from.name, to.name, out, queue.now, relay);
        deliver(from, to, out, relay);
      }
    }
  };

  // --- Byzantine behaviours ------------------------------------------------------------------
  const replayBuffer: Uint8Array[] = [];
  const adversary = (from: Instance, to: Instance, frame: Uint8Array): Uint8Array[] => {
    const behaviour = from.behaviour;
    if (!behaviour) return [frame];
    const auth = keys.authenticator(from.id);
    const context: OpenContext = { chainId: config.chainId, validators: new Set(ids), auth };
    const resign = (message: PbftMessage): Uint8Array =>
      encodeEnvelope(signMessage(message, from.id, config.chainId, auth));
    let message: PbftMessage;
    try {
      message = openEnvelope(frame, context).message;
    } catch {
      return [frame];
    }
    const odd = instances.indexOf(to) % 2 === 1;
    switch (behaviour) {
      case "silence":
        return [];
      case "equivocate": {
        if (message.type !== "pre-prepare" || !odd) return [frame];
        const block = readBlock(message.proposal.payload);
        const parentRoot = from.ledger?.stateRootOf(message.proposal.parentId);
        if (!block || !parentRoot) return [frame];
        const txs = [1_000_000 + rng.int(1_000_000)];
        const other = makeBlock(
          block.height,
          message.proposal.parentId,
          txs,
          nextRoot(parentRoot, txs),
          options.blockFormat,
        );
        return [resign({ ...message, proposal: other })];
      }
      case "conflicting-votes":
        if ((message.type === "prepare" || message.type === "commit") && odd)
          return [resign({ ...message, blockId: randomId(rng) })];
        return [frame];
      case "bad-signatures": {
        if (rng.next() < 0.5) return [frame];
        const copy = Uint8Array.from(frame);
        const i = copy.length - 1 - rng.int(8);
        copy[i] = (copy[i] ?? 0) ^ 0xff;
        return [copy];
      }
      case "stale-views":
        if (
          "view" in message &&
          message.view > 0 &&
          message.type !== "view-change" &&
          message.type !== "new-view"
        ) {
          return [frame, resign({ ...message, view: message.view - 1 } as PbftMessage)];
        }
        return [frame];
      case "out-of-window":
        if (
          message.type === "pre-prepare" ||
          message.type === "prepare" ||
          message.type === "commit" ||
          message.type === "checkpoint"
        ) {
          return [
            frame,
            resign({ ...message, seq: message.seq + 100 + rng.int(1000) } as PbftMessage),
          ];
        }
        return [frame];
      case "replay": {
        replayBuffer.push(frame);
        if (replayBuffer.length > 200) replayBuffer.shift();
        const old = replayBuffer[rng.int(replayBuffer.length)] as Uint8Array;
        return [frame, old];
      }
      case "mutation": {
        if (rng.next() < 0.3) return [frame];
        const copy = Uint8Array.from(frame);
        for (let k = 0; k < 1 + rng.int(3); k++) {
          const i = rng.int(copy.length);
          copy[i] = rng.int(256);
        }
        return [copy];
      }
      case "invalid-blocks":
        return [frame];
    }
  };

  // --- node lifecycle ------------------------------------------------------------------------
  const boot = async (inst: Instance): Promise<void> => {
    inst.alive = true;
    inst.generation++;
    const generation = inst.generation;
    const alive = (): boolean => inst.alive && inst.generation === generation;
    const clock = createSimClock(queue, alive);
    const auth = keys.authenticator(inst.id);
    const ledger = createSimLedger({
      queue,
      disk: inst.disk,
      chainId: config.chainId,
      validators: ids,
      quorum,
      verify: auth.verify,
      // A slow node (slow-restart class) executes every block 10–30 times slower.
      executeMs: slowNodes.has(inst.name) ? 20 + rng.int(40) : 2,
      maxTxs: 4,
      alive,
      violation: (what) => {
        if (honest(inst)) violation(`${inst.name}: ${what}`);
      },
      onCommit: (block) => onCommit(inst, block),
      fetchFrom: (height) =>
        new Promise((resolve) => {
          // State transfer from a random live peer that is ahead (it may be faulty: blocks are
          // accepted only with valid certificates).
          const peers = instances.filter(
            (p) => p !== inst && p.alive && (p.disk.blocks.at(-1)?.height ?? 0) > height,
          );
          const peer = peers.length > 0 ? (peers[rng.int(peers.length)] as Instance) : undefined;
          const blocks = peer ? peer.disk.blocks.filter((b) => b.height > height).slice(0, 50) : [];
          queue.schedule(5 + blocks.length, () => resolve(alive() ? blocks : []));
        }),
      ...(inst.behaviour === "invalid-blocks" ? { proposeInvalid: () => rng.next() < 0.7 } : {}),
      ...(options.blockFormat ? { format: options.blockFormat } : {}),
    });
    inst.ledger = ledger;
    inst.driver = createPbftDriver({
      config,
      self: inst.id,
      genesis: { seq: 0, blockId: genesis.blockId, stateRoot: genesis.stateRoot },
      host: ledger,
      link: {
        broadcast: (frame) => {
          if (alive()) route(inst, undefined, frame);
        },
        send: (to, frame, relay) => {
          if (alive()) route(inst, to, frame, relay === true);
        },
      },
      store: createPbftStore(inst.store),
      auth,
      clock,
      logger: process.env.SIM_TRACE ? traceLogger(inst.name, () => queue.now) : silentLogger,
      onStatus: (status) => {
        if (status.view > maxView) maxView = status.view;
      },
      ...(process.env.SIM_TRACE
        ? {
            onOutput: (output: PbftOutput) => {
              if (
                output.kind === "commit" ||
                output.kind === "validate" ||
                output.kind === "build" ||
                output.kind === "catch-up" ||
                output.kind === "discard" ||
                (output.kind === "send" && process.env.SIM_TRACE === "2")
              )
                process.stdout.write(
                  `${queue.now.toFixed(1).padStart(9)} ${inst.name} out ${output.kind} ${"seq" in output ? output.seq : ""} ${"proposal" in output ? output.proposal.blockId.slice(0, 8) : ""} ${"keep" in output ? output.keep.map((k) => k.slice(0, 8)).join(",") : ""}\n`,
                );
            },
          }
        : {}),
      ...(spec.unsafeQuorum !== undefined ? { unsafeQuorumForTesting: spec.unsafeQuorum } : {}),
    });
    await inst.store.open();
    await inst.driver.start();
  };

  const crash = (inst: Instance, wipe: boolean): void => {
    inst.alive = false;
    inst.generation++;
    void inst.driver?.stop();
    inst.driver = undefined;
    if (wipe) {
      inst.disk.blocks.splice(1);
      void inst.store.write([]); // the store object stays; its contents go below
      (inst as { store: KvStore }).store = createMemoryStore();
    }
  };

  for (const inst of instances) await boot(inst);

  // --- workload and fault schedule ---------------------------------------------------------
  let nextTx = 0;
  const submit = (): void => {
    const tx = nextTx++;
    for (const inst of instances) {
      const generation = inst.generation;
      queue.schedule(1 + rng.next() * 5, () => {
        if (inst.alive && inst.generation === generation) inst.ledger?.addTransaction(tx);
      });
    }
    queue.schedule(150 + rng.next() * 250, submit);
  };
  queue.schedule(10, submit);

  if (faults === "slow-restart") {
    const victim = instances[0] as Instance;
    const at = 300 + rng.next() * spec.healAtMs * 0.3;
    queue.schedule(at, () => crash(victim, false));
    queue.schedule(at + 200 + rng.next() * 800, () => {
      slowNodes.add(victim.name);
      void boot(victim);
    });
  }
  if (faults === "crash" || faults === "wipe" || mixed) {
    // Crash up to f honest nodes at random times before healing, each restarting later
    // (wipe: one faulty node restarts with an empty disk and store, and must catch up).
    const victims =
      faults === "wipe"
        ? instances.filter((i) => i.faulty)
        : instances.filter(honest).slice(0, Math.max(1, f));
    for (const victim of victims) {
      const at = rng.next() * spec.healAtMs * 0.6;
      const downFor = 200 + rng.next() * spec.healAtMs * 0.3;
      queue.schedule(at, () => crash(victim, faults === "wipe"));
      queue.schedule(at + downFor, () => {
        void boot(victim);
      });
    }
  }

  for (const { node, atMs } of options.crashes ?? []) {
    const victim = instances.find((i) => i.name === node);
    if (victim) queue.schedule(atMs, () => crash(victim, false));
  }

  // --- run -----------------------------------------------------------------------------------
  const heightOf = (inst: Instance): number => inst.disk.blocks.at(-1)?.height ?? 0;
  let healHeight = -1;
  const end = spec.healAtMs + spec.liveBoundMs;
  let doneAt: number | undefined;
  let eventsSinceYield = 0;
  for (;;) {
    if (options.signal?.aborted || !queue.runNext(end)) break;
    // Let the promise continuations this event started run before the next event. A few
    // microtask turns settle the driver's and the memory store's chains; a macrotask turn per
    // event would cost more than the simulation itself.
    for (let turn = 0; turn < 12; turn++) await null;
    // Now and then a macrotask turn, so the test runner's worker stays responsive.
    if (++eventsSinceYield >= 500) {
      eventsSinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (healHeight < 0 && healed()) {
      for (const inst of instances) if (!inst.alive && honest(inst)) await boot(inst);
      healHeight = Math.max(...instances.filter(honest).map(heightOf));
    }
    if (violations.length > 0 && doneAt === undefined) doneAt = queue.now + 200;
    if (healHeight >= 0 && doneAt === undefined) {
      const target = options.targetHeight;
      if (target === undefined) {
        if (instances.filter(honest).every((i) => i.alive && heightOf(i) >= healHeight + 3))
          doneAt = queue.now + 300;
      } else if (instances.filter((i) => honest(i) && i.alive).every((i) => heightOf(i) >= target))
        doneAt = queue.now;
    }
    if (doneAt !== undefined && queue.now >= doneAt) break;
  }
  const honestOnes = instances.filter(honest);
  if (violations.length === 0 && options.targetHeight !== undefined) {
    for (const inst of honestOnes) {
      if (inst.alive && heightOf(inst) < options.targetHeight) {
        violation(
          `liveness: ${inst.name} at height ${heightOf(inst)}, needed ${options.targetHeight} within ${end} ms`,
        );
      }
    }
  } else if (violations.length === 0) {
    for (const inst of honestOnes) {
      if (heightOf(inst) < healHeight + 3) {
        violation(
          `liveness: ${inst.name} at height ${heightOf(inst)}, needed ${healHeight + 3} within ${spec.liveBoundMs} ms of healing`,
        );
      }
    }
  }
  if (process.env.SIM_INSPECT) {
    const target = instances.find((i) => i.name === process.env.SIM_INSPECT);
    process.stdout.write(
      `${JSON.stringify({ status: target?.driver?.status(), slots: target?.driver?.debugSnapshot() }, null, 1)}\n`,
    );
  }
  for (const inst of instances) {
    // Not awaited: a stopped node's pending host work never completes in the simulation (its
    // generation is over), and the driver would wait for it.
    inst.alive = false;
    void inst.driver?.stop();
  }
  return {
    spec,
    violations,
    stats: {
      messages,
      heights: Object.fromEntries(instances.map((i) => [i.name, heightOf(i)])),
      maxView,
      virtualMs: queue.now,
      faulty: [...faultyIds],
    },
  };
}

/** Prints a node's consensus log lines with virtual time, for replaying a failing seed. */
function traceLogger(name: string, now: () => number): Logger {
  const line = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) => {
    process.stdout.write(
      `${now().toFixed(1).padStart(9)} ${name} ${level} ${msg} ${fields ? JSON.stringify(fields) : ""}\n`,
    );
  };
  const logger: Logger = {
    trace() {},
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
    child: () => logger,
  };
  return logger;
}

function pick<T>(rng: Random, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

function randomId(rng: Random): string {
  return Buffer.from(rng.bytes(32)).toString("hex");
}
