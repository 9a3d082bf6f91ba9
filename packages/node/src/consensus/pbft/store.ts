/**
 * Durable PBFT records over the node's KvStore (prefix CONSENSUS): this node's votes, its view,
 * and its stable checkpoint with the quorum proving it. Votes are written — synced — before the
 * message that carries them is sent, so a restarted validator never votes twice differently for
 * one (view, sequence).
 */
import { decode, encode } from "cborg";
import type { KvOperation, KvStore } from "../../storage/interface.js";
import { KeyPrefix, prefixedKey, prefixRange } from "../../storage/prefixes.js";
import type { PbftRecord, PbftRecovery } from "./machine.js";
import type { CheckpointProof, SignedMessage } from "./messages.js";
import { encodeEnvelope, type OpenContext, openEnvelope } from "./messages.js";

const VOTE = 0x01;
const VIEW = 0x02;
const STABLE = 0x03;

const TYPES = ["pre-prepare", "prepare", "commit"] as const;

function voteKey(type: (typeof TYPES)[number], view: number, seq: number): Uint8Array {
  // seq first so everything below a checkpoint is one key range.
  const suffix = new Uint8Array(1 + 8 + 8 + 1);
  const dv = new DataView(suffix.buffer);
  suffix[0] = VOTE;
  dv.setBigUint64(1, BigInt(seq));
  dv.setBigUint64(9, BigInt(view));
  suffix[17] = TYPES.indexOf(type);
  return prefixedKey(KeyPrefix.CONSENSUS, suffix);
}

const VIEW_KEY = prefixedKey(KeyPrefix.CONSENSUS, Uint8Array.of(VIEW));
const STABLE_KEY = prefixedKey(KeyPrefix.CONSENSUS, Uint8Array.of(STABLE));

/** Reads and writes PBFT records. */
export interface PbftStore {
  /** What a restarting node needs; `context` verifies the stored checkpoint proof again. */
  load(context: OpenContext): Promise<PbftRecovery>;
  /** Writes records in one synced, atomic write. */
  append(records: readonly PbftRecord[]): Promise<void>;
}

/** A PBFT store over `store`. */
export function createPbftStore(store: KvStore): PbftStore {
  return {
    async load(context) {
      const viewBytes = await store.get(VIEW_KEY);
      const view = viewBytes ? (decode(viewBytes) as number) : 0;
      let stable: CheckpointProof | undefined;
      const stableBytes = await store.get(STABLE_KEY);
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
      const votes: Extract<PbftRecord, { kind: "vote" }>[] = [];
      const range = prefixRange(KeyPrefix.CONSENSUS, Uint8Array.of(VOTE));
      for await (const [key, value] of store.iterate(range)) {
        const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
        const seq = Number(dv.getBigUint64(2));
        const voteView = Number(dv.getBigUint64(10));
        const type = TYPES[key[18] ?? 0] ?? "prepare";
        votes.push({ kind: "vote", type, view: voteView, seq, blockId: decode(value) as string });
      }
      return { view, votes, ...(stable ? { stable } : {}) };
    },

    async append(records) {
      const ops: KvOperation[] = [];
      for (const record of records) {
        if (record.kind === "vote") {
          ops.push({
            type: "put",
            key: voteKey(record.type, record.view, record.seq),
            value: encode(record.blockId),
          });
        } else if (record.kind === "view") {
          ops.push({ type: "put", key: VIEW_KEY, value: encode(record.view) });
        } else {
          const cp = record.checkpoint;
          ops.push({
            type: "put",
            key: STABLE_KEY,
            value: encode([cp.seq, cp.blockId, cp.stateRoot, cp.proof.map(encodeEnvelope)]),
          });
          // Votes at or below a stable checkpoint can never matter again.
          const below = voteKey("pre-prepare", 0, cp.seq + 1);
          const range = prefixRange(KeyPrefix.CONSENSUS, Uint8Array.of(VOTE));
          for await (const [key] of store.iterate({ gte: range.gte, lt: below }))
            ops.push({ type: "del", key });
        }
      }
      if (ops.length > 0) await store.write(ops, { sync: true });
    },
  };
}
