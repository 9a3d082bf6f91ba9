/**
 * The wire format: Sawtooth's transactions, batches, blocks, receipts, events and settings
 * messages, byte-compatible with Sawtooth clients (`sawtooth-sdk`, Python SDK, `sawset`), plus
 * govchain's `ConsensusFields` inside `BlockHeader.consensus`.
 *
 * - codecs (`encodeX` / `decodeX`) over a protobufjs schema of our own (`schema.ts`); decoding
 *   failures are `WireValidationError`s with code `UNDECODABLE`;
 * - validation of submitted batches and of blocks (`parseBatchList`, `parseBatch`, `parseBlock`)
 *   with size limits (`WireLimits`) and separable signature checks (`verifyBatchSignatures`);
 * - builders for clients (`createTransaction`, `createBatch`, `createBlockHeader`, `createBlock`).
 *
 * Header bytes are never re-encoded: signatures cover the bytes as received. See
 * docs/adr/0004-wire-format.md.
 */
export * from "./block.js";
export * from "./builders.js";
// `toBatch` / `toBlock` map protobufjs messages and stay internal.
export {
  decodeBatch,
  decodeBatchHeader,
  decodeBatchList,
  decodeBlock,
  decodeBlockHeader,
  decodeConsensusFields,
  decodeTransaction,
  decodeTransactionHeader,
  decodeTransactionList,
  encodeBatch,
  encodeBatchHeader,
  encodeBatchList,
  encodeBlock,
  encodeBlockHeader,
  encodeConsensusFields,
  encodeTransaction,
  encodeTransactionHeader,
  encodeTransactionList,
} from "./codec.js";
export {
  clipId,
  isWireValidationError,
  WIRE_ERROR_CODES,
  type WireErrorCode,
  type WireErrorContext,
  WireValidationError,
} from "./errors.js";
export {
  ADDRESS_HEX_LENGTH,
  isAddressPrefix,
  isLowerHexKey,
  isSignatureId,
  MAX_PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  STATE_ROOT_HEX_LENGTH,
} from "./format.js";
export * from "./limits.js";
export {
  batchEncodedSize,
  parseBatch,
  parseBatchList,
  transactionEncodedSize,
  verifyBatchSignatures,
  type WireParseOptions,
} from "./parse-batch.js";
export * from "./receipt-codec.js";
export { WIRE_SCHEMA, type WireMessageType, wireType } from "./schema.js";
export * from "./settings-codec.js";
export type * from "./types.js";
