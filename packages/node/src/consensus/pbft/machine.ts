/**
 * PBFT (Castro–Liskov) for blocks, as a deterministic state machine.
 *
 * `step(input)` takes one event — a verified message, a timer, or the host's answer to a
 * request — and returns the outputs it causes: messages to send, votes to persist first,
 * timers to set, and requests to the host (build, validate, commit or discard a block, catch
 * up). The machine has no clock, timers, I/O or randomness of its own: the same inputs in the
 * same order always give the same outputs. That is what lets the seeded simulator run the very
 * code the node runs, under faults, and replay any failure exactly.
 *
 * Protocol, per sequence number n (= block height) in view v:
 * - the primary of v builds a block on its previous proposal (or the committed head) and sends
 *   PRE-PREPARE(v, n, block); up to `maxInFlight` blocks may be in flight at once;
 * - a replica accepts it if it is the first for (v, n), the sender is the primary, n is inside
 *   the watermark window, and the block extends the block it accepted at n − 1 (or the head);
 *   the host executes the block on that parent (execute-before-vote: the header's state root is
 *   checked), and only then does the replica send PREPARE(v, n, id);
 * - prepared = the pre-prepare plus Q − 1 matching prepares from other validators; the replica
 *   then sends COMMIT(v, n, id);
 * - committed-local = prepared plus Q matching commits; blocks are handed to the host to commit
 *   strictly in order, with the Q commit signatures as the block's certificate;
 * - every K blocks a CHECKPOINT(n, id, state root); Q matching make it stable; the log below it
 *   is dropped and the watermark window moves;
 * - when a replica with pending work sees no commit for the view-change timeout, or sees the
 *   primary misbehave, it moves to v + 1 and sends VIEW-CHANGE(v + 1) with its stable checkpoint
 *   and its prepared certificates; it joins early when f + 1 others ask for a higher view; the
 *   timeout doubles with each consecutive failed view change, up to a cap;
 * - the new primary, with Q VIEW-CHANGEs, sends NEW-VIEW with the re-proposals: starting from the
 *   highest stable checkpoint, for each next n the prepared certificate of the highest view, as
 *   long as each chosen block extends the previous one. Every replica recomputes and checks it.
 *
 * Safety argument for the chained re-proposal: a block committed at n was prepared by a quorum,
 * so any quorum of VIEW-CHANGEs holds its certificate and it is the highest-view one at n (as in
 * PBFT); a committed block's parent was committed first (blocks commit in order), so the chosen
 * blocks up to the highest committed one always form a chain, and truncating at the first gap
 * or fork only drops blocks that cannot have committed.
 */
import { dropOldest } from "../../common/bounded.js";
import { type PbftConfig, quorumSize, weakQuorumSize } from "./config.js";
import type {
  CheckpointProof,
  CommitCertificate,
  PbftMessage,
  PreparedProof,
  Proposal,
  SignedMessage,
} from "./messages.js";

/** The last block the host has committed. */
export interface CommittedHead {
  readonly seq: number;
  readonly blockId: string;
  readonly stateRoot: string;
}

/** Timers the machine asks the host to run; setting one again replaces it. */
export type PbftTimer = "view-change" | "retransmit";

/** Events fed to the machine. Messages must already be authenticated (`openEnvelope`). */
export type PbftInput =
  | {
      readonly kind: "message";
      readonly message: SignedMessage;
      /**
       * The message did not come from its signer as its own vote: another node relayed it (a
       * help answer, or a third party forwarding it). A relayed stale message says nothing about
       * whether its signer is behind, so it is never answered with help — otherwise two nodes
       * that both decided a height answer each other's help answers at every retransmit tick
       * until the log is pruned (measured: ~600 extra verified messages per block per node).
       */
      readonly relayed?: boolean;
    }
  | { readonly kind: "timer"; readonly timer: PbftTimer }
  /** The host built the block the machine asked for (undefined: nothing to propose). */
  | {
      readonly kind: "built";
      readonly view: number;
      readonly seq: number;
      readonly proposal: Proposal | undefined;
    }
  /** The host executed a proposed block on its parent. */
  | {
      readonly kind: "validated";
      readonly view: number;
      readonly seq: number;
      readonly blockId: string;
      readonly valid: boolean;
      readonly reason?: string;
    }
  /** The host committed a block (in order; also blocks fetched by catch-up). */
  | { readonly kind: "committed"; readonly head: CommittedHead }
  /** Whether the host has batches waiting to be ordered. */
  | { readonly kind: "pending-work"; readonly pending: boolean }
  /**
   * No sequence number above `lastSeq` belongs to this machine's validator set (a membership
   * change takes effect after it): never propose, accept or vote beyond it.
   */
  | { readonly kind: "limit"; readonly lastSeq: number }
  /** A peer reports a committed head above ours (heads are exchanged while idle). */
  | { readonly kind: "behind"; readonly seq: number };

/** A durable record of this node's own decisions; persisted before any message that depends on it is sent. */
export type PbftRecord =
  | {
      readonly kind: "vote";
      readonly type: "pre-prepare" | "prepare" | "commit";
      readonly view: number;
      readonly seq: number;
      readonly blockId: string;
    }
  | { readonly kind: "view"; readonly view: number }
  | { readonly kind: "stable"; readonly checkpoint: CheckpointProof };

/** What the machine asks of its host. Outputs must be carried out in order. */
export type PbftOutput =
  | { readonly kind: "persist"; readonly record: PbftRecord }
  | { readonly kind: "broadcast"; readonly message: SignedMessage }
  | {
      readonly kind: "send";
      readonly to: string;
      readonly message: SignedMessage;
      /** A help answer: the receiver gets it marked as relayed (see the `message` input). */
      readonly relay?: boolean;
    }
  | { readonly kind: "set-timer"; readonly timer: PbftTimer; readonly delayMs: number }
  | { readonly kind: "cancel-timer"; readonly timer: PbftTimer }
  | {
      readonly kind: "build";
      readonly view: number;
      readonly seq: number;
      readonly parentId: string;
    }
  | {
      readonly kind: "validate";
      readonly view: number;
      readonly seq: number;
      readonly proposal: Proposal;
    }
  | {
      readonly kind: "commit";
      readonly seq: number;
      readonly proposal: Proposal;
      readonly certificate: CommitCertificate;
    }
  /** Drop speculative candidates, except these block ids. */
  | { readonly kind: "discard"; readonly keep: readonly string[] }
  /** The node is behind: fetch and commit blocks up to at least `seq` from peers. */
  | { readonly kind: "catch-up"; readonly seq: number; readonly blockId: string }
  | { readonly kind: "view-changed"; readonly view: number; readonly primary: string }
  /** A slot reached a phase (for per-phase latency metrics). */
  | {
      readonly kind: "phase";
      readonly seq: number;
      readonly phase: "proposed" | "prepared" | "decided" | "executed";
    }
  | { readonly kind: "stable-checkpoint"; readonly checkpoint: CheckpointProof }
  | {
      readonly kind: "log";
      readonly level: "debug" | "info" | "warn";
      readonly message: string;
      readonly fields?: Readonly<Record<string, unknown>>;
    };

/** How the primary of a view is chosen (round robin by default; reputation-weighted later). */
export interface PrimarySelector {
  primaryOf(view: number): string;
}

/** Round robin over the validators in configuration order. */
export function roundRobinPrimary(validators: readonly { readonly id: string }[]): PrimarySelector {
  return { primaryOf: (view) => (validators[view % validators.length] as { id: string }).id };
}

/** What a restarted node recovers from its store. */
export interface PbftRecovery {
  readonly view: number;
  readonly votes: readonly Extract<PbftRecord, { kind: "vote" }>[];
  readonly stable?: CheckpointProof;
}

/** Collaborators of the machine. */
export interface PbftMachineOptions {
  readonly config: PbftConfig;
  /** This node's validator id (an observer uses an id outside the validator set). */
  readonly self: string;
  /** Signs a message as this node (deterministic or not; the machine never inspects signatures). */
  readonly sign: (message: PbftMessage) => SignedMessage;
  /** The committed head at start. */
  readonly head: CommittedHead;
  /**
   * The base block of this validator set: genesis, or the last block of the previous set after
   * a membership change. It is the stable checkpoint before any other.
   */
  readonly genesis: CommittedHead;
  readonly primary?: PrimarySelector;
  readonly recovery?: PbftRecovery;
  /**
   * FOR THE SIMULATOR'S SELF-TEST ONLY: replaces the quorum size, to plant a safety bug the
   * simulator must find. Never set in a node.
   */
  readonly unsafeQuorumForTesting?: number;
}

/** The observable state, for status pages, metrics and the simulator's invariant checks. */
export interface PbftStatus {
  readonly view: number;
  readonly phase: "normal" | "view-change";
  readonly primary: string;
  readonly committed: CommittedHead;
  readonly stableSeq: number;
  readonly inFlight: number;
  readonly viewChangeAttempts: number;
}

/** The machine. */
export interface PbftMachine {
  /** Outputs to run once at start (timers). */
  start(): PbftOutput[];
  step(input: PbftInput): PbftOutput[];
  status(): PbftStatus;
  /** The log's slots in readable form, for debugging a simulation trace. */
  debugSnapshot(): unknown;
}

type Votes = Map<number, Map<string, Map<string, SignedMessage>>>; // view → blockId → sender → message

interface Slot {
  readonly seq: number;
  /** Blocks proposed for this sequence by primaries of any view (bounded), with the pre-prepare. */
  readonly proposals: Map<string, SignedMessage>;
  /** The PRE-PREPARE accepted in the current view. */
  accepted: { readonly blockId: string; readonly message: SignedMessage } | undefined;
  /** Execution results by block id (a block's parent is fixed, so this never changes). */
  readonly validation: Map<string, "pending" | "valid" | "invalid">;
  readonly prepares: Votes;
  readonly commits: Votes;
  /** Highest-view prepared certificate held (kept across views for VIEW-CHANGE). */
  prepared: { view: number; blockId: string; proof: PreparedProof } | undefined;
  /** Q matching COMMITs of some view: the block at this height is decided, whatever the view now. */
  decided:
    | {
        readonly blockId: string;
        readonly view: number;
        readonly commits: readonly SignedMessage[];
      }
    | undefined;
  /** The decided block has been handed to the host. */
  issued: boolean;
  /** Catch-up asked for this slot. */
  fetching: boolean;
}

const MAX_PROPOSALS_PER_SLOT = 8;

/** Late votes remembered (see `lateVotes`): far more than arrive in a retransmission period. */
const LATE_VOTES_MAX = 8_192;

/** Creates a PBFT machine. */
export function createPbftMachine(options: PbftMachineOptions): PbftMachine {
  const { config, self, sign } = options;
  const validators = config.validators.map((v) => v.id);
  const validatorSet = new Set(validators);
  const n = validators.length;
  const Q = options.unsafeQuorumForTesting ?? quorumSize(n);
  const weakQ = weakQuorumSize(n);
  const selector = options.primary ?? roundRobinPrimary(config.validators);
  const isValidator = validatorSet.has(self);

  let view = options.recovery?.view ?? 0;
  let phase: "normal" | "view-change" = "normal";
  let committed: CommittedHead = options.head;
  const genesisCheckpoint: CheckpointProof = {
    seq: options.genesis.seq,
    blockId: options.genesis.blockId,
    stateRoot: options.genesis.stateRoot,
    proof: [],
  };
  let stable: CheckpointProof =
    options.recovery?.stable && options.recovery.stable.seq <= options.head.seq
      ? options.recovery.stable
      : genesisCheckpoint;
  let lastSeq = Number.POSITIVE_INFINITY;
  const slots = new Map<number, Slot>();
  const checkpointVotes = new Map<number, Map<string, Map<string, SignedMessage>>>(); // seq → blockId|root → sender
  // Each validator's newest checkpoint above the stable one: bounds what a Byzantine sender can make us hold.
  const latestCheckpointOf = new Map<string, number>();
  const ownCheckpoints = new Map<number, SignedMessage>();
  const viewChanges = new Map<number, Map<string, SignedMessage>>(); // view → sender → VIEW-CHANGE
  let ownViewChange: SignedMessage | undefined;
  let lastNewView: SignedMessage | undefined;
  let sentNewViewFor = -1;
  let pendingWork = false;
  let building = false;
  let attempts = 0;
  let catchUpTarget = 0;
  let catchUpBlock = "";
  let viewTimerArmed = false;
  let retransmitArmed = false;
  // Peers helped since the last retransmit tick, so a burst of stale messages gets one answer.
  const helped = new Set<string>();
  // Votes for heights this node already committed, seen once. The first arrival of such a vote
  // is ordinary lateness (the f votes beyond a quorum always arrive after the decision, and
  // the peer gets the decision from everyone's commits); only a peer that sends the same vote
  // again, on its retransmission tick, is stuck and worth helping. Answering every late vote
  // cost a pre-prepare and Q commits each, which at N = 64 was 7 of every 8 messages sent.
  // Insertion-ordered and bounded: a stuck peer repeats within one retransmission period.
  const lateVotes = new Set<string>();
  // Whether the message being handled was relayed (see `PbftInput`): relayed ones get no help.
  let relayedInput = false;
  // Blocks for which an expired view-change timer was restarted because this node was still
  // executing them (see `onViewTimer`); bounded, oldest first.
  const timerDeferredFor = new Set<string>();
  // This node's votes: never two different blocks for one (type, view, seq), even after a restart.
  const myVotes = new Map<string, string>();
  for (const vote of options.recovery?.votes ?? [])
    myVotes.set(`${vote.type}@${vote.view}:${vote.seq}`, vote.blockId);

  let out: PbftOutput[] = [];
  const emit = (output: PbftOutput): void => {
    out.push(output);
  };
  const log = (
    level: "debug" | "info" | "warn",
    message: string,
    fields?: Record<string, unknown>,
  ): void => {
    emit({ kind: "log", level, message, ...(fields ? { fields } : {}) });
  };

  const primaryOf = (v: number): string => selector.primaryOf(v);
  const isPrimary = (): boolean => primaryOf(view) === self;

  const slot = (seq: number): Slot => {
    let s = slots.get(seq);
    if (!s) {
      s = {
        seq,
        proposals: new Map(),
        accepted: undefined,
        validation: new Map(),
        prepares: new Map(),
        commits: new Map(),
        prepared: undefined,
        decided: undefined,
        issued: false,
        fetching: false,
      };
      slots.set(seq, s);
    }
    return s;
  };

  /** Sequence numbers this node acts on: above its head, within the watermark window. */
  const inWindow = (seq: number): boolean =>
    seq > committed.seq &&
    seq <= Math.max(stable.seq, committed.seq) + config.window &&
    seq <= lastSeq;

  /** Records a vote unless it would contradict an earlier one; returns false when it would. */
  const castVote = (
    type: "pre-prepare" | "prepare" | "commit",
    v: number,
    seq: number,
    blockId: string,
  ): boolean => {
    const key = `${type}@${v}:${seq}`;
    const earlier = myVotes.get(key);
    if (earlier !== undefined) return earlier === blockId;
    myVotes.set(key, blockId);
    emit({ kind: "persist", record: { kind: "vote", type, view: v, seq, blockId } });
    return true;
  };

  const addVote = (votes: Votes, m: SignedMessage, v: number, blockId: string): boolean => {
    let byBlock = votes.get(v);
    if (!byBlock) {
      byBlock = new Map();
      votes.set(v, byBlock);
    }
    // A Byzantine sender may vote for several blocks in one view. Counting every such vote is
    // safe (two quorums share an honest voter, who votes once); to bound memory, a sender's third
    // and later blocks in a view are kept only when f + 1 others back them (so at least one
    // honest validator does) — a real decision then still gathers its quorum.
    let distinct = 0;
    for (const [id, senders] of byBlock) if (id !== blockId && senders.has(m.sender)) distinct++;
    if (distinct >= 2 && (byBlock.get(blockId)?.size ?? 0) < weakQ) return false;
    let senders = byBlock.get(blockId);
    if (!senders) {
      senders = new Map();
      byBlock.set(blockId, senders);
    }
    if (senders.has(m.sender)) return false;
    senders.set(m.sender, m);
    return true;
  };

  const votesFor = (votes: Votes, v: number, blockId: string): Map<string, SignedMessage> =>
    votes.get(v)?.get(blockId) ?? new Map();

  const proposalOf = (s: Slot, blockId: string): Proposal | undefined => {
    const m = s.proposals.get(blockId)?.message;
    return m?.type === "pre-prepare" ? m.proposal : undefined;
  };

  /** The block that should stand at `seq`: the decided one, else the one accepted in this view. */
  const targetOf = (s: Slot): string | undefined => s.decided?.blockId ?? s.accepted?.blockId;

  const unfinished = (): Slot[] =>
    [...slots.values()]
      .filter((s) => s.seq > committed.seq && (s.accepted || s.decided))
      .sort((a, b) => a.seq - b.seq);

  // --- timers -------------------------------------------------------------------------------

  const viewTimeout = (): number =>
    Math.min(config.viewChangeTimeoutMs * 2 ** attempts, config.maxViewChangeTimeoutMs);

  /** (Re)arms or cancels the view-change timer according to whether progress is owed. */
  const refreshViewTimer = (restart: boolean): void => {
    if (!isValidator) return;
    const owed = phase === "view-change" || pendingWork || unfinished().length > 0;
    if (!owed) {
      if (viewTimerArmed) emit({ kind: "cancel-timer", timer: "view-change" });
      viewTimerArmed = false;
      return;
    }
    if (restart || !viewTimerArmed) {
      emit({ kind: "set-timer", timer: "view-change", delayMs: viewTimeout() });
      viewTimerArmed = true;
    }
  };

  const refreshRetransmit = (): void => {
    if (retransmitArmed) return;
    // An observer sends no votes; it only retries a catch-up that fell short.
    const owed = isValidator
      ? phase === "view-change" || unfinished().length > 0 || catchUpTarget > committed.seq
      : catchUpTarget > committed.seq;
    if (owed) {
      emit({ kind: "set-timer", timer: "retransmit", delayMs: config.retransmitMs });
      retransmitArmed = true;
    }
  };

  // --- proposing ----------------------------------------------------------------------------

  const tryPropose = (): void => {
    if (!isValidator || phase !== "normal" || !isPrimary() || building || !pendingWork) return;
    let last = committed.seq;
    let parentId = committed.blockId;
    for (let seq = committed.seq + 1; ; seq++) {
      const s = slots.get(seq);
      const target = s ? targetOf(s) : undefined;
      if (!s || target === undefined) break;
      // Build only on blocks this node has executed (re-proposals after a view change first).
      if (s.validation.get(target) !== "valid") return;
      last = seq;
      parentId = target;
    }
    const next = last + 1;
    if (
      next > Math.max(stable.seq, committed.seq) + config.window ||
      next - committed.seq > config.maxInFlight ||
      next > lastSeq
    )
      return;
    building = true;
    emit({ kind: "build", view, seq: next, parentId });
  };

  const onBuilt = (input: Extract<PbftInput, { kind: "built" }>): void => {
    building = false;
    const { proposal } = input;
    if (!proposal) {
      pendingWork = false;
      refreshViewTimer(false);
      return;
    }
    const s = slot(input.seq);
    if (
      input.view !== view ||
      phase !== "normal" ||
      !isPrimary() ||
      s.accepted ||
      !inWindow(input.seq)
    ) {
      // Only the late block goes: during a view change no slot has an accepted block, and the
      // blocks executed so far may be re-proposed in the next view.
      discardExcept([...keptCandidates(), ...executedCandidates()]);
      return;
    }
    if (!castVote("pre-prepare", view, input.seq, proposal.blockId)) return;
    const message = sign({ type: "pre-prepare", view, seq: input.seq, proposal });
    emit({ kind: "broadcast", message });
    s.proposals.set(proposal.blockId, message);
    s.accepted = { blockId: proposal.blockId, message };
    s.validation.set(proposal.blockId, "valid"); // the primary executed it when building
    emit({ kind: "phase", seq: input.seq, phase: "proposed" });
    checkPrepared(s);
    refreshViewTimer(false);
    refreshRetransmit();
    tryPropose();
  };

  // --- normal case --------------------------------------------------------------------------

  /**
   * Answers a vote for a height this node already committed, on its second arrival (see
   * `lateVotes`): the peer is behind, so it gets what decided `seq`, its pre-prepare and Q
   * commits.
   */
  const helpOnRepeat = (
    m: SignedMessage & { message: { type: string; view: number; seq: number } },
  ): void => {
    if (m.sender === self || relayedInput) return;
    const key = `${m.sender}:${m.message.type}@${m.message.view}:${m.message.seq}`;
    if (!lateVotes.has(key)) {
      lateVotes.add(key);
      dropOldest(lateVotes, LATE_VOTES_MAX);
      return;
    }
    help(m.sender, m.message.seq);
  };

  /** Answers a peer that is behind with what decided `seq`: its pre-prepare and Q commits. */
  const help = (peer: string, seq: number): void => {
    if (peer === self || relayedInput) return;
    const s = slots.get(seq);
    if (!s?.decided) {
      // Below the stable checkpoint the log is gone; its proof sends the peer to state transfer.
      if (seq <= stable.seq && stable.proof.length > 0 && !helped.has(`${peer}:stable`)) {
        helped.add(`${peer}:stable`);
        for (const c of stable.proof) emit({ kind: "send", to: peer, message: c, relay: true });
      }
      return;
    }
    const key = `${peer}:${seq}`;
    if (helped.has(key)) return;
    helped.add(key);
    const prePrepare = s.proposals.get(s.decided.blockId);
    if (prePrepare) emit({ kind: "send", to: peer, message: prePrepare, relay: true });
    for (const c of s.decided.commits) emit({ kind: "send", to: peer, message: c, relay: true });
  };

  const onPrePrepare = (
    m: SignedMessage & { message: Extract<PbftMessage, { type: "pre-prepare" }> },
  ): void => {
    const { view: v, seq, proposal } = m.message;
    if (m.sender !== primaryOf(v) || m.sender === self) return;
    if (seq <= committed.seq) {
      help(m.sender, seq);
      return;
    }
    if (!inWindow(seq)) return;
    const s = slot(seq);
    // Any primary's proposal is worth knowing: a later quorum of commits may decide it.
    if (!s.proposals.has(proposal.blockId) && s.proposals.size < MAX_PROPOSALS_PER_SLOT)
      s.proposals.set(proposal.blockId, m);
    if (v !== view || phase !== "normal") {
      if (s.decided?.blockId === proposal.blockId) tryValidate(seq);
      return;
    }
    if (s.accepted) {
      if (s.accepted.blockId !== proposal.blockId) {
        log("warn", "primary sent two different blocks for one sequence number", {
          view: v,
          seq,
          primary: m.sender,
        });
        startViewChange(view + 1);
      }
      return;
    }
    // Only as far ahead as a correct primary may be: this keeps a Byzantine primary from
    // collecting votes beyond a membership change this replica has not yet committed.
    if (seq - committed.seq > config.maxInFlight) return;
    const earlier = myVotes.get(`prepare@${v}:${seq}`);
    if (earlier !== undefined && earlier !== proposal.blockId) return;
    s.accepted = { blockId: proposal.blockId, message: m };
    emit({ kind: "phase", seq, phase: "proposed" });
    tryValidate(seq);
    maybePrepare(s);
    checkPrepared(s);
    refreshViewTimer(false);
    refreshRetransmit();
  };

  /** Asks the host to execute the block that should stand at `seq`, once its parent's is under way. */
  const tryValidate = (seq: number): void => {
    const s = slots.get(seq);
    if (!s || seq <= committed.seq) return;
    const target = targetOf(s);
    if (target === undefined || s.validation.has(target)) return;
    const proposal = proposalOf(s, target);
    if (!proposal) return; // decided but unseen: catch-up brings it
    let parentId: string | undefined;
    if (seq === committed.seq + 1) parentId = committed.blockId;
    else {
      const parent = slots.get(seq - 1);
      const parentTarget = parent ? targetOf(parent) : undefined;
      if (!parent || parentTarget === undefined) return; // wait for the parent
      const status = parent.validation.get(parentTarget);
      if (status === undefined || status === "invalid") return; // validated in order
      parentId = parentTarget;
    }
    if (proposal.parentId !== parentId) {
      if (s.decided) return; // the parent slot is not settled yet; decided blocks chain by safety
      log("warn", "the primary's block does not extend the block before it", {
        view,
        seq,
        primary: primaryOf(view),
      });
      s.validation.set(target, "invalid");
      if (phase === "normal") startViewChange(view + 1);
      return;
    }
    s.validation.set(target, "pending");
    emit({ kind: "validate", view, seq, proposal });
  };

  const onValidated = (input: Extract<PbftInput, { kind: "validated" }>): void => {
    const s = slots.get(input.seq);
    if (s?.validation.get(input.blockId) !== "pending") return;
    s.validation.set(input.blockId, input.valid ? "valid" : "invalid");
    if (!input.valid) {
      log("warn", "a proposed block is invalid", { view, seq: input.seq, reason: input.reason });
      if (s.accepted?.blockId === input.blockId && phase === "normal") startViewChange(view + 1);
      return;
    }
    maybePrepare(s);
    checkPrepared(s);
    issueCommits();
    tryValidate(input.seq + 1);
    tryPropose();
  };

  /** Sends PREPARE for the block accepted in this view once it has been executed. */
  const maybePrepare = (s: Slot): void => {
    if (phase !== "normal" || !s.accepted || isPrimary() || !isValidator) return;
    const blockId = s.accepted.blockId;
    if (s.validation.get(blockId) !== "valid" || votesFor(s.prepares, view, blockId).has(self))
      return;
    if (!castVote("prepare", view, s.seq, blockId)) return;
    const message = sign({ type: "prepare", view, seq: s.seq, blockId });
    emit({ kind: "broadcast", message });
    addVote(s.prepares, message, view, blockId);
  };

  const onPrepare = (
    m: SignedMessage & { message: Extract<PbftMessage, { type: "prepare" }> },
  ): void => {
    const { view: v, seq, blockId } = m.message;
    if (seq <= committed.seq) {
      helpOnRepeat(m);
      return;
    }
    if (v !== view || m.sender === primaryOf(v) || !inWindow(seq)) return;
    const s = slot(seq);
    if (addVote(s.prepares, m, v, blockId)) checkPrepared(s);
  };

  const checkPrepared = (s: Slot): void => {
    if (phase !== "normal" || !s.accepted) return;
    const blockId = s.accepted.blockId;
    if (s.validation.get(blockId) !== "valid") return;
    if (s.prepared?.view === view && s.prepared.blockId === blockId) return;
    const prepares = [...votesFor(s.prepares, view, blockId).values()].filter(
      (p) => p.sender !== primaryOf(view),
    );
    if (prepares.length < Q - 1) return;
    s.prepared = {
      view,
      blockId,
      proof: { prePrepare: s.accepted.message, prepares: prepares.slice(0, Q - 1) },
    };
    emit({ kind: "phase", seq: s.seq, phase: "prepared" });
    if (isValidator && castVote("commit", view, s.seq, blockId)) {
      const message = sign({ type: "commit", view, seq: s.seq, blockId });
      emit({ kind: "broadcast", message });
      addVote(s.commits, message, view, blockId);
      checkDecided(s);
    }
  };

  const onCommit = (
    m: SignedMessage & { message: Extract<PbftMessage, { type: "commit" }> },
  ): void => {
    const { view: v, seq, blockId } = m.message;
    if (seq <= committed.seq) {
      helpOnRepeat(m);
      return;
    }
    // Commits of any view count: Q commits for one (view, block) decide the height for good.
    if (!inWindow(seq) || v > view + config.window) return;
    const s = slot(seq);
    if (addVote(s.commits, m, v, blockId)) checkDecided(s);
  };

  const checkDecided = (s: Slot): void => {
    if (s.decided) return;
    for (const [v, byBlock] of s.commits) {
      for (const [blockId, senders] of byBlock) {
        if (senders.size < Q) continue;
        s.decided = { blockId, view: v, commits: [...senders.values()].slice(0, Q) };
        emit({ kind: "phase", seq: s.seq, phase: "decided" });
        // The network is making progress: a node that is merely slow must not take that for a
        // dead primary (S0.4), so a decision restarts the view-change clock in the normal phase.
        if (phase === "normal") refreshViewTimer(true);
        if (!s.proposals.has(blockId)) fetch(s.seq, blockId);
        tryValidate(s.seq);
        issueCommits();
        return;
      }
    }
  };

  /** Asks the host to fetch committed blocks up to `seq` from peers (once per target). */
  const fetch = (seq: number, blockId: string): void => {
    if (catchUpTarget >= seq) return;
    catchUpTarget = seq;
    catchUpBlock = blockId;
    emit({ kind: "catch-up", seq, blockId });
    refreshRetransmit();
  };

  /** Hands decided, executed blocks to the host strictly in sequence order. */
  const issueCommits = (): void => {
    for (let seq = committed.seq + 1; ; seq++) {
      const s = slots.get(seq);
      if (!s?.decided) return;
      if (s.issued) continue;
      const proposal = proposalOf(s, s.decided.blockId);
      if (!proposal || s.validation.get(s.decided.blockId) !== "valid") return;
      s.issued = true;
      emit({
        kind: "commit",
        seq,
        proposal,
        certificate: {
          view: s.decided.view,
          seq,
          blockId: s.decided.blockId,
          signatures: s.decided.commits.map((c) => ({
            validator: c.sender,
            signature: c.signature,
          })),
        },
      });
    }
  };

  const onCommitted = (head: CommittedHead): void => {
    if (head.seq <= committed.seq) return;
    const previous = committed.seq;
    committed = head;
    emit({ kind: "phase", seq: head.seq, phase: "executed" });
    attempts = 0;
    // Blocks committed through catch-up skip their slots; drop what they made moot.
    for (const [seq, s] of slots)
      if (seq <= head.seq && seq > previous && !s.issued && !s.decided) slots.delete(seq);
    for (let seq = previous + 1; seq <= head.seq; seq++) {
      if (seq % config.checkpointInterval !== 0 || !isValidator || seq !== head.seq) continue;
      const message = sign({
        type: "checkpoint",
        seq: head.seq,
        blockId: head.blockId,
        stateRoot: head.stateRoot,
      });
      ownCheckpoints.set(head.seq, message);
      emit({ kind: "broadcast", message });
      recordCheckpoint(message);
    }
    // A checkpoint quorum seen while behind can now become stable.
    for (const seq of [...checkpointVotes.keys()].sort((a, b) => a - b)) tryStable(seq);
    tryValidate(head.seq + 1);
    issueCommits();
    refreshViewTimer(true);
    refreshRetransmit();
    tryPropose();
  };
  // --- checkpoints --------------------------------------------------------------------------

  const checkpointKey = (blockId: string, stateRoot: string): string => `${blockId}|${stateRoot}`;

  const recordCheckpoint = (m: SignedMessage & { message: { type: string } }): void => {
    if (m.message.type !== "checkpoint") return;
    const { seq, blockId, stateRoot } = m.message as Extract<PbftMessage, { type: "checkpoint" }>;
    if (seq <= stable.seq || seq % config.checkpointInterval !== 0) return;
    const latest = latestCheckpointOf.get(m.sender);
    if (latest !== undefined && seq < latest) return;
    if (latest !== undefined && seq > latest) {
      for (const senders of checkpointVotes.get(latest)?.values() ?? []) senders.delete(m.sender);
    }
    latestCheckpointOf.set(m.sender, seq);
    let byValue = checkpointVotes.get(seq);
    if (!byValue) {
      byValue = new Map();
      checkpointVotes.set(seq, byValue);
    }
    const key = checkpointKey(blockId, stateRoot);
    for (const [k, senders] of byValue) if (k !== key && senders.has(m.sender)) return;
    let senders = byValue.get(key);
    if (!senders) {
      senders = new Map();
      byValue.set(key, senders);
    }
    senders.set(m.sender, m);
    tryStable(seq);
  };

  const tryStable = (seq: number): void => {
    if (seq <= stable.seq) return;
    const byValue = checkpointVotes.get(seq);
    if (!byValue) return;
    for (const [key, senders] of byValue) {
      if (senders.size < Q) continue;
      const [blockId, stateRoot] = key.split("|") as [string, string];
      if (committed.seq < seq) {
        fetch(seq, blockId); // a quorum is past us: fetch what we missed
        return;
      }
      makeStable({ seq, blockId, stateRoot, proof: [...senders.values()].slice(0, Q) });
      return;
    }
  };

  const makeStable = (checkpoint: CheckpointProof): void => {
    stable = checkpoint;
    emit({ kind: "persist", record: { kind: "stable", checkpoint } });
    for (const seq of [...slots.keys()]) if (seq <= checkpoint.seq) slots.delete(seq);
    for (const seq of [...checkpointVotes.keys()])
      if (seq <= checkpoint.seq) checkpointVotes.delete(seq);
    for (const seq of [...ownCheckpoints.keys()])
      if (seq < checkpoint.seq) ownCheckpoints.delete(seq);
    for (const key of [...myVotes.keys()]) {
      const seq = Number(key.slice(key.lastIndexOf(":") + 1));
      if (seq <= checkpoint.seq) myVotes.delete(key);
    }
    emit({ kind: "stable-checkpoint", checkpoint });
    tryPropose();
  };

  // --- view change --------------------------------------------------------------------------

  const preparedProofs = (): PreparedProof[] => {
    const proofs: PreparedProof[] = [];
    for (const s of [...slots.values()].sort((a, b) => a.seq - b.seq)) {
      if (s.seq > stable.seq && s.prepared) proofs.push(s.prepared.proof);
    }
    return proofs;
  };

  const startViewChange = (target: number): void => {
    if (!isValidator || (target <= view && phase === "view-change")) return;
    view = Math.max(target, view + 1);
    phase = "view-change";
    building = false;
    for (const s of slots.values()) s.accepted = undefined;
    emit({ kind: "persist", record: { kind: "view", view } });
    ownViewChange = sign({ type: "view-change", view, stable, prepared: preparedProofs() });
    emit({ kind: "broadcast", message: ownViewChange });
    recordViewChange(ownViewChange);
    log("info", "view change started", { view, attempts });
    viewTimerArmed = false;
    refreshViewTimer(true);
    attempts++;
    refreshRetransmit();
    maybeSendNewView();
  };

  /** Logical checks of a VIEW-CHANGE (signatures were checked when it was opened). */
  const validViewChange = (m: SignedMessage): boolean => {
    if (m.message.type !== "view-change") return false;
    const { view: v, stable: cp, prepared } = m.message;
    if (cp.seq === genesisCheckpoint.seq) {
      if (cp.blockId !== genesisCheckpoint.blockId) return false;
    } else {
      const signers = new Set<string>();
      for (const c of cp.proof) {
        if (
          c.message.type !== "checkpoint" ||
          c.message.seq !== cp.seq ||
          c.message.blockId !== cp.blockId ||
          c.message.stateRoot !== cp.stateRoot
        )
          return false;
        signers.add(c.sender);
      }
      if (signers.size < Q) return false;
    }
    for (const p of prepared) {
      const pp = p.prePrepare.message;
      if (
        pp.type !== "pre-prepare" ||
        pp.view >= v ||
        pp.seq <= cp.seq ||
        p.prePrepare.sender !== primaryOf(pp.view)
      )
        return false;
      const signers = new Set<string>();
      for (const prep of p.prepares) {
        const pm = prep.message;
        if (
          pm.type !== "prepare" ||
          pm.view !== pp.view ||
          pm.seq !== pp.seq ||
          pm.blockId !== pp.proposal.blockId
        )
          return false;
        if (prep.sender === primaryOf(pp.view)) return false;
        signers.add(prep.sender);
      }
      if (signers.size < Q - 1) return false;
    }
    return true;
  };

  const recordViewChange = (m: SignedMessage): void => {
    if (m.message.type !== "view-change") return;
    let bySender = viewChanges.get(m.message.view);
    if (!bySender) {
      bySender = new Map();
      viewChanges.set(m.message.view, bySender);
    }
    if (!bySender.has(m.sender)) bySender.set(m.sender, m);
  };

  const onViewChange = (
    m: SignedMessage & { message: Extract<PbftMessage, { type: "view-change" }> },
  ): void => {
    const v = m.message.view;
    if (v < view || (v === view && phase === "normal")) {
      // The sender is behind: the NEW-VIEW that established our view brings it along.
      if (lastNewView && m.sender !== self && phase === "normal")
        emit({ kind: "send", to: m.sender, message: lastNewView });
      return;
    }
    if (!validViewChange(m)) {
      log("warn", "invalid view-change ignored", { from: m.sender, view: v });
      return;
    }
    recordViewChange(m);
    // Join early when f + 1 validators want a view above ours: at least one of them is honest.
    const higher = new Map<string, number>();
    for (const [vv, senders] of viewChanges) {
      if (vv <= view) continue;
      for (const sender of senders.keys()) {
        const known = higher.get(sender);
        if (known === undefined || vv < known) higher.set(sender, vv);
      }
    }
    if (higher.size >= weakQ) {
      startViewChange(Math.min(...higher.values()));
      return;
    }
    maybeSendNewView();
  };

  /** The chain the new view re-proposes, recomputed identically by the primary and replicas. */
  const selectReproposals = (
    vcs: readonly SignedMessage[],
  ): { base: CheckpointProof; chain: Proposal[]; seqs: number[] } => {
    let base: CheckpointProof = genesisCheckpoint;
    for (const m of vcs)
      if (m.message.type === "view-change" && m.message.stable.seq > base.seq)
        base = m.message.stable;
    const chain: Proposal[] = [];
    const seqs: number[] = [];
    let parentId = base.blockId;
    for (let seq = base.seq + 1; ; seq++) {
      let best: { view: number; proposal: Proposal } | undefined;
      for (const m of vcs) {
        if (m.message.type !== "view-change") continue;
        for (const p of m.message.prepared) {
          const pp = p.prePrepare.message;
          if (pp.type !== "pre-prepare" || pp.seq !== seq) continue;
          if (
            !best ||
            pp.view > best.view ||
            (pp.view === best.view && pp.proposal.blockId < best.proposal.blockId)
          ) {
            best = { view: pp.view, proposal: pp.proposal };
          }
        }
      }
      if (!best || best.proposal.parentId !== parentId) break;
      chain.push(best.proposal);
      seqs.push(seq);
      parentId = best.proposal.blockId;
    }
    return { base, chain, seqs };
  };

  const maybeSendNewView = (): void => {
    if (phase !== "view-change" || primaryOf(view) !== self || sentNewViewFor >= view) return;
    const vcs = [...(viewChanges.get(view)?.values() ?? [])];
    if (vcs.length < Q) return;
    const chosen = vcs.slice(0, Q);
    const { chain, seqs } = selectReproposals(chosen);
    const prePrepares: SignedMessage[] = [];
    for (const [i, proposal] of chain.entries()) {
      const seq = seqs[i] as number;
      if (!castVote("pre-prepare", view, seq, proposal.blockId)) return;
      prePrepares.push(sign({ type: "pre-prepare", view, seq, proposal }));
    }
    sentNewViewFor = view;
    const message = sign({ type: "new-view", view, viewChanges: chosen, prePrepares });
    emit({ kind: "broadcast", message });
    enterView(message, chain, seqs, prePrepares);
  };

  const onNewView = (
    m: SignedMessage & { message: Extract<PbftMessage, { type: "new-view" }> },
  ): void => {
    const v = m.message.view;
    if (
      v < view ||
      (v === view && phase === "normal") ||
      m.sender !== primaryOf(v) ||
      m.sender === self
    )
      return;
    const senders = new Set<string>();
    for (const vc of m.message.viewChanges) {
      if (vc.message.type !== "view-change" || vc.message.view !== v || !validViewChange(vc))
        return;
      senders.add(vc.sender);
    }
    if (senders.size < Q) return;
    const { chain, seqs } = selectReproposals(m.message.viewChanges);
    const given = m.message.prePrepares;
    if (given.length !== chain.length) return;
    for (const [i, pp] of given.entries()) {
      const expected = chain[i] as Proposal;
      if (
        pp.sender !== m.sender ||
        pp.message.type !== "pre-prepare" ||
        pp.message.view !== v ||
        pp.message.seq !== seqs[i] ||
        pp.message.proposal.blockId !== expected.blockId ||
        pp.message.proposal.parentId !== expected.parentId
      ) {
        return;
      }
    }
    if (v > view) emit({ kind: "persist", record: { kind: "view", view: v } });
    view = v;
    enterView(m, chain, seqs, given);
  };

  /** Blocks executed, or being executed, above the committed head: the host holds (or will hold) them. */
  const executedCandidates = (): string[] => {
    const held: string[] = [];
    for (const s of slots.values()) {
      if (s.seq <= committed.seq) continue;
      for (const [blockId, status] of s.validation) if (status !== "invalid") held.push(blockId);
    }
    return held;
  };

  /**
   * Tells the host to drop its speculative candidates except `keep`, and forgets that the dropped
   * blocks were executed: proposed again, they are executed again (the host no longer holds their
   * state), rather than voted for and then refused at commit.
   */
  const discardExcept = (keep: readonly string[]): void => {
    const kept = new Set(keep);
    for (const s of slots.values()) {
      for (const [blockId, status] of s.validation) {
        if (status === "valid" && !kept.has(blockId)) s.validation.delete(blockId);
      }
    }
    emit({ kind: "discard", keep });
  };

  /** Candidate blocks the host should keep: those that may still be committed. */
  const keptCandidates = (): string[] => {
    const keep: string[] = [];
    for (const s of unfinished()) {
      const target = targetOf(s);
      if (target !== undefined) keep.push(target);
    }
    return keep;
  };

  const enterView = (
    newView: SignedMessage,
    chain: readonly Proposal[],
    seqs: readonly number[],
    prePrepares: readonly SignedMessage[],
  ): void => {
    phase = "normal";
    lastNewView = newView;
    building = false;
    for (const v of [...viewChanges.keys()]) if (v < view) viewChanges.delete(v);
    for (const s of slots.values()) s.accepted = undefined;
    for (const [i, proposal] of chain.entries()) {
      const seq = seqs[i] as number;
      const message = prePrepares[i] as SignedMessage;
      if (seq <= committed.seq) continue;
      const s = slot(seq);
      s.proposals.set(proposal.blockId, message);
      s.accepted = { blockId: proposal.blockId, message };
    }
    discardExcept(keptCandidates());
    const last = seqs.at(-1) ?? 0;
    const base =
      newView.message.type === "new-view"
        ? selectReproposals(newView.message.viewChanges).base
        : undefined;
    if (base && base.seq > committed.seq) fetch(base.seq, base.blockId);
    emit({ kind: "view-changed", view, primary: primaryOf(view) });
    log("info", "new view", {
      view,
      primary: primaryOf(view),
      reproposed: chain.length,
      upTo: last,
    });
    for (const seq of seqs) {
      if (seq <= committed.seq) continue;
      tryValidate(seq);
      maybePrepare(slot(seq));
      checkPrepared(slot(seq));
    }
    viewTimerArmed = false;
    refreshViewTimer(true);
    refreshRetransmit();
    tryPropose();
  };

  /**
   * The view-change timer expired. In the normal phase with work owed, start a view change. In
   * a view change, move on to the next view only if a quorum joined this one (so its primary
   * had its chance and failed); a replica alone keeps asking for the same view instead of racing
   * ahead where nobody follows (the others' own timers bring them to the same view).
   */
  const onViewTimer = (): void => {
    if (phase === "normal") {
      if (!(pendingWork || unfinished().length > 0)) return;
      // This node is still executing a block the primary proposed in this view: the delay is
      // ours, not the primary's (S0.4: a slow node must not take itself for a dead primary; on
      // an overloaded machine every validator would, and view changes would feed the overload).
      // Once per block, so a block whose execution never ends (its batches cannot be fetched)
      // costs one more timeout, not liveness.
      const executing = unfinished().find(
        (s) =>
          s.accepted !== undefined &&
          s.validation.get(s.accepted.blockId) === "pending" &&
          !timerDeferredFor.has(s.accepted.blockId),
      );
      if (executing?.accepted) {
        timerDeferredFor.add(executing.accepted.blockId);
        dropOldest(timerDeferredFor, 4 * config.maxInFlight);
        refreshViewTimer(true);
        return;
      }
      startViewChange(view + 1);
      return;
    }
    // A quorum joined this view: validators asking for a later view count, they passed through
    // it (their VIEW-CHANGE for it may have been lost, and they never send it again).
    const joined = new Set<string>();
    for (const [v, senders] of viewChanges) {
      if (v >= view) for (const sender of senders.keys()) joined.add(sender);
    }
    if (joined.size >= Q) {
      startViewChange(view + 1);
      return;
    }
    if (ownViewChange) emit({ kind: "broadcast", message: ownViewChange });
    // Alone in a view change: the others may have moved on (a later view, a new validator
    // set). Probe peers for committed blocks beyond our head.
    emit({ kind: "catch-up", seq: committed.seq + 1, blockId: "" });
    refreshViewTimer(true);
  };

  // --- retransmission -----------------------------------------------------------------------

  /**
   * Re-sends this node's own messages for unfinished work, which covers lost messages; peers
   * that already finished answer stale ones with the decision (`help`). Also retries a catch-up
   * that did not reach its target.
   */
  const retransmit = (): void => {
    retransmitArmed = false;
    helped.clear();
    if (!isValidator) {
      // nothing of its own to re-send
    } else if (phase === "view-change") {
      if (ownViewChange) emit({ kind: "broadcast", message: ownViewChange });
      // Our old votes for unfinished heights make peers that already decided them answer
      // with the decision, so a node alone in a view change keeps following the chain.
      for (const s of unfinished()) {
        for (const byBlock of s.commits.values()) {
          for (const senders of byBlock.values()) {
            const own = senders.get(self);
            if (own) emit({ kind: "broadcast", message: own });
          }
        }
      }
    } else {
      for (const s of unfinished()) {
        if (s.accepted && isPrimary()) emit({ kind: "broadcast", message: s.accepted.message });
        const target = targetOf(s);
        if (target === undefined) continue;
        const ownPrepare = votesFor(s.prepares, view, target).get(self);
        if (ownPrepare) emit({ kind: "broadcast", message: ownPrepare });
        for (const byBlock of s.commits.values()) {
          const ownCommit = byBlock.get(target)?.get(self);
          if (ownCommit) emit({ kind: "broadcast", message: ownCommit });
        }
      }
      const latest = ownCheckpoints.get(
        committed.seq - (committed.seq % config.checkpointInterval),
      );
      if (latest && latest.message.type === "checkpoint" && latest.message.seq > stable.seq)
        emit({ kind: "broadcast", message: latest });
    }
    if (catchUpTarget > committed.seq)
      emit({ kind: "catch-up", seq: catchUpTarget, blockId: catchUpBlock });
    refreshRetransmit();
  };

  // --- dispatch -----------------------------------------------------------------------------

  const onMessage = (m: SignedMessage): void => {
    if (!validatorSet.has(m.sender)) return;
    const msg = m.message;
    switch (msg.type) {
      case "pre-prepare":
        onPrePrepare(m as SignedMessage & { message: typeof msg });
        return;
      case "prepare":
        onPrepare(m as SignedMessage & { message: typeof msg });
        return;
      case "commit":
        onCommit(m as SignedMessage & { message: typeof msg });
        return;
      case "checkpoint":
        recordCheckpoint(m);
        return;
      case "view-change":
        onViewChange(m as SignedMessage & { message: typeof msg });
        return;
      case "new-view":
        onNewView(m as SignedMessage & { message: typeof msg });
        return;
    }
  };

  return {
    start() {
      out = [];
      refreshViewTimer(true);
      refreshRetransmit();
      return out;
    },

    step(input) {
      out = [];
      switch (input.kind) {
        case "message":
          relayedInput = input.relayed === true;
          try {
            onMessage(input.message);
          } finally {
            relayedInput = false;
          }
          break;
        case "timer":
          if (input.timer === "view-change") {
            viewTimerArmed = false;
            onViewTimer();
          } else retransmit();
          break;
        case "built":
          onBuilt(input);
          break;
        case "validated":
          onValidated(input);
          break;
        case "committed":
          onCommitted(input.head);
          break;
        case "behind":
          // Within the pipeline a peer is normally a block or two ahead; fetch only when idle
          // (nothing in flight would bring us there) or clearly left behind.
          if (
            input.seq > committed.seq &&
            (unfinished().length === 0 || input.seq > committed.seq + config.maxInFlight)
          ) {
            fetch(input.seq, "");
          }
          break;
        case "limit":
          lastSeq = input.lastSeq;
          for (const seq of [...slots.keys()]) if (seq > lastSeq) slots.delete(seq);
          break;
        case "pending-work":
          if (pendingWork !== input.pending) {
            pendingWork = input.pending;
            refreshViewTimer(false);
          }
          tryPropose();
          break;
      }
      return out;
    },

    debugSnapshot() {
      return [...slots.values()]
        .sort((a, b) => a.seq - b.seq)
        .map((s) => ({
          seq: s.seq,
          accepted: s.accepted?.blockId.slice(0, 8),
          decided: s.decided ? `${s.decided.blockId.slice(0, 8)}@v${s.decided.view}` : undefined,
          issued: s.issued,
          validation: Object.fromEntries([...s.validation].map(([k, v]) => [k.slice(0, 8), v])),
          proposals: [...s.proposals.keys()].map((k) => k.slice(0, 8)),
          commits: Object.fromEntries(
            [...s.commits].map(([v, byBlock]) => [
              `v${v}`,
              Object.fromEntries(
                [...byBlock].map(([b, m]) => [b.slice(0, 8), [...m.keys()].join(",")]),
              ),
            ]),
          ),
        }));
    },
    status() {
      return {
        view,
        phase,
        primary: primaryOf(view),
        committed,
        stableSeq: stable.seq,
        inFlight: unfinished().length,
        viewChangeAttempts: attempts,
      };
    },
  };
}
