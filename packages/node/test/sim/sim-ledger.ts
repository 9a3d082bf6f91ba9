/**
 * A simulated ledger behind the real PBFT driver. Blocks are small CBOR records
 * `[height, parentId, txs, stateRoot]` whose id is their SHA-256 (a `SimBlockFormat` can give
 * them a real node's sizes instead); a block is valid when it extends its parent by one,
 * carries at least one new non-negative transaction that is not already in its ancestry, and
 * its state root is SHA-256(parent root ‖ txs). Committed blocks and their certificates live on
 * the node's simulated disk and survive crashes; candidates and the mempool do not.
 *
 * Every commit is checked on the spot: the certificate must hold a quorum of valid COMMIT
 * signatures, the block must extend the head and be valid. Any failure is a violation reported
 * to the world, not an exception, so a run records every broken invariant.
 */
import { createHash } from "node:crypto";
import { decode, encode } from "cborg";
import type { PbftHost } from "../../src/consensus/pbft/driver.js";
import type { CommittedHead } from "../../src/consensus/pbft/machine.js";
import {
  type CommitCertificate,
  checkCertificate,
  type MessageAuthenticator,
  type Proposal,
} from "../../src/consensus/pbft/messages.js";
import type { EventQueue } from "./sim-clock.js";

/** A committed block on a simulated disk. */
export interface SimBlock {
  readonly height: number;
  readonly blockId: string;
  readonly parentId: string;
  readonly stateRoot: string;
  readonly txs: readonly number[];
  readonly payload: Uint8Array;
  readonly certificate: CommitCertificate | undefined;
}

/** What survives a crash. */
export interface SimDisk {
  readonly blocks: SimBlock[];
}

const sha = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/**
 * How a simulated chain encodes its blocks. The default is small and cheap; a benchmark that
 * counts bytes on the wire gives blocks ids and contents of a real node's sizes.
 */
export interface SimBlockFormat {
  /** The hex id of a block's payload. */
  readonly id: (payload: Uint8Array) => string;
  /**
   * Bytes a block carries besides its simulated fields (for instance a real proposal's header
   * and batch ids): covered by its id, not interpreted.
   */
  readonly body?: (height: number, parentId: string, txs: readonly number[]) => Uint8Array;
}

/** The default format: `[height, parentId, txs, stateRoot]`, id = SHA-256 in hex. */
export const COMPACT_BLOCKS: SimBlockFormat = { id: sha };

/** Genesis of a simulated chain. */
export function simGenesis(seed: number, format: SimBlockFormat = COMPACT_BLOCKS): SimBlock {
  const payload = encode([0, "", [], sha(`root-${seed}`)]);
  return {
    height: 0,
    blockId: format.id(payload),
    parentId: "",
    stateRoot: sha(`root-${seed}`),
    txs: [],
    payload,
    certificate: undefined,
  };
}

/** The state root a block must carry. */
export function nextRoot(parentRoot: string, txs: readonly number[]): string {
  return sha(`${parentRoot}|${txs.join(",")}`);
}

/** Encodes a block proposal. */
export function makeBlock(
  height: number,
  parentId: string,
  txs: readonly number[],
  stateRoot: string,
  format: SimBlockFormat = COMPACT_BLOCKS,
): Proposal {
  const payload = format.body
    ? encode([height, parentId, [...txs], stateRoot, format.body(height, parentId, txs)])
    : encode([height, parentId, [...txs], stateRoot]);
  return { blockId: format.id(payload), parentId, payload };
}

/** Decodes a payload (a format's body is skipped); undefined when malformed. */
export function readBlock(
  payload: Uint8Array,
): { height: number; parentId: string; txs: number[]; stateRoot: string } | undefined {
  try {
    const [height, parentId, txs, stateRoot] = decode(payload) as [
      unknown,
      unknown,
      unknown,
      unknown,
    ];
    if (
      typeof height !== "number" ||
      typeof parentId !== "string" ||
      !Array.isArray(txs) ||
      typeof stateRoot !== "string"
    )
      return undefined;
    if (!txs.every((t) => typeof t === "number")) return undefined;
    return { height, parentId, txs: txs as number[], stateRoot };
  } catch {
    return undefined;
  }
}

/** Collaborators of a simulated ledger. */
export interface SimLedgerOptions {
  readonly queue: EventQueue;
  readonly disk: SimDisk;
  readonly chainId: string;
  readonly validators: readonly string[];
  readonly quorum: number;
  readonly verify: MessageAuthenticator["verify"];
  /** Virtual milliseconds to execute a block. */
  readonly executeMs: number;
  /** Max transactions per block. */
  readonly maxTxs: number;
  readonly alive: () => boolean;
  readonly violation: (what: string) => void;
  readonly onCommit: (block: SimBlock) => void;
  /** Finds blocks above `height` on some peer's disk (state transfer), with a delay. */
  readonly fetchFrom: (height: number) => Promise<readonly SimBlock[]>;
  /** For a Byzantine node: build invalid blocks. */
  readonly proposeInvalid?: () => boolean;
  /** Block encoding; default `COMPACT_BLOCKS`. */
  readonly format?: SimBlockFormat;
}

/** A simulated ledger. */
export interface SimLedger extends PbftHost {
  /** Transactions gossiped to this node. */
  addTransaction(tx: number): void;
  readonly disk: SimDisk;
  /** Candidates held (to check that discards happen). */
  readonly candidateCount: number;
  /** State root of a committed head or candidate block (for adversaries forging valid blocks). */
  stateRootOf(blockId: string): string | undefined;
}

/** Creates a ledger over `disk`. */
export function createSimLedger(options: SimLedgerOptions): SimLedger {
  const { queue, disk } = options;
  const format = options.format ?? COMPACT_BLOCKS;
  const candidates = new Map<string, SimBlock>();
  const mempool = new Set<number>();
  const committedTxs = new Set<number>();
  for (const block of disk.blocks) for (const tx of block.txs) committedTxs.add(tx);
  const listeners = new Set<() => void>();
  let serial: Promise<unknown> = Promise.resolve();
  let epoch = 0;

  const head = (): SimBlock => disk.blocks[disk.blocks.length - 1] as SimBlock;
  const headOf = (b: SimBlock): CommittedHead => ({
    seq: b.height,
    blockId: b.blockId,
    stateRoot: b.stateRoot,
  });

  const blockOf = (id: string): SimBlock | undefined =>
    head().blockId === id ? head() : candidates.get(id);

  const ancestryTxs = (parent: SimBlock): Set<number> => {
    const txs = new Set<number>();
    for (
      let b: SimBlock | undefined = parent;
      b && b.height > head().height;
      b = candidates.get(b.parentId)
    )
      for (const t of b.txs) txs.add(t);
    return txs;
  };

  /** Why `proposal` is not a valid child of its parent, or undefined. */
  const invalidity = (proposal: Proposal, expectedHeight: number): string | undefined => {
    const block = readBlock(proposal.payload);
    if (!block) return "malformed payload";
    if (format.id(proposal.payload) !== proposal.blockId) return "id does not match payload";
    if (block.parentId !== proposal.parentId) return "parent mismatch";
    if (block.height !== expectedHeight) return "wrong height";
    const parent = blockOf(block.parentId);
    if (!parent) return "unknown parent";
    if (parent.height + 1 !== block.height) return "height does not follow parent";
    if (block.txs.length === 0) return "empty block";
    const seen = ancestryTxs(parent);
    for (const tx of block.txs) {
      if (tx < 0) return "poison transaction";
      if (committedTxs.has(tx) || seen.has(tx)) return "transaction included twice";
    }
    if (new Set(block.txs).size !== block.txs.length) return "duplicate transaction";
    if (block.stateRoot !== nextRoot(parent.stateRoot, block.txs)) return "wrong state root";
    return undefined;
  };

  const later = <T>(ms: number, value: () => T): Promise<T> =>
    new Promise((resolve) => {
      queue.schedule(ms, () => {
        if (options.alive()) resolve(value());
      });
    });

  /** Host work happens one call at a time, like a real executor. */
  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    // A crashed node's queued work never runs: its disk belongs to the restarted instance now.
    const guarded = (): Promise<T> => (options.alive() ? work() : new Promise<T>(() => {}));
    const next = serial.then(guarded, guarded);
    serial = next.catch(() => undefined);
    return next;
  };

  const notify = (): void => {
    for (const l of [...listeners]) l();
  };

  const applyCommit = (block: SimBlock): void => {
    if (!options.alive()) return;
    disk.blocks.push(block);
    for (const tx of block.txs) {
      committedTxs.add(tx);
      mempool.delete(tx);
    }
    candidates.delete(block.blockId);
    options.onCommit(block);
  };

  const certificateProblem = (
    certificate: CommitCertificate | undefined,
    height: number,
    blockId: string,
  ): string | undefined => {
    if (!certificate) return "no certificate";
    return checkCertificate(
      certificate,
      { seq: height, blockId },
      {
        chainId: options.chainId,
        validators: options.validators,
        quorum: options.quorum,
        verify: options.verify,
      },
    );
  };

  return {
    disk,
    get candidateCount() {
      return candidates.size;
    },

    stateRootOf: (blockId) => blockOf(blockId)?.stateRoot,

    addTransaction(tx) {
      if (committedTxs.has(tx) || mempool.has(tx)) return;
      mempool.add(tx);
      notify();
    },

    head: () => headOf(head()),

    build(_view, seq, parentId) {
      const myEpoch = epoch;
      return serialised(() =>
        later(options.executeMs, () => {
          const parent = blockOf(parentId);
          if (!parent || myEpoch !== epoch) return undefined;
          const used = ancestryTxs(parent);
          const txs = [...mempool]
            .filter((t) => !used.has(t) && !committedTxs.has(t))
            .sort((a, b) => a - b)
            .slice(0, options.maxTxs);
          if (options.proposeInvalid?.()) txs.push(-1);
          if (txs.length === 0) return undefined;
          const proposal = makeBlock(seq, parentId, txs, nextRoot(parent.stateRoot, txs), format);
          candidates.set(proposal.blockId, {
            height: seq,
            blockId: proposal.blockId,
            parentId,
            stateRoot: nextRoot(parent.stateRoot, txs),
            txs,
            payload: proposal.payload,
            certificate: undefined,
          });
          return proposal;
        }),
      );
    },

    validate(_view, seq, proposal) {
      return serialised(() =>
        later(options.executeMs, () => {
          if (candidates.has(proposal.blockId)) return { valid: true };
          const problem = invalidity(proposal, seq);
          if (problem) return { valid: false, reason: problem };
          const block = readBlock(proposal.payload);
          if (!block) return { valid: false, reason: "malformed" };
          candidates.set(proposal.blockId, {
            ...block,
            blockId: proposal.blockId,
            payload: proposal.payload,
            certificate: undefined,
          });
          return { valid: true };
        }),
      );
    },

    commit(seq, proposal, certificate) {
      return serialised(async () => {
        const current = head();
        // Catch-up may have committed it already: the same block again is not an error.
        if (seq <= current.height && disk.blocks[seq]?.blockId === proposal.blockId)
          return headOf(current);
        if (seq !== current.height + 1 || proposal.parentId !== current.blockId) {
          options.violation(
            `commit of ${proposal.blockId.slice(0, 8)} at ${seq} does not extend head ${current.height}`,
          );
          return headOf(current);
        }
        const certProblem = certificateProblem(certificate, seq, proposal.blockId);
        if (certProblem)
          options.violation(`commit at ${seq} with a bad certificate: ${certProblem}`);
        const problem = invalidity(proposal, seq);
        if (problem)
          options.violation(`validity: committed an invalid block at ${seq}: ${problem}`);
        const block = readBlock(proposal.payload);
        if (!block) return headOf(current);
        applyCommit({
          ...block,
          blockId: proposal.blockId,
          payload: proposal.payload,
          certificate,
        });
        notify();
        return headOf(head());
      });
    },

    discard(keep) {
      epoch++;
      const kept = new Set(keep);
      for (const id of [...candidates.keys()]) if (!kept.has(id)) candidates.delete(id);
    },

    catchUp(seq) {
      return serialised(async () => {
        const fetched = await options.fetchFrom(head().height);
        for (const block of fetched) {
          const current = head();
          if (block.height !== current.height + 1) continue;
          if (block.parentId !== current.blockId) break;
          const certProblem = certificateProblem(block.certificate, block.height, block.blockId);
          if (certProblem) break; // a bad peer; try again later
          const problem = invalidity(
            { blockId: block.blockId, parentId: block.parentId, payload: block.payload },
            block.height,
          );
          if (problem) {
            options.violation(
              `validity: a certified block at ${block.height} is invalid: ${problem}`,
            );
            break;
          }
          applyCommit(block);
        }
        if (head().height < seq) {
          // Not everything was there yet; the machine asks again.
        }
        notify();
        return headOf(head());
      });
    },

    hasPendingWork: () => [...mempool].some((t) => !committedTxs.has(t)),

    onPendingWork(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
