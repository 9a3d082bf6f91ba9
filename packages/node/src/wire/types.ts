/**
 * Sawtooth's wire objects, byte-compatible with `sawtooth-sdk`'s protobufs. Field names follow
 * protobufjs' camelCase of the proto names. Headers are carried as their original bytes:
 * signatures are over those bytes, never over a re-encoding.
 */

/** TransactionHeader (sawtooth transaction.proto). */
export interface TransactionHeader {
  readonly batcherPublicKey: string;
  readonly dependencies: readonly string[];
  readonly familyName: string;
  readonly familyVersion: string;
  readonly inputs: readonly string[];
  readonly nonce: string;
  readonly outputs: readonly string[];
  /** Hex digest of the payload: SHA-512 in the `standard` suite, SM3 in `gm`. */
  readonly payloadSha512: string;
  readonly signerPublicKey: string;
}

/** Transaction: header bytes, the signature over them (= the transaction id), payload. */
export interface Transaction {
  readonly header: Uint8Array;
  readonly headerSignature: string;
  readonly payload: Uint8Array;
}

/** BatchHeader (sawtooth batch.proto). */
export interface BatchHeader {
  readonly signerPublicKey: string;
  readonly transactionIds: readonly string[];
}

/** Batch: header bytes, signature (= batch id), transactions; `trace` asks for verbose logs. */
export interface Batch {
  readonly header: Uint8Array;
  readonly headerSignature: string;
  readonly transactions: readonly Transaction[];
  readonly trace: boolean;
}

/** BatchList, the body of `POST /batches`. */
export interface BatchList {
  readonly batches: readonly Batch[];
}

/** BlockHeader (sawtooth block.proto). `consensus` holds govchain's `ConsensusFields`. */
export interface BlockHeader {
  readonly blockNum: bigint;
  readonly previousBlockId: string;
  readonly signerPublicKey: string;
  readonly batchIds: readonly string[];
  readonly consensus: Uint8Array;
  readonly stateRootHash: string;
}

/** Block: header bytes, signature (= block id), batches. */
export interface Block {
  readonly header: Uint8Array;
  readonly headerSignature: string;
  readonly batches: readonly Batch[];
}

/** A transaction whose header is decoded and whose structure has been checked. */
export interface ParsedTransaction {
  /** = headerSignature. */
  readonly id: string;
  readonly header: TransactionHeader;
  readonly raw: Transaction;
}

/** A batch whose header and transactions are decoded and structurally valid. */
export interface ParsedBatch {
  /** = headerSignature. */
  readonly id: string;
  readonly header: BatchHeader;
  readonly transactions: readonly ParsedTransaction[];
  readonly raw: Batch;
  /** Encoded size of the batch in bytes (for mempool and block limits). */
  readonly size: number;
}

/** A block whose header is decoded. */
export interface ParsedBlock {
  /** = headerSignature. */
  readonly id: string;
  readonly header: BlockHeader;
  readonly consensus: ConsensusFields;
  readonly batches: readonly ParsedBatch[];
  readonly raw: Block;
}

/**
 * govchain's contents of `BlockHeader.consensus`: the block time (the only clock a transaction
 * family sees) and the engine's own data (PBFT view and sequence, for example).
 */
export interface ConsensusFields {
  /** Name of the engine that produced the block: `genesis`, `devmode`, `pbft`. */
  readonly engine: string;
  /** Block time, milliseconds since the Unix epoch, set by the proposer. */
  readonly timestampMs: bigint;
  /** Engine-specific bytes. */
  readonly data: Uint8Array;
}

/** StateChange of a receipt (sawtooth transaction_receipt.proto). */
export interface ReceiptStateChange {
  readonly address: string;
  readonly value: Uint8Array;
  readonly type: "SET" | "DELETE";
}

/** Event (sawtooth events.proto). */
export interface ChainEvent {
  readonly eventType: string;
  readonly attributes: readonly { readonly key: string; readonly value: string }[];
  readonly data: Uint8Array;
}

/** TransactionReceipt (sawtooth transaction_receipt.proto). */
export interface TransactionReceipt {
  readonly transactionId: string;
  readonly stateChanges: readonly ReceiptStateChange[];
  readonly events: readonly ChainEvent[];
  readonly data: readonly Uint8Array[];
}

/** An entry of a Setting (sawtooth setting.proto `Setting.Entry`). */
export interface SettingEntry {
  readonly key: string;
  readonly value: string;
}

/** Setting (sawtooth setting.proto): the value stored at a settings address; several entries mean a key collision. */
export interface Setting {
  readonly entries: readonly SettingEntry[];
}

/** `SettingsPayload.Action` without its `ACTION_UNSET` (an unset action does not decode). */
export type SettingsAction = "PROPOSE" | "VOTE";

/** SettingsPayload (sawtooth settings.proto): the payload of a `sawtooth_settings` transaction. */
export interface SettingsPayload {
  readonly action: SettingsAction;
  /** An encoded `SettingProposal` (PROPOSE) or `SettingVote` (VOTE). */
  readonly data: Uint8Array;
}

/** SettingProposal (sawtooth settings.proto). */
export interface SettingProposal {
  readonly setting: string;
  readonly value: string;
  readonly nonce: string;
}

/** `SettingVote.Vote` without its `VOTE_UNSET` (an unset vote does not decode). */
export type SettingVoteValue = "ACCEPT" | "REJECT";

/** SettingVote (sawtooth settings.proto). */
export interface SettingVote {
  readonly proposalId: string;
  readonly vote: SettingVoteValue;
}

/** `SettingCandidate.VoteRecord` (sawtooth settings.proto). */
export interface SettingVoteRecord {
  readonly publicKey: string;
  readonly vote: SettingVoteValue;
}

/** SettingCandidate (sawtooth settings.proto): a proposal under vote with its votes so far. */
export interface SettingCandidate {
  readonly proposalId: string;
  readonly proposal: SettingProposal;
  readonly votes: readonly SettingVoteRecord[];
}

/** SettingCandidates (sawtooth settings.proto): all proposals under vote. */
export interface SettingCandidates {
  readonly candidates: readonly SettingCandidate[];
}
