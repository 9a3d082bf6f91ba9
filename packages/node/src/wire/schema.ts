/**
 * govchain's protobuf schema of Sawtooth's wire objects, written as a protobufjs JSON descriptor
 * (no `.proto` files, no code generation). Message names and field numbers are Sawtooth's
 * (transaction.proto, batch.proto, block.proto, transaction_receipt.proto, events.proto,
 * setting.proto, settings.proto) because the bytes must match what Sawtooth clients produce;
 * field names are the camelCase of Sawtooth's. The JSON form gives proto3 semantics: scalar
 * defaults are omitted on encode, repeated scalars are packed, exactly as Sawtooth's Python and
 * Rust validators encode. `ConsensusFields` is govchain's own message, carried opaquely in
 * `BlockHeader.consensus`.
 */
import { type INamespace, Root, type Type } from "protobufjs";

const repeated = "repeated";

/** The schema, as a protobufjs JSON namespace. */
export const WIRE_SCHEMA: INamespace = {
  nested: {
    TransactionHeader: {
      fields: {
        batcherPublicKey: { type: "string", id: 1 },
        dependencies: { rule: repeated, type: "string", id: 2 },
        familyName: { type: "string", id: 3 },
        familyVersion: { type: "string", id: 4 },
        inputs: { rule: repeated, type: "string", id: 5 },
        nonce: { type: "string", id: 6 },
        outputs: { rule: repeated, type: "string", id: 7 },
        // Field 8 was Sawtooth's removed `payload_encoding`; it stays unused.
        payloadSha512: { type: "string", id: 9 },
        signerPublicKey: { type: "string", id: 10 },
      },
    },
    Transaction: {
      fields: {
        header: { type: "bytes", id: 1 },
        headerSignature: { type: "string", id: 2 },
        payload: { type: "bytes", id: 3 },
      },
    },
    TransactionList: {
      fields: { transactions: { rule: repeated, type: "Transaction", id: 1 } },
    },
    BatchHeader: {
      fields: {
        signerPublicKey: { type: "string", id: 1 },
        transactionIds: { rule: repeated, type: "string", id: 2 },
      },
    },
    Batch: {
      fields: {
        header: { type: "bytes", id: 1 },
        headerSignature: { type: "string", id: 2 },
        transactions: { rule: repeated, type: "Transaction", id: 3 },
        trace: { type: "bool", id: 4 },
      },
    },
    BatchList: {
      fields: { batches: { rule: repeated, type: "Batch", id: 1 } },
    },
    BlockHeader: {
      fields: {
        blockNum: { type: "uint64", id: 1 },
        previousBlockId: { type: "string", id: 2 },
        signerPublicKey: { type: "string", id: 3 },
        batchIds: { rule: repeated, type: "string", id: 4 },
        consensus: { type: "bytes", id: 5 },
        stateRootHash: { type: "string", id: 6 },
      },
    },
    Block: {
      fields: {
        header: { type: "bytes", id: 1 },
        headerSignature: { type: "string", id: 2 },
        batches: { rule: repeated, type: "Batch", id: 3 },
      },
    },
    ConsensusFields: {
      fields: {
        engine: { type: "string", id: 1 },
        timestampMs: { type: "uint64", id: 2 },
        data: { type: "bytes", id: 3 },
      },
    },
    StateChange: {
      fields: {
        address: { type: "string", id: 1 },
        value: { type: "bytes", id: 2 },
        type: { type: "StateChange.Type", id: 3 },
      },
      nested: {
        Type: { values: { TYPE_UNSET: 0, SET: 1, DELETE: 2 } },
      },
    },
    StateChangeList: {
      fields: { stateChanges: { rule: repeated, type: "StateChange", id: 1 } },
    },
    Event: {
      fields: {
        eventType: { type: "string", id: 1 },
        attributes: { rule: repeated, type: "Event.Attribute", id: 2 },
        data: { type: "bytes", id: 3 },
      },
      nested: {
        Attribute: {
          fields: {
            key: { type: "string", id: 1 },
            value: { type: "string", id: 2 },
          },
        },
      },
    },
    EventList: {
      fields: { events: { rule: repeated, type: "Event", id: 1 } },
    },
    TransactionReceipt: {
      fields: {
        stateChanges: { rule: repeated, type: "StateChange", id: 1 },
        events: { rule: repeated, type: "Event", id: 2 },
        data: { rule: repeated, type: "bytes", id: 3 },
        transactionId: { type: "string", id: 4 },
      },
    },
    Setting: {
      fields: { entries: { rule: repeated, type: "Setting.Entry", id: 1 } },
      nested: {
        Entry: {
          fields: {
            key: { type: "string", id: 1 },
            value: { type: "string", id: 2 },
          },
        },
      },
    },
    SettingsPayload: {
      fields: {
        action: { type: "SettingsPayload.Action", id: 1 },
        data: { type: "bytes", id: 2 },
      },
      nested: {
        Action: { values: { ACTION_UNSET: 0, PROPOSE: 1, VOTE: 2 } },
      },
    },
    SettingProposal: {
      fields: {
        setting: { type: "string", id: 1 },
        value: { type: "string", id: 2 },
        nonce: { type: "string", id: 3 },
      },
    },
    SettingVote: {
      fields: {
        proposalId: { type: "string", id: 1 },
        vote: { type: "SettingVote.Vote", id: 2 },
      },
      nested: {
        Vote: { values: { VOTE_UNSET: 0, ACCEPT: 1, REJECT: 2 } },
      },
    },
    SettingCandidate: {
      fields: {
        proposalId: { type: "string", id: 1 },
        proposal: { type: "SettingProposal", id: 2 },
        votes: { rule: repeated, type: "SettingCandidate.VoteRecord", id: 3 },
      },
      nested: {
        VoteRecord: {
          fields: {
            publicKey: { type: "string", id: 1 },
            vote: { type: "SettingVote.Vote", id: 2 },
          },
        },
      },
    },
    SettingCandidates: {
      fields: { candidates: { rule: repeated, type: "SettingCandidate", id: 1 } },
    },
  },
};

/** Names of the top-level messages of `WIRE_SCHEMA`. */
export type WireMessageType =
  | "TransactionHeader"
  | "Transaction"
  | "TransactionList"
  | "BatchHeader"
  | "Batch"
  | "BatchList"
  | "BlockHeader"
  | "Block"
  | "ConsensusFields"
  | "StateChange"
  | "StateChangeList"
  | "Event"
  | "EventList"
  | "TransactionReceipt"
  | "Setting"
  | "SettingsPayload"
  | "SettingProposal"
  | "SettingVote"
  | "SettingCandidate"
  | "SettingCandidates";

const root = Root.fromJSON(WIRE_SCHEMA);
const types = new Map<WireMessageType, Type>();

/**
 * The reflected protobufjs type of a message. Types are looked up once and cached; protobufjs
 * generates each type's encoder and decoder on first use.
 */
export function wireType(name: WireMessageType): Type {
  let type = types.get(name);
  if (type === undefined) {
    type = root.lookupType(name);
    types.set(name, type);
  }
  return type;
}
