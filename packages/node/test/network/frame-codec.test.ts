/**
 * The framing: frames survive any split of the byte stream into reads, the size limit is
 * enforced from the 4-byte prefix alone (before the body is buffered), and payloads are views
 * of the received bytes unless a frame spans reads.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeFrame,
  encodeFrameHeader,
  FrameDecoder,
  FrameType,
} from "../../src/network/frame-codec.js";

function decodeAll(
  decoder: FrameDecoder,
  chunks: readonly Buffer[],
): { frames: [number, string][]; error: unknown } {
  const frames: [number, string][] = [];
  let error: unknown;
  for (const chunk of chunks) {
    error ??= decoder.push(chunk, (type, payload) => {
      frames.push([type, Buffer.from(payload).toString("hex")]);
      return true;
    });
  }
  return { frames, error };
}

describe("frame codec", () => {
  it("encodes length (type byte included), type, payload", () => {
    expect(encodeFrame(FrameType.DATA, Uint8Array.of(0xaa, 0xbb)).toString("hex")).toBe(
      "0000000300aabb",
    );
    expect(encodeFrame(FrameType.READY).toString("hex")).toBe("0000000103");
    expect(encodeFrameHeader(FrameType.PING, 8).toString("hex")).toBe("0000000904");
  });

  it("decodes any split of a stream of frames into the same frames, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 300 })), {
          maxLength: 20,
        }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 50 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map(([t, p]) => encodeFrame(t as FrameType, p)));
          const chunks: Buffer[] = [];
          let offset = 0;
          for (let i = 0; offset < stream.length; i++) {
            const size = cuts[i % cuts.length] as number;
            chunks.push(stream.subarray(offset, offset + size));
            offset += size;
          }
          const { frames: decoded, error } = decodeAll(new FrameDecoder(1000), chunks);
          expect(error).toBeUndefined();
          expect(decoded).toEqual(frames.map(([t, p]) => [t, Buffer.from(p).toString("hex")]));
        },
      ),
    );
  });

  it("refuses an oversized frame as soon as its prefix arrives, and then ignores input", () => {
    const decoder = new FrameDecoder(10);
    const header = encodeFrameHeader(FrameType.DATA, 11);
    expect(decoder.push(header.subarray(0, 3), () => true)).toBeUndefined();
    expect(decoder.push(header.subarray(3), () => true)).toEqual({
      kind: "too-large",
      payloadBytes: 11,
      limit: 10,
    });
    expect(decoder.bufferedBytes).toBe(0);
    const seen: number[] = [];
    expect(
      decoder.push(encodeFrame(FrameType.DATA, Uint8Array.of(1)), (t) => seen.push(t) > 0),
    ).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it("accepts a frame of exactly the limit, and a raised limit applies to the next frame", () => {
    const decoder = new FrameDecoder(4);
    expect(
      decodeAll(decoder, [encodeFrame(FrameType.DATA, new Uint8Array(4))]).error,
    ).toBeUndefined();
    decoder.setMaxPayloadBytes(8);
    expect(
      decodeAll(decoder, [encodeFrame(FrameType.DATA, new Uint8Array(8))]).frames,
    ).toHaveLength(1);
  });

  it("refuses a zero length prefix (a frame must have a type)", () => {
    expect(new FrameDecoder(10).push(Buffer.alloc(4), () => true)).toEqual({ kind: "empty" });
  });

  it("hands out views of a read when the frame lies within it, and stops when told", () => {
    const chunk = Buffer.concat([
      encodeFrame(FrameType.DATA, Uint8Array.of(1, 2)),
      encodeFrame(FrameType.DATA, Uint8Array.of(3)),
    ]);
    const payloads: Uint8Array[] = [];
    new FrameDecoder(10).push(chunk, (_t, p) => {
      payloads.push(p);
      return false;
    });
    expect(payloads).toHaveLength(1);
    expect(payloads[0]?.buffer).toBe(chunk.buffer);
    expect(Buffer.isBuffer(payloads[0])).toBe(false);
  });

  it("reports the bytes of an incomplete frame", () => {
    const decoder = new FrameDecoder(100);
    const frame = encodeFrame(FrameType.DATA, new Uint8Array(50));
    decoder.push(frame.subarray(0, 20), () => true);
    expect(decoder.bufferedBytes).toBe(20);
    decoder.push(frame.subarray(20), () => true);
    expect(decoder.bufferedBytes).toBe(0);
  });
});
