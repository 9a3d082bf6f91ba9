/**
 * Sawtooth's JSON rendering of its protobufs, as its REST API produces it (protobuf's
 * `MessageToDict` with proto field names and default values included, then headers decoded):
 * snake_case keys, bytes as base64, 64-bit integers (`block_num`) as decimal strings, headers
 * expanded into objects while `header_signature` stays the id. Receipts and batch statuses
 * also get the REST API's post-processing: `transaction_id`/`batch_id` become `id` and empty
 * strings are dropped (`_drop_id_prefixes`, `_drop_empty_props`).
 */

import type { BatchStatus } from "../chain/chain.js";
import { toBase64 } from "../common/bytes.js";
import { decodeBatchHeader, decodeBlockHeader, decodeTransactionHeader } from "../wire/index.js";
import type { Batch, Block, ChainEvent, Transaction, TransactionReceipt } from "../wire/types.js";

/** `TransactionHeader` as JSON. */
export interface TransactionHeaderJson {
  readonly batcher_public_key: string;
  readonly dependencies: readonly string[];
  readonly family_name: string;
  readonly family_version: string;
  readonly inputs: readonly string[];
  readonly nonce: string;
  readonly outputs: readonly string[];
  readonly payload_sha512: string;
  readonly signer_public_key: string;
}

/** `Transaction` as JSON. */
export interface TransactionJson {
  readonly header: TransactionHeaderJson;
  readonly header_signature: string;
  readonly payload: string;
}

/** `Batch` as JSON. */
export interface BatchJson {
  readonly header: {
    readonly signer_public_key: string;
    readonly transaction_ids: readonly string[];
  };
  readonly header_signature: string;
  readonly transactions: readonly TransactionJson[];
  readonly trace: boolean;
}

/** `Block` as JSON. */
export interface BlockJson {
  readonly header: {
    readonly block_num: string;
    readonly previous_block_id: string;
    readonly signer_public_key: string;
    readonly batch_ids: readonly string[];
    readonly consensus: string;
    readonly state_root_hash: string;
  };
  readonly header_signature: string;
  readonly batches: readonly BatchJson[];
}

/** `Event` as JSON (empty `data` dropped). */
export interface EventJson {
  readonly event_type: string;
  readonly attributes: readonly { readonly key: string; readonly value: string }[];
  readonly data?: string;
}

/** `TransactionReceipt` as `/receipts` serves it. */
export interface ReceiptJson {
  readonly id: string;
  readonly state_changes: readonly {
    readonly address: string;
    readonly type: "SET" | "DELETE";
    readonly value?: string;
  }[];
  readonly events: readonly EventJson[];
  readonly data: readonly string[];
}

/** A batch status as `/batch_statuses` serves it. */
export interface BatchStatusJson {
  readonly id: string;
  readonly status: BatchStatus["status"];
  readonly invalid_transactions: readonly {
    readonly id: string;
    readonly message?: string;
    readonly extended_data?: string;
  }[];
}

/** A transaction with its header decoded. */
export function renderTransaction(tx: Transaction): TransactionJson {
  const h = decodeTransactionHeader(tx.header);
  return {
    header: {
      batcher_public_key: h.batcherPublicKey,
      dependencies: [...h.dependencies],
      family_name: h.familyName,
      family_version: h.familyVersion,
      inputs: [...h.inputs],
      nonce: h.nonce,
      outputs: [...h.outputs],
      payload_sha512: h.payloadSha512,
      signer_public_key: h.signerPublicKey,
    },
    header_signature: tx.headerSignature,
    payload: toBase64(tx.payload),
  };
}

/** A batch with its header and its transactions' headers decoded. */
export function renderBatch(batch: Batch): BatchJson {
  const h = decodeBatchHeader(batch.header);
  return {
    header: { signer_public_key: h.signerPublicKey, transaction_ids: [...h.transactionIds] },
    header_signature: batch.headerSignature,
    transactions: batch.transactions.map(renderTransaction),
    trace: batch.trace,
  };
}

/** A block with every header in it decoded. */
export function renderBlock(block: Block): BlockJson {
  const h = decodeBlockHeader(block.header);
  return {
    header: {
      block_num: h.blockNum.toString(),
      previous_block_id: h.previousBlockId,
      signer_public_key: h.signerPublicKey,
      batch_ids: [...h.batchIds],
      consensus: toBase64(h.consensus),
      state_root_hash: h.stateRootHash,
    },
    header_signature: block.headerSignature,
    batches: block.batches.map(renderBatch),
  };
}

/** An event; empty data is dropped as the REST API drops empty strings. */
export function renderEvent(event: ChainEvent): EventJson {
  return {
    event_type: event.eventType,
    attributes: event.attributes.map((a) => ({ key: a.key, value: a.value })),
    ...(event.data.length > 0 ? { data: toBase64(event.data) } : {}),
  };
}

/** A receipt as `/receipts` serves it. */
export function renderReceipt(receipt: TransactionReceipt): ReceiptJson {
  return {
    id: receipt.transactionId,
    state_changes: receipt.stateChanges.map((c) => ({
      address: c.address,
      type: c.type,
      ...(c.value.length > 0 ? { value: toBase64(c.value) } : {}),
    })),
    events: receipt.events.map(renderEvent),
    data: receipt.data.map(toBase64),
  };
}

/** A batch status as `/batch_statuses` serves it. */
export function renderBatchStatus(status: BatchStatus): BatchStatusJson {
  return {
    id: status.id,
    status: status.status,
    invalid_transactions: status.invalidTransactions.map((t) => ({
      id: t.id,
      ...(t.message.length > 0 ? { message: t.message } : {}),
      ...(t.extendedData !== undefined && t.extendedData.length > 0
        ? { extended_data: toBase64(t.extendedData) }
        : {}),
    })),
  };
}
