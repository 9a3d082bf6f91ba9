/**
 * Durable PBFT records over the node's KvStore (prefix CONSENSUS): this node's votes, its view,
 * and its stable checkpoint with the quorum proving it. Votes are written — synced — before the
 * message that carries them is sent, so a restarted validator never votes twice differently for
 * one (view, sequence).
 *
 * Keys: CONSENSUS ‖ epoch (4 bytes) ‖ record type ‖ …, so each validator-set epoch has its own
 * view, stable checkpoint and votes (views restart at 0 in a new epoch).
 */
import { decode, encode } from "cborg";
import type { KvOperation, KvStore } from "../../storage/interface.js";
import { KeyPrefix, prefixedKey, prefixRange } from "../../storage/prefixes.js";
import type { PbftRecord, PbftRecovery } from "./machine.js";
import type { CheckpointProof, OpenContext, SignedMessage } from "./messages.js";
import { encodeEnvelope, openEnvelope } from "./messages.js";

const VOTE = 0x01;
const VIEW = 0x02;
const STABLE = 0x03;

const TYPES = ["pre-prepare", "prepare", "commit"] as const;

/** Where a vote key's own fields start: after the prefix byte, the epoch and the record type. */
const VOTE_FIELDS = 1 + 4 + 1;

function epochSuffix(epoch: number, tail: Uint8Array): Uint8Array {
  const suffix = new Uint8Array(4 + tail.length);
  new DataView(suffix.buffer).setUint32(0, epoch);
  suffix.set(tail, 4);
  return suffix;
}

function voteKey(
  epoch: number,
  type: (typeof TYPES)[number],
  view: number,
  seq: number,
): Uint8Array {
  // seq first so everything below a checkpoint is one key range.
  const tail = new Uint8Array(1 + 8 + 8 + 1);
  const dv = new DataView(tail.buffer);
  tail[0] = VOTE;
  dv.setBigUint64(1, BigInt(seq));
  dv.setBigUint64(9, BigInt(view));
  tail[17] = TYPES.indexOf(type);
  return prefixedKey(KeyPrefix.CONSENSUS, epochSuffix(epoch, tail));
}

/** Reads and writes PBFT records. */
export interface PbftStore {
  /** What a restarting node needs; `context` verifies the stored checkpoint proof again. */
  load(context: OpenContext): Promise<PbftRecovery>;
  /** Writes records in one synced, atomic write. */
  append(records: readonly PbftRecord[]): Promise<void>;
}

/** A PBFT store over `store` for validator-set epoch `epoch` (0 for genesis). */
export function createPbftStore(store: KvStore, epoch = 0): PbftStore {
  const viewKey = prefixedKey(KeyPrefix.CONSENSUS, epochSuffix(epoch, Uint8Array.of(VIEW)));
  const stableKey = prefixedKey(KeyPrefix.CONSENSUS, epochSuffix(epoch, Uint8Array.of(STABLE)));
  const votes = prefixRange(KeyPrefix.CONSENSUS, epochSuffix(epoch, Uint8Array.of(VOTE)));

  return {
    async load(context) {
      const viewBytes = await store.get(viewKey);
      const view = viewBytes ? (decode(viewBytes) as number) : 0;
      let stable: CheckpointProof | undefined;
      const stableBytes = await store.get(stableKey);
      if (stableBytes) {
        const [seq, blockId, stateRoot, proof] = decode(stableBytes) as [
          number,
          string,
          string,
          Uint8Array[],
        ];
        stable = {
          seq,
          blockId,
          stateRoot,
          proof: proof.map((p): SignedMessage => openEnvelope(p, context)),
        };
      }
      const recovered: Extract<PbftRecord, { kind: "vote" }>[] = [];
      for await (const [key, value] of store.iterate(votes)) {
        const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
        const seq = Number(dv.getBigUint64(VOTE_FIELDS));
        const voteView = Number(dv.getBigUint64(VOTE_FIELDS + 8));
        const type = TYPES[key[VOTE_FIELDS + 16] ?? 0] ?? "prepare";
        recovered.push({
          kind: "vote",
          type,
          view: voteView,
          seq,
          blockId: decode(value) as string,
        });
      }
      return { view, votes: recovered, ...(stable ? { stable } : {}) };
    },

    async append(records) {
      const ops: KvOperation[] = [];
      for (const record of records) {
        if (record.kind === "vote") {
          ops.push({
            type: "put",
            key: voteKey(epoch, record.type, record.view, record.seq),
            value: encode(record.blockId),
          });
        } else if (record.kind === "view") {
          ops.push({ type: "put", key: viewKey, value: encode(record.view) });
        } else {
          const cp = record.checkpoint;
          ops.push({
            type: "put",
            key: stableKey,
            value: encode([cp.seq, cp.blockId, cp.stateRoot, cp.proof.map(encodeEnvelope)]),
          });
          // Votes at or below a stable checkpoint can never matter again.
          const below = voteKey(epoch, "pre-prepare", 0, cp.seq + 1);
          for await (const [key] of store.iterate({ gte: votes.gte, lt: below }))
            ops.push({ type: "del", key });
        }
      }
      if (ops.length > 0) await store.write(ops, { sync: true });
    },
  };
}
