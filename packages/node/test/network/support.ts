/**
 * Helpers for transport tests: a clock that counts live timers (to prove `stop` leaves none),
 * waiting for a condition with a deadline (re-checked on transport events, never a fixed sleep),
 * and a "raw peer" that speaks the link protocol by hand so tests can play an attacker:
 * replay a hello, lie about a fingerprint, send an oversized frame, stop answering heartbeats.
 */
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { type Clock, systemClock, type Timer } from "../../src/common/clock.js";
import { systemRandom } from "../../src/common/random.js";
import type { CryptoSuite } from "../../src/crypto/interface.js";
import { parseEndpoint } from "../../src/network/endpoint.js";
import { encodeFrame, FrameDecoder, FrameType } from "../../src/network/frame-codec.js";
import type { PeerStatus, Transport } from "../../src/network/interface.js";
import { createTlsIdentity, type TlsIdentity } from "../../src/network/tls-identity.js";
import { TRANSPORT_ALPN } from "../../src/network/tls-transport.js";

/** A clock that delegates to the system clock and counts timers not yet fired or cancelled. */
export interface TrackingClock extends Clock {
  liveTimers(): number;
}

/** The system clock with a live-timer count. */
export function createTrackingClock(): TrackingClock {
  let live = 0;
  return {
    now: () => systemClock.now(),
    monotonic: () => systemClock.monotonic(),
    timeoutSignal: (ms) => systemClock.timeoutSignal(ms),
    sleep: (ms, options) => systemClock.sleep(ms, options),
    setTimer(ms, fn): Timer {
      live++;
      let done = false;
      const timer = systemClock.setTimer(ms, () => {
        if (done) return;
        done = true;
        live--;
        fn();
      });
      return {
        cancel() {
          if (done) return;
          done = true;
          live--;
          timer.cancel();
        },
      };
    },
    liveTimers: () => live,
  };
}

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Deadline; default 5,000 ms (generous for a busy 2-core machine). */
  readonly timeoutMs?: number;
  /** Transports whose frames and peer changes trigger a re-check. */
  readonly transports?: readonly Transport[];
}

/**
 * Resolves with `check()`'s first non-undefined result. Re-checks on every frame and peer change
 * of `transports` and, for state that has no event (RTT, counters), every few milliseconds;
 * rejects with `description` at the deadline.
 */
export function waitFor<T>(
  description: string,
  check: () => T | undefined,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise<T>((resolve, reject) => {
    const unsubscribes: (() => void)[] = [];
    let settled = false;
    let poll: ReturnType<typeof setInterval> | undefined;
    const finish = (): void => {
      settled = true;
      for (const u of unsubscribes) u();
      if (poll !== undefined) clearInterval(poll);
      clearTimeout(deadline);
    };
    const attempt = (): void => {
      if (settled) return;
      let value: T | undefined;
      try {
        value = check();
      } catch (err) {
        finish();
        reject(err);
        return;
      }
      if (value !== undefined) {
        finish();
        resolve(value);
      }
    };
    const deadline = setTimeout(() => {
      if (settled) return;
      finish();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`));
    }, timeoutMs);
    for (const t of options.transports ?? []) {
      unsubscribes.push(t.onFrame(() => queueMicrotask(attempt)));
      unsubscribes.push(t.onPeerChange(() => queueMicrotask(attempt)));
    }
    poll = setInterval(attempt, 5);
    attempt();
  });
}

/** The status of `peerId` as `transport` reports it. */
export function statusOf(transport: Transport, peerId: string): PeerStatus | undefined {
  return transport.peers().find((p) => p.id === peerId);
}

/** Waits until `transport` reports `peerId` with `connected`. */
export function waitForPeer(
  transport: Transport,
  peerId: string,
  connected: boolean,
  timeoutMs?: number,
): Promise<PeerStatus> {
  return waitFor(
    `${transport.localId} to see ${peerId} ${connected ? "connected" : "disconnected"}`,
    () => {
      const s = statusOf(transport, peerId);
      return s !== undefined && s.connected === connected ? s : undefined;
    },
    { transports: [transport], ...(timeoutMs === undefined ? {} : { timeoutMs }) },
  );
}

/** Records every frame a transport receives, per sender. */
export function recordFrames(transport: Transport): Map<string, Uint8Array[]> {
  const frames = new Map<string, Uint8Array[]>();
  transport.onFrame((peerId, frame) => {
    const list = frames.get(peerId) ?? [];
    if (list.length === 0) frames.set(peerId, list);
    list.push(new Uint8Array(frame));
  });
  return frames;
}

/** A decoded frame seen by a raw peer. */
export interface RawFrame {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** A hand-driven protocol client for attack tests. */
export interface RawPeer {
  readonly socket: TLSSocket;
  readonly identity: TlsIdentity;
  /** Suite hash of our certificate, as the server computes it. */
  readonly fingerprint: Uint8Array;
  /** Next frame (of `type`, skipping others when given); rejects if the connection ends first. */
  nextFrame(type?: number, timeoutMs?: number): Promise<RawFrame>;
  /** The CLOSE reason the server sent, or "connection-ended" if it hung up without one. */
  closed(timeoutMs?: number): Promise<string>;
  send(type: number, payload?: Uint8Array): void;
  sendBytes(bytes: Uint8Array): void;
  destroy(): void;
}

/** Opens a TLS connection to `endpoint` with `identity` (a fresh one by default). */
export async function connectRaw(
  endpoint: string,
  suite: CryptoSuite,
  identity?: TlsIdentity,
): Promise<RawPeer> {
  const id = identity ?? createTlsIdentity({ clock: systemClock, random: systemRandom });
  const parsed = parseEndpoint(endpoint);
  if (parsed === undefined) throw new Error(`bad endpoint ${endpoint}`);
  const socket = tlsConnect({
    host: parsed.host,
    port: parsed.port,
    key: id.keyPem,
    cert: id.certificatePem,
    minVersion: "TLSv1.3",
    ALPNProtocols: [TRANSPORT_ALPN],
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
  });
  const queue: RawFrame[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const decoder = new FrameDecoder(64 * 1024 * 1024);
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk, (type, payload) => {
      queue.push({ type, payload: new Uint8Array(payload) });
      return true;
    });
    for (const w of [...waiters]) w();
  });
  socket.on("close", () => {
    ended = true;
    for (const w of [...waiters]) w();
  });
  const take = (
    predicate: (f: RawFrame) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<RawFrame | undefined> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`raw peer: timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        const index = queue.findIndex(predicate);
        if (index >= 0) {
          const [frame] = queue.splice(0, index + 1).slice(-1);
          waiters.delete(check);
          clearTimeout(timer);
          resolve(frame);
        } else if (ended) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(undefined);
        }
      };
      waiters.add(check);
      check();
    });
  return {
    socket,
    identity: id,
    fingerprint: suite.hash(id.certificateDer),
    async nextFrame(type, timeoutMs = 5_000) {
      const frame = await take(
        (f) => type === undefined || f.type === type,
        timeoutMs,
        `frame type ${type ?? "any"}`,
      );
      if (frame === undefined)
        throw new Error(`raw peer: connection ended before frame type ${type ?? "any"}`);
      return frame;
    },
    async closed(timeoutMs = 5_000) {
      const frame = await take((f) => f.type === FrameType.CLOSE, timeoutMs, "CLOSE");
      return frame === undefined
        ? "connection-ended"
        : Buffer.from(frame.payload).toString("latin1");
    },
    send(type, payload = new Uint8Array(0)) {
      socket.write(encodeFrame(type as FrameType, payload));
    },
    sendBytes(bytes) {
      socket.write(bytes);
    },
    destroy() {
      socket.destroy();
    },
  };
}

/** Resources of this process that are network handles, by kind (TCP sockets and servers). */
export function networkHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) {
    if (!/TCP|TLS|Pipe(?!Wrap)/.test(name)) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}
