/**
 * One TLS connection as a sequence of frames: decoding with a size limit, a bounded outbound
 * queue that is coalesced into few writes per event-loop turn, and an orderly close that tells
 * the other side why. What the frames mean (authentication, heartbeats, data) is the
 * transport's business; this file only moves them.
 *
 * Writes: `enqueue` appends to a queue and schedules one flush per event-loop turn
 * (`setImmediate`, which runs right after the turn's I/O callbacks), so every frame sent during
 * the turn — PBFT steps reacting to several peers' messages, a burst of gossip — leaves in one
 * `write` per peer. (A microtask would flush after each callback instead, and one 200-byte
 * record costs ~20 µs against ~0.6 µs coalesced: docs/adr/0007-transport.md.) Scheduling a
 * flush is not a timer and reads no clock, so it stays outside the injected `Clock`. Frames up to `COALESCE_MAX_BYTES` are copied into one buffer;
 * larger ones are written as they are, after their header, so a 16 MiB block is not copied.
 * Heartbeat frames jump the queue (not the socket's own buffer), so a long backlog of blocks does
 * not starve them. While the socket is over its high-water mark nothing more is handed to it;
 * the queue grows instead, and the transport bounds queue plus socket buffer.
 */
import type { TLSSocket } from "node:tls";
import { asBuffer } from "../common/bytes.js";
import type { Clock, Timer } from "../common/clock.js";
import { CloseReason, isCloseReason } from "./errors.js";
import { encodeFrameHeader, FRAME_HEADER_BYTES, FrameDecoder, FrameType } from "./frame-codec.js";

/** Frames up to this size are copied into the coalesced write buffer; larger go out by reference. */
export const COALESCE_MAX_BYTES = 64 * 1024;
/** Time a closing connection gets to flush its CLOSE frame before it is destroyed. */
export const CLOSE_GRACE_MS = 1_000;

/** Who ended a connection. */
export type ClosedBy = "local" | "remote";

/** What a link reports to its owner. */
export interface LinkEvents {
  /** A decoded frame; return false to stop decoding (the handler closed the link). */
  frame(link: TlsLink, type: number, payload: Uint8Array): boolean;
  /** Data arrived (once per read, before its frames): a liveness signal. */
  activity(link: TlsLink): void;
  /** The link is closed; called exactly once, synchronously from `close` or from a socket event. */
  closed(link: TlsLink, reason: CloseReason, by: ClosedBy, detail: string): void;
  /** The socket has fully closed and holds no resources any more. */
  released(link: TlsLink): void;
}

interface QueuedFrame {
  readonly type: FrameType;
  readonly payload: Uint8Array;
}

/** A framed TLS connection. */
export class TlsLink {
  readonly socket: TLSSocket;
  readonly direction: "inbound" | "outbound";
  readonly remoteAddress: string;
  readonly #decoder: FrameDecoder;
  readonly #clock: Clock;
  readonly #events: LinkEvents;
  #priority: QueuedFrame[] = [];
  #queue: QueuedFrame[] = [];
  #queuedBytes = 0;
  #flushHandle: ReturnType<typeof setImmediate> | undefined;
  #closed = false;
  #released = false;
  #graceTimer: Timer | undefined;
  /** The first socket error, for the close report. */
  #socketError: string | undefined;

  constructor(options: {
    readonly socket: TLSSocket;
    readonly direction: "inbound" | "outbound";
    readonly remoteAddress: string;
    readonly maxPayloadBytes: number;
    readonly clock: Clock;
    readonly events: LinkEvents;
  }) {
    this.socket = options.socket;
    this.direction = options.direction;
    this.remoteAddress = options.remoteAddress;
    this.#decoder = new FrameDecoder(options.maxPayloadBytes);
    this.#clock = options.clock;
    this.#events = options.events;
    const socket = this.socket;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.#flush());
    // An error is always followed by 'close', which reports it; the listener keeps it from
    // becoming an uncaught exception.
    socket.on("error", (err: Error) => {
      this.#socketError ??= err.message;
    });
    socket.on("close", () => this.#onSocketClose());
  }

  /** True once `close` ran or the socket closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued here plus bytes the socket holds but has not written yet. */
  get outboundBytes(): number {
    return this.#queuedBytes + this.socket.writableLength;
  }

  /** Bytes of an incomplete inbound frame. */
  get inboundBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  /** Raises (or lowers) the inbound frame limit; authentication lifts the pre-auth limit. */
  setMaxPayloadBytes(limit: number): void {
    this.#decoder.setMaxPayloadBytes(limit);
  }

  /** Queues a frame; `priority` frames (heartbeats) go ahead of queued ones. */
  enqueue(type: FrameType, payload: Uint8Array, priority = false): void {
    if (this.#closed) return;
    (priority ? this.#priority : this.#queue).push({ type, payload });
    this.#queuedBytes += FRAME_HEADER_BYTES + payload.length;
    this.#flushHandle ??= setImmediate(() => {
      this.#flushHandle = undefined;
      this.#flush();
    });
  }

  /**
   * Closes the connection. With `notify`, queued frames and a CLOSE frame carrying `reason` are
   * written first and the socket is ended gracefully (destroyed after `CLOSE_GRACE_MS` if the
   * peer does not finish); otherwise it is destroyed at once. Idempotent.
   */
  close(reason: CloseReason, detail: string, notify: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (notify && !this.socket.destroyed && this.socket.writable) {
      this.#queue.push({ type: FrameType.CLOSE, payload: Buffer.from(reason, "latin1") });
      this.#writeOut();
      this.socket.end();
      this.#startGrace();
    } else {
      this.socket.destroy();
    }
    this.#cancelFlush();
    this.#priority = [];
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#events.closed(this, reason, "local", detail);
  }

  /** True once the socket has closed and released its resources. */
  get released(): boolean {
    return this.#released;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#events.activity(this);
    const error = this.#decoder.push(chunk, (type, payload) => {
      if (this.#closed) return false;
      if (type === FrameType.CLOSE) {
        const text = Buffer.from(payload).toString("latin1");
        const reason = isCloseReason(text) ? text : CloseReason.PROTOCOL_ERROR;
        // The peer ends its side after its CLOSE; end ours and report now, not at socket close.
        this.#closed = true;
        this.#cancelFlush();
        this.#priority = [];
        this.#queue = [];
        this.#queuedBytes = 0;
        this.socket.end();
        this.#startGrace();
        this.#events.closed(this, reason, "remote", "closed by peer");
        return false;
      }
      return this.#events.frame(this, type, payload);
    });
    if (error !== undefined) {
      const detail =
        error.kind === "too-large"
          ? `frame of ${error.payloadBytes} bytes exceeds the limit of ${error.limit}`
          : "frame with zero length";
      this.close(
        error.kind === "too-large" ? CloseReason.FRAME_TOO_LARGE : CloseReason.PROTOCOL_ERROR,
        detail,
        true,
      );
    }
  }

  /** Destroys the socket if the peer has not finished closing within `CLOSE_GRACE_MS`. */
  #startGrace(): void {
    if (this.#graceTimer !== undefined || this.socket.destroyed) return;
    this.#graceTimer = this.#clock.setTimer(CLOSE_GRACE_MS, () => {
      this.#graceTimer = undefined;
      this.socket.destroy();
    });
  }

  #onSocketClose(): void {
    if (this.#graceTimer !== undefined) {
      this.#graceTimer.cancel();
      this.#graceTimer = undefined;
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#cancelFlush();
      this.#priority = [];
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#events.closed(
        this,
        CloseReason.CONNECTION_LOST,
        "remote",
        this.#socketError ?? "connection closed without a CLOSE frame",
      );
    }
    this.#released = true;
    this.#events.released(this);
  }

  #cancelFlush(): void {
    if (this.#flushHandle !== undefined) {
      clearImmediate(this.#flushHandle);
      this.#flushHandle = undefined;
    }
  }

  #flush(): void {
    if (this.#closed || this.#queuedBytes === 0) return;
    // Over the high-water mark: keep frames here (coalescing more of them) until 'drain'.
    if (this.socket.writableNeedDrain) return;
    this.#writeOut();
  }

  /** Hands every queued frame to the socket in as few writes as possible. */
  #writeOut(): void {
    const frames = this.#priority.length === 0 ? this.#queue : this.#priority.concat(this.#queue);
    this.#priority = [];
    this.#queue = [];
    this.#queuedBytes = 0;
    if (frames.length === 0 || this.socket.destroyed) return;
    const socket = this.socket;
    socket.cork();
    let runStart = 0;
    let runBytes = 0;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i] as QueuedFrame;
      if (frame.payload.length <= COALESCE_MAX_BYTES) {
        runBytes += FRAME_HEADER_BYTES + frame.payload.length;
        continue;
      }
      if (runBytes > 0) socket.write(coalesce(frames, runStart, i, runBytes));
      socket.write(encodeFrameHeader(frame.type, frame.payload.length));
      socket.write(asBuffer(frame.payload));
      runStart = i + 1;
      runBytes = 0;
    }
    if (runBytes > 0) socket.write(coalesce(frames, runStart, frames.length, runBytes));
    socket.uncork();
  }
}

/** Frames `[from, to)` of `frames`, headers included, in one buffer of `bytes` bytes. */
function coalesce(frames: readonly QueuedFrame[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let i = from; i < to; i++) {
    const frame = frames[i] as QueuedFrame;
    out.writeUInt32BE(frame.payload.length + 1, offset);
    out[offset + 4] = frame.type;
    out.set(frame.payload, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + frame.payload.length;
  }
  return out;
}
