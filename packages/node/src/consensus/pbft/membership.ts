/**
 * Membership epochs. Genesis lists the validators and observers; the administrators change
 * them by voting the setting `govchain.consensus.members` (JSON). A change committed in block h
 * takes effect at a checkpoint boundary: the first multiple of the checkpoint interval that is
 * at least h + maxInFlight — far enough ahead that no correct primary has proposed beyond it
 * when h commits — and every block after that boundary is ordered by the new set, an epoch of
 * its own. Epochs are numbered; an epoch's messages and certificates are signed under a domain
 * naming it, so nothing of one set can pass in another.
 */
import { decode, encode } from "cborg";
import type { Member } from "../../families/settings/members.js";
import {
  MEMBERS_SETTING as MEMBERS_SETTING_KEY,
  parseMembership as parseMembershipValue,
} from "../../families/settings/members.js";
import { KeyPrefix, prefixedKey } from "../../storage/prefixes.js";

export { MEMBERS_SETTING, type Member, parseMembership } from "../../families/settings/members.js";

/** Where a node keeps its validator-set history (written with the block that changes it). */
export const EPOCHS_KEY = prefixedKey(KeyPrefix.META, "pbft-epochs");

/** The validators and observers of one epoch, and the blocks it orders. */
export interface Epoch {
  readonly number: number;
  /** First block height ordered by this set (1 for the genesis epoch). */
  readonly firstSeq: number;
  readonly validators: readonly Member[];
  readonly observers: readonly Member[];
}

/** The last block of the current set when a change commits at `height`. */
export function epochBoundary(
  height: number,
  checkpointInterval: number,
  maxInFlight: number,
): number {
  const earliest = height + maxInFlight;
  return Math.ceil(earliest / checkpointInterval) * checkpointInterval;
}

/** The signing domain of an epoch: the chain id, plus the epoch number after the first. */
export function epochDomain(chainId: string, epoch: number): string {
  return epoch === 0 ? chainId : `${chainId}/epoch-${epoch}`;
}

/** The epoch that orders block `seq`. */
export function epochAt(history: readonly Epoch[], seq: number): Epoch {
  let found = history[0] as Epoch;
  for (const epoch of history) if (epoch.firstSeq <= seq) found = epoch;
  return found;
}

/** Encodes an epoch history (stored with the block that schedules a change). */
export function encodeHistory(history: readonly Epoch[]): Uint8Array {
  return encode(
    history.map((e) => [
      e.number,
      e.firstSeq,
      e.validators.map(memberTuple),
      e.observers.map(memberTuple),
    ]),
  );
}

/** Decodes an epoch history. */
export function decodeHistory(bytes: Uint8Array): Epoch[] {
  const raw = decode(bytes) as [
    number,
    number,
    [string, string, string][],
    [string, string, string][],
  ][];
  return raw.map(([number, firstSeq, validators, observers]) => ({
    number,
    firstSeq,
    validators: validators.map(fromTuple),
    observers: observers.map(fromTuple),
  }));
}

function memberTuple(m: Member): [string, string, string] {
  return [m.id, m.publicKey, m.endpoint ?? ""];
}

function fromTuple([id, publicKey, endpoint]: [string, string, string]): Member {
  return { id, publicKey, ...(endpoint ? { endpoint } : {}) };
}

/** The epochs known to a node, persisted with the block that scheduled the latest change. */
export interface EpochBook {
  history(): readonly Epoch[];
  /** The epoch that orders block `seq`. */
  at(seq: number): Epoch;
  /** The epoch after `epoch`, if one is scheduled. */
  next(epoch: Epoch): Epoch | undefined;
  /**
   * The history after committing block `height` whose transactions emitted `events`; undefined
   * when the block changes nothing. `readMembers` reads the members setting after the block.
   */
  planFor(
    height: number,
    events: readonly {
      readonly eventType: string;
      readonly attributes: readonly { key: string; value: string }[];
    }[],
    readMembers: () => Promise<string | undefined>,
  ): Promise<Epoch[] | undefined>;
  /** Adopts a planned history once its block is durably committed. */
  adopt(history: readonly Epoch[]): void;
  /** Subscribes to adopted changes. */
  onChange(listener: (history: readonly Epoch[]) => void): () => void;
}

/** Options of `createEpochBook`. */
export interface EpochBookOptions {
  readonly genesis: {
    readonly validators: readonly Member[];
    readonly observers: readonly Member[];
  };
  /** History read from the store, if any. */
  readonly stored?: readonly Epoch[];
  readonly checkpointInterval: number;
  readonly maxInFlight: number;
}

/** Creates the book. */
export function createEpochBook(options: EpochBookOptions): EpochBook {
  let history: Epoch[] = options.stored?.length
    ? [...options.stored]
    : [
        {
          number: 0,
          firstSeq: 1,
          validators: options.genesis.validators,
          observers: options.genesis.observers,
        },
      ];
  const listeners = new Set<(h: readonly Epoch[]) => void>();

  return {
    history: () => history,
    at: (seq) => epochAt(history, seq),
    next: (epoch) => history.find((e) => e.number === epoch.number + 1),
    async planFor(height, events, readMembers) {
      const changed = events.some(
        (e) =>
          e.eventType === "settings/update" &&
          e.attributes.some((a) => a.key === "updated" && a.value === MEMBERS_SETTING_KEY),
      );
      if (!changed) return undefined;
      const value = await readMembers();
      if (value === undefined) return undefined;
      const parsed = parseMembershipValue(value);
      if (typeof parsed === "string") return undefined; // validated when voted; defensive only
      const firstSeq = epochBoundary(height, options.checkpointInterval, options.maxInFlight) + 1;
      // A change not yet in force is replaced by a later one (same number, later boundary).
      const settled = history.filter((e) => e.firstSeq <= height);
      const last = settled[settled.length - 1] as Epoch;
      return [
        ...settled,
        {
          number: last.number + 1,
          firstSeq,
          validators: parsed.validators,
          observers: parsed.observers,
        },
      ];
    },
    adopt(next) {
      history = [...next];
      for (const listener of [...listeners]) listener(history);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
