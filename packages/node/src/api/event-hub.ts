/**
 * The `/v1/events` fan-out: every committed block becomes one `block-commit` message and one
 * `event` message per family event in its receipts, serialised once and sent to every
 * subscriber whose filter matches.
 *
 * Memory per client is bounded: before each send the socket's `bufferedAmount` (bytes queued
 * but not yet written to the kernel) is checked, and a client that would exceed
 * `maxBufferedBytes` is closed with code 1008 and a reason, rather than letting a slow reader
 * make the node hold every block it missed. A client that needs everything reconnects and
 * catches up from `/blocks` and `/receipts`.
 */

import type { CommitEvent } from "../chain/chain.js";
import { toBase64 } from "../common/bytes.js";
import type { Logger } from "../common/logger.js";

/** Event type a `block-commit` message has for filtering (Sawtooth's name for it). */
export const BLOCK_COMMIT_EVENT_TYPE = "sawtooth/block-commit";

/** Close code for a subscriber whose send buffer overflowed (RFC 6455 "policy violation"). */
export const SLOW_CONSUMER_CLOSE_CODE = 1008;

/** Close code when the subscriber limit is reached (RFC 6455 "try again later"). */
export const TOO_MANY_SUBSCRIBERS_CLOSE_CODE = 1013;

/** Close code when the node shuts down (RFC 6455 "going away"). */
export const GOING_AWAY_CLOSE_CODE = 1001;

/** Sent once per committed block. */
export interface BlockCommitMessage {
  readonly type: "block-commit";
  /** Block height as a decimal string (heights are 64-bit). */
  readonly height: string;
  readonly id: string;
  readonly stateRoot: string;
  readonly batchIds: readonly string[];
  /** Batches rejected while this block was built (their status is INVALID). */
  readonly invalidBatchIds: readonly string[];
  readonly transactionCount: number;
  readonly timestampMs: number;
}

/** Sent once per family event in a committed receipt. */
export interface FamilyEventMessage {
  readonly type: "event";
  readonly eventType: string;
  readonly attributes: readonly { readonly key: string; readonly value: string }[];
  /** Base64 of the event's data (may be empty). */
  readonly data: string;
  readonly transactionId: string;
  readonly height: string;
}

/** A message of the stream. */
export type EventMessage = BlockCommitMessage | FamilyEventMessage;

/** The parts of a `ws` WebSocket the hub uses. */
export interface EventSocket {
  /** Bytes queued by `send` and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** 1 while open (the WebSocket `OPEN` state). */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A subscriber: its filter can change while it is connected. */
export interface EventSubscriber {
  /** Event type prefixes; empty means everything. */
  setFilter(prefixes: readonly string[]): void;
  /** Stops sending to it (call on socket close). */
  remove(): void;
}

/** Options of `createEventHub`. */
export interface EventHubOptions {
  readonly logger: Logger;
  /** Largest send buffer per subscriber before it is disconnected; default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /** Most subscribers at once; default 256. */
  readonly maxSubscribers?: number;
}

/** Fans committed blocks out to WebSocket subscribers. */
export interface EventHub {
  /** Number of subscribers. */
  readonly size: number;
  /** Adds a subscriber, or closes the socket and returns undefined when the hub is full. */
  add(socket: EventSocket, prefixes: readonly string[]): EventSubscriber | undefined;
  /** Sends the messages of a commit to every matching subscriber. */
  publish(event: CommitEvent): void;
  /** Closes every subscriber (node shutdown). */
  close(): void;
}

/** The messages of one commit: the block, then its events in block order. */
export function messagesOf(event: CommitEvent): EventMessage[] {
  const height = event.head.height.toString();
  const messages: EventMessage[] = [
    {
      type: "block-commit",
      height,
      id: event.head.id,
      stateRoot: event.head.stateRoot,
      batchIds: [...event.batchIds],
      invalidBatchIds: event.invalid.map((r) => r.batchId),
      transactionCount: event.receipts.length,
      timestampMs: event.head.timestampMs,
    },
  ];
  for (const receipt of event.receipts) {
    for (const e of receipt.events) {
      messages.push({
        type: "event",
        eventType: e.eventType,
        attributes: e.attributes.map((a) => ({ key: a.key, value: a.value })),
        data: toBase64(e.data),
        transactionId: receipt.transactionId,
        height,
      });
    }
  }
  return messages;
}

/** The type a filter prefix is matched against. */
export function eventTypeOf(message: EventMessage): string {
  return message.type === "block-commit" ? BLOCK_COMMIT_EVENT_TYPE : message.eventType;
}

/** True when `prefixes` lets `message` through (no prefixes: everything). */
export function matchesFilter(message: EventMessage, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return true;
  const type = eventTypeOf(message);
  return prefixes.some((p) => type.startsWith(p));
}

const OPEN = 1;

interface Subscriber {
  readonly socket: EventSocket;
  prefixes: readonly string[];
}

/** Creates an event hub. Wire `publish` to `chain.onCommit`. */
export function createEventHub(options: EventHubOptions): EventHub {
  const { logger } = options;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const maxSubscribers = options.maxSubscribers ?? 256;
  const subscribers = new Set<Subscriber>();

  const drop = (subscriber: Subscriber, code: number, reason: string): void => {
    subscribers.delete(subscriber);
    try {
      subscriber.socket.close(code, reason);
    } catch (err) {
      logger.debug("closing an event subscriber failed", { error: String(err) });
    }
  };

  return {
    get size() {
      return subscribers.size;
    },

    add(socket, prefixes) {
      if (subscribers.size >= maxSubscribers) {
        socket.close(
          TOO_MANY_SUBSCRIBERS_CLOSE_CODE,
          `too many subscribers (limit ${maxSubscribers})`,
        );
        return undefined;
      }
      const subscriber: Subscriber = { socket, prefixes: [...prefixes] };
      subscribers.add(subscriber);
      return {
        setFilter(next) {
          subscriber.prefixes = [...next];
        },
        remove() {
          subscribers.delete(subscriber);
        },
      };
    },

    publish(event) {
      if (subscribers.size === 0) return;
      const messages = messagesOf(event).map((message) => ({
        message,
        text: JSON.stringify(message),
      }));
      for (const subscriber of [...subscribers]) {
        const { socket } = subscriber;
        if (socket.readyState !== OPEN) {
          subscribers.delete(subscriber);
          continue;
        }
        for (const { message, text } of messages) {
          if (!matchesFilter(message, subscriber.prefixes)) continue;
          // Measured before each send: a reader that stopped reading shows up here first.
          if (socket.bufferedAmount + Buffer.byteLength(text) > maxBufferedBytes) {
            logger.warn("event subscriber too slow; disconnecting", {
              bufferedBytes: socket.bufferedAmount,
              limit: maxBufferedBytes,
            });
            drop(
              subscriber,
              SLOW_CONSUMER_CLOSE_CODE,
              `slow consumer: more than ${maxBufferedBytes} bytes unsent`,
            );
            break;
          }
          socket.send(text);
        }
      }
    },

    close() {
      for (const subscriber of [...subscribers])
        drop(subscriber, GOING_AWAY_CLOSE_CODE, "node shutting down");
    },
  };
}
