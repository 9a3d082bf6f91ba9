/**
 * Blocks: building, signing and validating them. A block is Sawtooth's `Block` with govchain's
 * `ConsensusFields` (engine, block time, engine data) encoded in `BlockHeader.consensus`, where
 * Sawtooth lets each consensus engine put its own bytes. Its id is the proposer's signature
 * over the header bytes, which are kept as received.
 */
import { fromHex, isLowerHexOfLength, toHex } from "../common/bytes.js";
import type { CryptoSuite, Signer } from "../crypto/interface.js";
import {
  decodeBlockHeader,
  decodeConsensusFields,
  encodeBlockHeader,
  encodeConsensusFields,
  toBlock,
} from "./codec.js";
import { clipId, failWire, type WireErrorContext, withWireContext } from "./errors.js";
import { isLowerHexKey, isSignatureId, STATE_ROOT_HEX_LENGTH } from "./format.js";
import { parseBatches, verifyBatchSignatures, type WireParseOptions } from "./parse-batch.js";
import { decodeFields, fieldLengths } from "./proto.js";
import type {
  Batch,
  Block,
  BlockHeader,
  ConsensusFields,
  ParsedBatch,
  ParsedBlock,
} from "./types.js";

/** `previous_block_id` of the genesis block (Sawtooth's `NULL_BLOCK_IDENTIFIER`). */
export const NULL_BLOCK_ID = "0000000000000000";

/** Fields of `createBlockHeader`. */
export interface BlockHeaderOptions {
  /** Height; the genesis block is 0. */
  readonly blockNum: bigint;
  /** Id of the parent block; `NULL_BLOCK_ID` at height 0. */
  readonly previousBlockId: string;
  /** Hex public key of the proposer that signs the block. */
  readonly signerPublicKey: string;
  /** Ids of the block's batches, in execution order. */
  readonly batchIds: readonly string[];
  /** Engine, block time and engine data, encoded into `BlockHeader.consensus`. */
  readonly consensus: ConsensusFields;
  /** Hex state root after executing the batches (the suite's 32-byte hash). */
  readonly stateRootHash: string;
}

function checkHeaderFields(header: BlockHeader, where: WireErrorContext): void {
  const expected = header.blockNum === 0n ? "NULL_BLOCK_ID at height 0" : "a block id";
  const validPrevious =
    header.blockNum === 0n
      ? header.previousBlockId === NULL_BLOCK_ID
      : isSignatureId(header.previousBlockId);
  if (!validPrevious)
    failWire("INVALID_PREVIOUS_BLOCK_ID", `previous_block_id is not ${expected}`, where);
  if (!isLowerHexOfLength(header.stateRootHash, STATE_ROOT_HEX_LENGTH / 2)) {
    failWire("INVALID_STATE_ROOT", "state_root_hash is not 64 lower-case hex characters", where);
  }
  const seen = new Set<string>();
  for (let i = 0; i < header.batchIds.length; i++) {
    const id = header.batchIds[i] ?? "";
    if (!isSignatureId(id))
      failWire("INVALID_BATCH_ID", `batch_ids[${i}] is not a batch id`, { ...where, index: i });
    if (seen.has(id))
      failWire("DUPLICATE_BATCH", `batch ${id} appears twice in batch_ids`, {
        ...where,
        batchId: id,
        index: i,
      });
    seen.add(id);
  }
}

/**
 * A block header with `consensus` encoded. Throws `WireValidationError` when a field has the
 * wrong form (previous id, state root, batch ids, signer key).
 */
export function createBlockHeader(options: BlockHeaderOptions): BlockHeader {
  const header: BlockHeader = {
    blockNum: options.blockNum,
    previousBlockId: options.previousBlockId,
    signerPublicKey: options.signerPublicKey,
    batchIds: [...options.batchIds],
    consensus: encodeConsensusFields(options.consensus),
    stateRootHash: options.stateRootHash,
  };
  if (!isLowerHexKey(header.signerPublicKey))
    failWire("UNSUPPORTED_KEY", "block signer_public_key is not lower-case hex", {});
  checkHeaderFields(header, {});
  return header;
}

/**
 * Encodes and signs `header` and assembles the block. `batches` must be the batches that
 * `header.batchIds` names, in that order; the signer must be the header's signer.
 */
export function createBlock(signer: Signer, header: BlockHeader, batches: readonly Batch[]): Block {
  if (signer.publicKeyHex !== header.signerPublicKey) {
    failWire(
      "UNSUPPORTED_KEY",
      "the signer's public key differs from the block header's signer_public_key",
      {},
    );
  }
  checkBatchIds(header, batches, {});
  const headerBytes = encodeBlockHeader(header);
  return {
    header: headerBytes,
    headerSignature: toHex(signer.sign(headerBytes)),
    batches: [...batches],
  };
}

function checkBatchIds(
  header: BlockHeader,
  batches: readonly Batch[],
  where: WireErrorContext,
): void {
  if (header.batchIds.length !== batches.length) {
    failWire(
      "BATCH_IDS_MISMATCH",
      `block header lists ${header.batchIds.length} batch ids but the block holds ${batches.length} batches`,
      where,
    );
  }
  for (let i = 0; i < batches.length; i++) {
    if (header.batchIds[i] !== batches[i]?.headerSignature) {
      failWire(
        "BATCH_IDS_MISMATCH",
        `block header batch_ids[${i}] differs from the id of batch ${i}`,
        { ...where, index: i },
      );
    }
  }
}

/**
 * Decodes and validates a block, given as its encoding or as a decoded `Block`: id, header
 * fields, signer key, `ConsensusFields`, batch ids against the batches, every batch as
 * `parseBatch` does (with no duplicate batch or transaction across the block), and, unless
 * `verifySignatures` is false, the block signature and all batch and transaction signatures.
 * The block must carry all of its batches.
 */
export function parseBlock(input: Block | Uint8Array, options: WireParseOptions): ParsedBlock {
  let block: Block;
  let sizes: number[] | undefined;
  if (input instanceof Uint8Array) {
    // Batch sizes come from the input, as for a batch list; see `fieldLengths`.
    sizes = fieldLengths("Block", input, 3);
    block = toBlock(decodeFields("Block", input));
  } else {
    block = input;
  }
  const { header, consensus, where } = checkBlockHeader(block, options);
  const batches = parseBatches(
    block.batches,
    sizes,
    { ...options, verifySignatures: false },
    where,
  );
  const parsed: ParsedBlock = { id: block.headerSignature, header, consensus, batches, raw: block };
  if (options.verifySignatures !== false) verifyBlockSignatures(parsed, options.suite);
  return parsed;
}

/**
 * A block from its header and batches that were already parsed and checked one by one (a
 * replica rebuilding a proposal from its mempool: `parseBatchList` or `parseBatch` checked
 * their structure and signatures when they arrived). Checks what `parseBlock` checks of the
 * header and across batches — id, header fields, signer key, `ConsensusFields`, batch ids
 * against the batches, no transaction twice in the block — without decoding the batches
 * again. Signatures are not verified here: the block signature is the caller's to check.
 */
export function assembleParsedBlock(
  headerBytes: Uint8Array,
  headerSignature: string,
  batches: readonly ParsedBatch[],
  options: Pick<WireParseOptions, "suite">,
): ParsedBlock {
  const raw: Block = { header: headerBytes, headerSignature, batches: batches.map((b) => b.raw) };
  const { header, consensus, where } = checkBlockHeader(raw, options);
  const transactionIds = new Set<string>();
  for (const [index, batch] of batches.entries()) {
    for (const tx of batch.transactions) {
      if (transactionIds.has(tx.id))
        failWire("DUPLICATE_TRANSACTION", `transaction ${tx.id} appears twice`, {
          ...where,
          batchId: clipId(batch.id),
          index,
        });
      transactionIds.add(tx.id);
    }
  }
  return { id: headerSignature, header, consensus, batches: [...batches], raw };
}

/** The header checks shared by `parseBlock` and `assembleParsedBlock`. */
function checkBlockHeader(
  block: Block,
  options: Pick<WireParseOptions, "suite">,
): { header: BlockHeader; consensus: ConsensusFields; where: WireErrorContext } {
  const id = block.headerSignature;
  const where: WireErrorContext = { blockId: clipId(id) };
  if (!isSignatureId(id))
    failWire(
      "INVALID_BLOCK_ID",
      "block header_signature is not 128 lower-case hex characters",
      where,
    );
  const header = withWireContext(() => decodeBlockHeader(block.header), where);
  if (
    !isLowerHexKey(header.signerPublicKey) ||
    options.suite.algorithmOf(fromHex(header.signerPublicKey)) === undefined
  ) {
    failWire(
      "UNSUPPORTED_KEY",
      `block signer_public_key is not a ${options.suite.id} suite public key`,
      where,
    );
  }
  checkHeaderFields(header, where);
  checkBatchIds(header, block.batches, where);
  const consensus = withWireContext(() => decodeConsensusFields(header.consensus), where);
  return { header, consensus, where };
}

/**
 * Verifies the block signature over the original header bytes (`INVALID_BLOCK_SIGNATURE`) and
 * then every batch's signatures, as `verifyBatchSignatures` does.
 */
export function verifyBlockSignatures(block: ParsedBlock, suite: CryptoSuite): void {
  const key = block.header.signerPublicKey;
  const valid =
    isLowerHexKey(key) &&
    isSignatureId(block.id) &&
    suite.verify(fromHex(key), block.raw.header, fromHex(block.id));
  if (!valid)
    failWire(
      "INVALID_BLOCK_SIGNATURE",
      "block signature does not verify against the block header",
      { blockId: block.id },
    );
  for (const batch of block.batches) verifyBatchSignatures(batch, suite);
}
