/**
 * Encoders and decoders of Sawtooth's transaction, batch and block messages and of govchain's
 * `ConsensusFields`. Decoders only check the protobuf encoding (→ `UNDECODABLE`); the rules of
 * a valid batch or block live in `parse-batch.ts` and `block.ts`. Header fields of `Transaction`,
 * `Batch` and `Block` stay bytes: signatures cover those exact bytes, so they are never
 * re-encoded.
 */
import {
  decodeFields,
  encodeFields,
  type Fields,
  readBool,
  readBytes,
  readMessages,
  readString,
  readStrings,
  readUint64,
  uint64Bits,
} from "./proto.js";
import type {
  Batch,
  BatchHeader,
  BatchList,
  Block,
  BlockHeader,
  ConsensusFields,
  Transaction,
  TransactionHeader,
} from "./types.js";

/** Encodes a `TransactionHeader`. */
export function encodeTransactionHeader(header: TransactionHeader): Uint8Array {
  return encodeFields("TransactionHeader", header);
}

/** Decodes a `TransactionHeader`; throws `UNDECODABLE`. */
export function decodeTransactionHeader(bytes: Uint8Array): TransactionHeader {
  const m = decodeFields("TransactionHeader", bytes);
  return {
    batcherPublicKey: readString(m, "batcherPublicKey"),
    dependencies: readStrings(m, "dependencies"),
    familyName: readString(m, "familyName"),
    familyVersion: readString(m, "familyVersion"),
    inputs: readStrings(m, "inputs"),
    nonce: readString(m, "nonce"),
    outputs: readStrings(m, "outputs"),
    payloadSha512: readString(m, "payloadSha512"),
    signerPublicKey: readString(m, "signerPublicKey"),
  };
}

/** Encodes a `Transaction`. */
export function encodeTransaction(transaction: Transaction): Uint8Array {
  return encodeFields("Transaction", transaction);
}

function toTransaction(m: Fields): Transaction {
  return {
    header: readBytes(m, "header"),
    headerSignature: readString(m, "headerSignature"),
    payload: readBytes(m, "payload"),
  };
}

/** Decodes a `Transaction` (its header stays bytes); throws `UNDECODABLE`. */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  return toTransaction(decodeFields("Transaction", bytes));
}

/** Encodes a `TransactionList`. */
export function encodeTransactionList(transactions: readonly Transaction[]): Uint8Array {
  return encodeFields("TransactionList", { transactions });
}

/** Decodes a `TransactionList`; throws `UNDECODABLE`. */
export function decodeTransactionList(bytes: Uint8Array): Transaction[] {
  return readMessages(decodeFields("TransactionList", bytes), "transactions").map(toTransaction);
}

/** Encodes a `BatchHeader`. */
export function encodeBatchHeader(header: BatchHeader): Uint8Array {
  return encodeFields("BatchHeader", header);
}

/** Decodes a `BatchHeader`; throws `UNDECODABLE`. */
export function decodeBatchHeader(bytes: Uint8Array): BatchHeader {
  const m = decodeFields("BatchHeader", bytes);
  return {
    signerPublicKey: readString(m, "signerPublicKey"),
    transactionIds: readStrings(m, "transactionIds"),
  };
}

/** Encodes a `Batch`. */
export function encodeBatch(batch: Batch): Uint8Array {
  return encodeFields("Batch", batch);
}

/** Maps a decoded `Batch` message to the domain type. */
export function toBatch(m: Fields): Batch {
  return {
    header: readBytes(m, "header"),
    headerSignature: readString(m, "headerSignature"),
    transactions: readMessages(m, "transactions").map(toTransaction),
    trace: readBool(m, "trace"),
  };
}

/** Decodes a `Batch` (headers stay bytes); throws `UNDECODABLE`. */
export function decodeBatch(bytes: Uint8Array): Batch {
  return toBatch(decodeFields("Batch", bytes));
}

/** Encodes a `BatchList`, the body of Sawtooth's `POST /batches`. Accepts the list or its batches. */
export function encodeBatchList(list: BatchList | readonly Batch[]): Uint8Array {
  const batches = isBatchArray(list) ? list : list.batches;
  return encodeFields("BatchList", { batches });
}

function isBatchArray(list: BatchList | readonly Batch[]): list is readonly Batch[] {
  return Array.isArray(list);
}

/** Decodes a `BatchList` without validating it (see `parseBatchList`); throws `UNDECODABLE`. */
export function decodeBatchList(bytes: Uint8Array): BatchList {
  return { batches: readMessages(decodeFields("BatchList", bytes), "batches").map(toBatch) };
}

/** Encodes a `BlockHeader`; throws `UNENCODABLE` when `blockNum` is outside uint64. */
export function encodeBlockHeader(header: BlockHeader): Uint8Array {
  return encodeFields("BlockHeader", {
    ...header,
    blockNum: uint64Bits(header.blockNum, "BlockHeader", "blockNum"),
  });
}

/** Decodes a `BlockHeader` (`consensus` stays bytes; see `decodeConsensusFields`); throws `UNDECODABLE`. */
export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  const m = decodeFields("BlockHeader", bytes);
  return {
    blockNum: readUint64(m, "blockNum"),
    previousBlockId: readString(m, "previousBlockId"),
    signerPublicKey: readString(m, "signerPublicKey"),
    batchIds: readStrings(m, "batchIds"),
    consensus: readBytes(m, "consensus"),
    stateRootHash: readString(m, "stateRootHash"),
  };
}

/** Encodes a `Block`. Batches are encoded from their fields; their header bytes are kept as they are. */
export function encodeBlock(block: Block): Uint8Array {
  return encodeFields("Block", block);
}

/** Maps a decoded `Block` message to the domain type. */
export function toBlock(m: Fields): Block {
  return {
    header: readBytes(m, "header"),
    headerSignature: readString(m, "headerSignature"),
    batches: readMessages(m, "batches").map(toBatch),
  };
}

/** Decodes a `Block` without validating it (see `parseBlock`); throws `UNDECODABLE`. */
export function decodeBlock(bytes: Uint8Array): Block {
  return toBlock(decodeFields("Block", bytes));
}

/** Encodes govchain's `ConsensusFields` for `BlockHeader.consensus`; throws `UNENCODABLE` when the time is outside uint64. */
export function encodeConsensusFields(fields: ConsensusFields): Uint8Array {
  return encodeFields("ConsensusFields", {
    ...fields,
    timestampMs: uint64Bits(fields.timestampMs, "ConsensusFields", "timestampMs"),
  });
}

/** Decodes `BlockHeader.consensus`; throws `UNDECODABLE`. */
export function decodeConsensusFields(bytes: Uint8Array): ConsensusFields {
  const m = decodeFields("ConsensusFields", bytes);
  return {
    engine: readString(m, "engine"),
    timestampMs: readUint64(m, "timestampMs"),
    data: readBytes(m, "data"),
  };
}
