/**
 * The link framing inside TLS: `u32 big-endian length | u8 type | payload`, where the length
 * counts the type byte and the payload. The receiver checks the length as soon as the 4-byte
 * prefix arrives, so an oversized frame is refused before any of it is buffered.
 *
 * Frame types other than DATA carry the link's own protocol (authentication, heartbeats, close
 * reasons); DATA frames are the opaque frames of `Transport.send`.
 */

/** Bytes before a payload: 4 of length, 1 of type. */
export const FRAME_HEADER_BYTES = 5;

/** Frame types on the wire. Values are part of the protocol: never renumber. */
export const FrameType = {
  /** An application frame (`Transport.send`). */
  DATA: 0,
  /** Pre-auth: protocol version byte and the sender's 32-byte nonce for this connection. */
  NONCE: 1,
  /** Pre-auth: the signed hello (hello.ts), sent after the peer's NONCE. */
  HELLO: 2,
  /** Pre-auth: the sender accepted the peer's hello; the link is up once both sides said so. */
  READY: 3,
  /** Heartbeat request: 8-byte float64 timestamp of the sender's monotonic clock. */
  PING: 4,
  /** Heartbeat answer: the PING's 8 bytes, echoed. */
  PONG: 5,
  /** The sender is closing the connection; payload is a `CloseReason` in ASCII. */
  CLOSE: 6,
} as const;

/** One of `FrameType`'s values. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** The 5-byte header of a frame with `payloadLength` bytes of payload. */
export function encodeFrameHeader(type: FrameType, payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(payloadLength + 1, 0);
  header[4] = type;
  return header;
}

/** A whole frame (header and payload) in one buffer; for small control frames. */
export function encodeFrame(type: FrameType, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length + 1, 0);
  frame[4] = type;
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Why `FrameDecoder.push` stopped: the frame it refused. */
export type FrameDecodeError =
  | { readonly kind: "too-large"; readonly payloadBytes: number; readonly limit: number }
  | { readonly kind: "empty" };

/** Called for each decoded frame; return false to stop decoding (the connection is closing). */
export type DecodedFrameHandler = (type: number, payload: Uint8Array) => boolean;

/**
 * Splits a byte stream into frames. Payloads are views of the received chunks (no copy) unless a
 * frame spans chunks, in which case the pieces are joined once the whole frame is there.
 */
export class FrameDecoder {
  #maxPayloadBytes: number;
  /** Pieces of an incomplete frame (or header), oldest first. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes the pending pieces must reach before decoding can make progress. */
  #needed = 4;
  #failed = false;

  constructor(maxPayloadBytes: number) {
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /** Bytes received and not yet delivered (an incomplete frame). */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /** Changes the limit; authentication raises it from the small pre-auth limit. */
  setMaxPayloadBytes(limit: number): void {
    this.#maxPayloadBytes = limit;
  }

  /**
   * Decodes the frames `chunk` completes, calling `onFrame` for each in order. Returns the error
   * that stopped decoding, or undefined. After an error the decoder ignores further input.
   */
  push(chunk: Buffer, onFrame: DecodedFrameHandler): FrameDecodeError | undefined {
    if (this.#failed) return undefined;
    let buffer = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      // Join only once the frame is complete, so a 16 MiB frame in 64 KiB reads is copied once.
      if (this.#pendingBytes < this.#needed) return undefined;
      buffer =
        this.#pending.length === 1 ? chunk : Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (length === 0) return this.#fail({ kind: "empty" });
      if (length - 1 > this.#maxPayloadBytes) {
        return this.#fail({
          kind: "too-large",
          payloadBytes: length - 1,
          limit: this.#maxPayloadBytes,
        });
      }
      if (buffer.length - offset - 4 < length) break;
      const type = buffer[offset + 4] as number;
      const payload = new Uint8Array(
        buffer.buffer,
        buffer.byteOffset + offset + FRAME_HEADER_BYTES,
        length - 1,
      );
      offset += 4 + length;
      if (!onFrame(type, payload)) {
        this.#failed = true;
        return undefined;
      }
    }
    if (offset < buffer.length) {
      const rest = buffer.subarray(offset);
      this.#pending = [rest];
      this.#pendingBytes = rest.length;
      this.#needed = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
    } else this.#needed = 4;
    return undefined;
  }

  #fail(error: FrameDecodeError): FrameDecodeError {
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    return error;
  }
}
