/**
 * Encoders and decoders of Sawtooth's receipt messages: `TransactionReceipt`, `StateChange(List)`
 * and `Event(List)`, as served by `/receipts` and sent to event subscribers. A `StateChange`
 * whose type is `TYPE_UNSET` or an unknown number does not decode: a change that is neither SET
 * nor DELETE can be neither applied nor shown.
 */
import {
  decodeFields,
  encodeFields,
  enumNumber,
  type Fields,
  readBytes,
  readBytesList,
  readEnum,
  readMessages,
  readString,
  undecodable,
} from "./proto.js";
import type { ChainEvent, ReceiptStateChange, TransactionReceipt } from "./types.js";

const STATE_CHANGE_TYPES = { SET: 1, DELETE: 2 } as const;

function fromStateChange(change: ReceiptStateChange): Record<string, unknown> {
  return {
    address: change.address,
    value: change.value,
    type: enumNumber(STATE_CHANGE_TYPES, change.type, "StateChange"),
  };
}

function toStateChange(m: Fields): ReceiptStateChange {
  const type = readEnum(m, "type");
  if (type !== STATE_CHANGE_TYPES.SET && type !== STATE_CHANGE_TYPES.DELETE) {
    throw undecodable("StateChange", undefined, `type ${type} is neither SET nor DELETE`);
  }
  return {
    address: readString(m, "address"),
    value: readBytes(m, "value"),
    type: type === STATE_CHANGE_TYPES.SET ? "SET" : "DELETE",
  };
}

function toEvent(m: Fields): ChainEvent {
  return {
    eventType: readString(m, "eventType"),
    attributes: readMessages(m, "attributes").map((a) => ({
      key: readString(a, "key"),
      value: readString(a, "value"),
    })),
    data: readBytes(m, "data"),
  };
}

/** Encodes a `StateChange`. */
export function encodeStateChange(change: ReceiptStateChange): Uint8Array {
  return encodeFields("StateChange", fromStateChange(change));
}

/** Decodes a `StateChange`; throws `UNDECODABLE` (also for an unset or unknown type). */
export function decodeStateChange(bytes: Uint8Array): ReceiptStateChange {
  return toStateChange(decodeFields("StateChange", bytes));
}

/** Encodes a `StateChangeList`. */
export function encodeStateChangeList(changes: readonly ReceiptStateChange[]): Uint8Array {
  return encodeFields("StateChangeList", { stateChanges: changes.map(fromStateChange) });
}

/** Decodes a `StateChangeList`; throws `UNDECODABLE`. */
export function decodeStateChangeList(bytes: Uint8Array): ReceiptStateChange[] {
  return readMessages(decodeFields("StateChangeList", bytes), "stateChanges").map(toStateChange);
}

/** Encodes an `Event`. */
export function encodeEvent(event: ChainEvent): Uint8Array {
  return encodeFields("Event", event);
}

/** Decodes an `Event`; throws `UNDECODABLE`. */
export function decodeEvent(bytes: Uint8Array): ChainEvent {
  return toEvent(decodeFields("Event", bytes));
}

/** Encodes an `EventList`. */
export function encodeEventList(events: readonly ChainEvent[]): Uint8Array {
  return encodeFields("EventList", { events });
}

/** Decodes an `EventList`; throws `UNDECODABLE`. */
export function decodeEventList(bytes: Uint8Array): ChainEvent[] {
  return readMessages(decodeFields("EventList", bytes), "events").map(toEvent);
}

/** Encodes a `TransactionReceipt`. */
export function encodeTransactionReceipt(receipt: TransactionReceipt): Uint8Array {
  return encodeFields("TransactionReceipt", {
    stateChanges: receipt.stateChanges.map(fromStateChange),
    events: receipt.events,
    data: receipt.data,
    transactionId: receipt.transactionId,
  });
}

/** Decodes a `TransactionReceipt`; throws `UNDECODABLE`. */
export function decodeTransactionReceipt(bytes: Uint8Array): TransactionReceipt {
  const m = decodeFields("TransactionReceipt", bytes);
  return {
    transactionId: readString(m, "transactionId"),
    stateChanges: readMessages(m, "stateChanges").map(toStateChange),
    events: readMessages(m, "events").map(toEvent),
    data: readBytesList(m, "data"),
  };
}
