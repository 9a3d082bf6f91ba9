/**
 * The PBFT driver: runs the pure machine against the world. It authenticates incoming frames,
 * feeds the machine one input at a time, and carries out its outputs in order — votes are
 * written (one synced write for all records of a step) before any message that follows them is
 * sent; timers run on the injected clock; host requests (build, validate, commit, catch up) run
 * asynchronously and their answers come back as inputs.
 *
 * The same driver runs in a node (real transport, LevelDB, chain) and in the deterministic
 * simulator (simulated transport, memory store, simulated ledger, virtual clock).
 */
import type { Clock, Timer } from "../../common/clock.js";
import { errorMessage } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { PbftConfig } from "./config.js";
import {
  type CommittedHead,
  createPbftMachine,
  type PbftInput,
  type PbftMachine,
  type PbftOutput,
  type PbftRecord,
  type PbftStatus,
  type PbftTimer,
  type PrimarySelector,
} from "./machine.js";
import type {
  CommitCertificate,
  MessageAuthenticator,
  OpenContext,
  Proposal,
  SignedMessage,
} from "./messages.js";
import { cborCodec, type PbftCodec, signMessage } from "./messages.js";
import type { PbftStore } from "./store.js";

/** What PBFT needs from the ledger. Calls of one kind are made in order and must be served in order. */
export interface PbftHost {
  /** The committed head now. */
  head(): CommittedHead;
  /** Builds (and executes) a block on `parentId`; undefined when there is nothing to propose. */
  build(view: number, seq: number, parentId: string): Promise<Proposal | undefined>;
  /** Executes a proposed block on its parent; `valid: false` when it does not check out. */
  validate(
    view: number,
    seq: number,
    proposal: Proposal,
  ): Promise<{ valid: boolean; reason?: string }>;
  /** Commits a decided block with its certificate. */
  commit(seq: number, proposal: Proposal, certificate: CommitCertificate): Promise<CommittedHead>;
  /** Drops speculative candidates except `keep`. */
  discard(keep: readonly string[]): void;
  /** Fetches and commits blocks from peers up to at least `seq`; resolves with the new head. */
  catchUp(seq: number, blockId: string): Promise<CommittedHead>;
  /** Whether batches wait to be ordered, and a subscription to changes. */
  hasPendingWork(): boolean;
  onPendingWork(listener: () => void): () => void;
}

/** How PBFT frames reach the other validators. */
export interface PbftLink {
  broadcast(frame: Uint8Array): void;
  /**
   * `relay`: the frame carries someone else's message (a help answer); the receiving link
   * hands it to `receive` with `relayed` set. A link that cannot mark frames may ignore it.
   */
  send(to: string, frame: Uint8Array, relay?: boolean): void;
}

/** Options of `createPbftDriver`. */
export interface PbftDriverOptions {
  readonly config: PbftConfig;
  readonly self: string;
  readonly genesis: CommittedHead;
  readonly host: PbftHost;
  readonly link: PbftLink;
  readonly store: PbftStore;
  readonly auth: MessageAuthenticator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly primary?: PrimarySelector;
  /** Envelope encoding; default canonical CBOR. */
  readonly codec?: PbftCodec;
  /** Called after every step (status pages, metrics, simulator invariants). */
  readonly onStatus?: (status: PbftStatus) => void;
  /** Called for every output (metrics, tests). */
  readonly onOutput?: (output: PbftOutput) => void;
  /** Simulator self-test only: see `PbftMachineOptions.unsafeQuorumForTesting`. */
  readonly unsafeQuorumForTesting?: number;
}

/** A running PBFT participant. */
export interface PbftDriver {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A peer reports a committed head at `seq`; the machine fetches blocks if it is behind. */
  peerHead(seq: number): void;
  /** Tells the machine that blocks after `lastSeq` belong to the next validator set. */
  limit(lastSeq: number): void;
  /**
   * Hands a received frame (an encoded envelope) from `peer` to the machine. `relayed`: the
   * peer marked it as a relayed message (a help answer); a message signed by anyone but `peer`
   * counts as relayed too.
   */
  receive(peer: string, frame: Uint8Array, relayed?: boolean): void;
  status(): PbftStatus;
  /** The machine's log in readable form (debugging). */
  debugSnapshot(): unknown;
  /** Resolves when all queued work (inputs, writes, host calls) is done; for tests. */
  idle(): Promise<void>;
}

/** Creates the driver; the machine is created at `start` from the stored records. */
export function createPbftDriver(options: PbftDriverOptions): PbftDriver {
  const { config, self, host, link, store, auth, clock, logger } = options;
  const codec = options.codec ?? cborCodec;
  const openContext: OpenContext = {
    chainId: config.chainId,
    validators: new Set(config.validators.map((v) => v.id)),
    auth,
  };
  let machine: PbftMachine | undefined;
  let running = false;
  const timers = new Map<PbftTimer, Timer>();
  const inputs: PbftInput[] = [];
  let draining = false;
  // Outputs run strictly in order on this chain; a write in it delays only what follows it.
  let outputChain: Promise<void> = Promise.resolve();
  let pendingRecords: PbftRecord[] = [];
  let unsubscribe: (() => void) | undefined;
  let hostBusy = 0;
  const opened = createOpenedFrames();

  const enqueue = (input: PbftInput): void => {
    if (!running) return;
    inputs.push(input);
    if (!draining) drain();
  };

  const drain = (): void => {
    draining = true;
    try {
      for (let input = inputs.shift(); input && machine && running; input = inputs.shift()) {
        const outputs = machine.step(input);
        schedule(outputs);
        options.onStatus?.(machine.status());
      }
    } finally {
      draining = false;
    }
  };

  const flushRecords = async (): Promise<void> => {
    if (pendingRecords.length === 0) return;
    const records = pendingRecords;
    pendingRecords = [];
    await store.append(records);
  };

  const track = <T>(promise: Promise<T>, onResult: (value: T) => void, what: string): void => {
    hostBusy++;
    promise.then(
      (value) => {
        hostBusy--;
        onResult(value);
      },
      (err: unknown) => {
        hostBusy--;
        logger.error(`pbft host ${what} failed`, { error: errorMessage(err) });
      },
    );
  };

  const schedule = (outputs: readonly PbftOutput[]): void => {
    for (const output of outputs) {
      options.onOutput?.(output);
      switch (output.kind) {
        case "persist":
          pendingRecords.push(output.record);
          break;
        case "broadcast":
        case "send": {
          const frame = codec.encode(output.message);
          outputChain = outputChain.then(flushRecords).then(() => {
            if (!running) return;
            if (output.kind === "broadcast") link.broadcast(frame);
            else if (output.relay) link.send(output.to, frame, true);
            else link.send(output.to, frame);
          });
          break;
        }
        case "set-timer": {
          timers.get(output.timer)?.cancel();
          const timer = output.timer;
          timers.set(
            timer,
            clock.setTimer(output.delayMs, () => {
              timers.delete(timer);
              enqueue({ kind: "timer", timer });
            }),
          );
          break;
        }
        case "cancel-timer":
          timers.get(output.timer)?.cancel();
          timers.delete(output.timer);
          break;
        case "build":
          track(
            host.build(output.view, output.seq, output.parentId),
            (proposal) => enqueue({ kind: "built", view: output.view, seq: output.seq, proposal }),
            "build",
          );
          break;
        case "validate":
          track(
            host.validate(output.view, output.seq, output.proposal),
            (result) =>
              enqueue({
                kind: "validated",
                view: output.view,
                seq: output.seq,
                blockId: output.proposal.blockId,
                valid: result.valid,
                ...(result.reason !== undefined ? { reason: result.reason } : {}),
              }),
            "validate",
          );
          break;
        case "commit": {
          // Our own commit vote must be durable before the block is, like any vote.
          const commit = outputChain
            .then(flushRecords)
            .then(() => host.commit(output.seq, output.proposal, output.certificate));
          outputChain = commit.then(
            () => undefined,
            () => undefined,
          );
          track(commit, (head) => enqueue({ kind: "committed", head }), "commit");
          break;
        }
        case "discard":
          host.discard(output.keep);
          break;
        case "catch-up":
          track(
            host.catchUp(output.seq, output.blockId),
            (head) => enqueue({ kind: "committed", head }),
            "catch-up",
          );
          break;
        case "view-changed":
          logger.info("view changed", { view: output.view, primary: output.primary });
          break;
        case "phase":
          break; // observed through onOutput (metrics)
        case "stable-checkpoint":
          logger.debug("stable checkpoint", { seq: output.checkpoint.seq });
          break;
        case "log":
          logger[output.level](output.message, output.fields ?? {});
          break;
      }
    }
    // Records not followed by a send in this step still become durable promptly.
    if (pendingRecords.length > 0) outputChain = outputChain.then(flushRecords);
  };

  return {
    async start() {
      if (running) return;
      const recovery = await store.load(openContext);
      machine = createPbftMachine({
        config,
        self,
        genesis: options.genesis,
        head: host.head(),
        sign: (message) => signMessage(message, self, config.chainId, auth),
        recovery,
        ...(options.primary ? { primary: options.primary } : {}),
        ...(options.unsafeQuorumForTesting !== undefined
          ? { unsafeQuorumForTesting: options.unsafeQuorumForTesting }
          : {}),
      });
      running = true;
      schedule(machine.start());
      // Deferred: the host notifies from inside its own calls, which must not re-enter the machine.
      unsubscribe = host.onPendingWork(() =>
        queueMicrotask(() => enqueue({ kind: "pending-work", pending: host.hasPendingWork() })),
      );
      enqueue({ kind: "pending-work", pending: host.hasPendingWork() });
    },

    async stop() {
      if (!running) return;
      running = false;
      unsubscribe?.();
      for (const timer of timers.values()) timer.cancel();
      timers.clear();
      await outputChain;
    },

    peerHead(seq) {
      enqueue({ kind: "behind", seq });
    },

    limit(lastSeq) {
      enqueue({ kind: "limit", lastSeq });
    },

    receive(peer, frame, relayed) {
      if (!running) return;
      let message = opened.get(frame);
      if (message === undefined) {
        try {
          message = codec.open(frame, openContext);
        } catch (err) {
          logger.debug("pbft frame rejected", { peer, reason: errorMessage(err) });
          return;
        }
        opened.add(frame, message);
      }
      enqueue({
        kind: "message",
        message,
        ...(relayed === true || peer !== message.sender ? { relayed: true } : {}),
      });
    },

    debugSnapshot() {
      return machine?.debugSnapshot();
    },
    status() {
      if (!machine) throw new Error("PBFT driver not started");
      return machine.status();
    },

    async idle() {
      for (;;) {
        const chain = outputChain;
        await chain;
        if (chain === outputChain && inputs.length === 0 && hostBusy === 0) return;
        await new Promise<void>((resolve) => queueMicrotask(resolve));
      }
    },
  };
}

/** Most frames remembered by `createOpenedFrames`, and most bytes of them. */
const OPENED_FRAMES_MAX = 2_048;
const OPENED_FRAMES_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Frames this driver has already decoded and authenticated, by their exact bytes. Votes are
 * re-sent every retransmit interval while a height is unfinished (and a pre-prepare carries the
 * block's batch ids), so under load most PBFT frames a node receives are byte-for-byte repeats;
 * opening one again would give the same message, so it is taken from here instead of being
 * decoded and verified again. Keyed by the frame's last 64 bytes (the envelope ends with the
 * signature) and confirmed by comparing the whole frame. The driver serves one validator set,
 * so a remembered verdict never outlives the keys that gave it.
 */
function createOpenedFrames(): {
  get(frame: Uint8Array): SignedMessage | undefined;
  add(frame: Uint8Array, message: SignedMessage): void;
} {
  const frames = new Map<string, { frame: Uint8Array; message: SignedMessage }>();
  let bytes = 0;
  const keyOf = (frame: Uint8Array): string =>
    Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
      .subarray(Math.max(0, frame.byteLength - 64))
      .toString("latin1");
  const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
    a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  return {
    get(frame) {
      const hit = frames.get(keyOf(frame));
      return hit && sameBytes(hit.frame, frame) ? hit.message : undefined;
    },
    add(frame, message) {
      const key = keyOf(frame);
      const old = frames.get(key);
      if (old) {
        frames.delete(key);
        bytes -= old.frame.byteLength;
      }
      // A copy: the caller may reuse its buffer.
      frames.set(key, { frame: Uint8Array.from(frame), message });
      bytes += frame.byteLength;
      for (const [oldest, entry] of frames) {
        if (frames.size <= OPENED_FRAMES_MAX && bytes <= OPENED_FRAMES_MAX_BYTES) break;
        frames.delete(oldest);
        bytes -= entry.frame.byteLength;
      }
    },
  };
}
