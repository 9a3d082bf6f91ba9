/**
 * The compliance suite of the `Transport` contract (src/network/interface.ts). Every
 * implementation — the TLS transport now, a simulated network later — runs this same suite, so
 * "the same semantics" is decided here: whole frames delivered in order per peer, broadcast,
 * refusals of unknown and disconnected peers, frame size limit, bounded outbound queue, peer set
 * changes, handler isolation, restart of a peer, and a clean stop.
 *
 * The suite knows nothing of sockets or keys: a harness creates started nodes and says what
 * each node's `PeerConfig` is. Waits are event-driven with deadlines (`waitFor`), so a simulated
 * transport that delivers in virtual time passes as long as its clock advances while the test
 * waits.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import { createSeededRandom } from "../../src/common/random.js";
import type { PeerConfig, PeerStatus, Transport } from "../../src/network/interface.js";
import { recordFrames, statusOf, waitFor, waitForPeer } from "./support.js";

/** One started node of a harness. */
export interface TransportNode {
  readonly transport: Transport;
  /** How other nodes configure this one (its key and, when it listens, its endpoint). */
  readonly config: PeerConfig;
}

/** Limits a test asks of the nodes it creates. */
export interface TransportTestOptions {
  readonly maxFrameBytes?: number;
  readonly maxQueueBytes?: number;
}

/** What an implementation hands the suite. */
export interface TransportComplianceHarness {
  /** Creates and starts one node per id, with empty peer sets. */
  createNodes(ids: readonly string[], options?: TransportTestOptions): Promise<TransportNode[]>;
  /**
   * Stops `node` and starts a replacement with the same id, key and endpoint (a process restart);
   * the replacement has the peer set `peers`.
   */
  restart(node: TransportNode, peers: readonly PeerConfig[]): Promise<TransportNode>;
  /** Resources still held once every node is stopped (timers, sockets); empty when clean. */
  leaks(): Promise<string[]>;
  /** Stops every node (idempotent). */
  dispose(): Promise<void>;
}

/** Sets every node's peer set to all nodes (own entry included) and waits for a full mesh. */
export async function connectAll(nodes: readonly TransportNode[]): Promise<void> {
  const configs = nodes.map((n) => n.config);
  for (const node of nodes) node.transport.setPeers(configs);
  await Promise.all(
    nodes.flatMap((a) =>
      nodes.filter((b) => b !== a).map((b) => waitForPeer(a.transport, b.config.id, true)),
    ),
  );
}

/** A frame of `size` bytes whose first 4 bytes are `seq` (big-endian) and the rest pseudo-random. */
function numberedFrame(seq: number, size: number, fill: number): Uint8Array {
  const frame = new Uint8Array(size);
  for (let i = 4; i < size; i++) frame[i] = (fill + i * 31) & 0xff;
  new DataView(frame.buffer).setUint32(0, seq);
  return frame;
}

const hexOf = (frames: readonly Uint8Array[] | undefined): string[] =>
  (frames ?? []).map((f) => Buffer.from(f).toString("hex"));

/** Registers the suite for `name`; `factory` gives a fresh harness per test. */
export function describeTransportCompliance(
  name: string,
  factory: () => TransportComplianceHarness,
): void {
  describe(`Transport compliance: ${name}`, () => {
    let harness: TransportComplianceHarness;
    beforeEach(() => {
      harness = factory();
    });
    afterEach(async () => {
      await harness.dispose();
    });

    it("connects the configured peers and reports them on both sides", async () => {
      const [a, b] = (await harness.createNodes(["a", "b"])) as [TransportNode, TransportNode];
      const changes: PeerStatus[] = [];
      a.transport.onPeerChange((p) => changes.push(p));
      await connectAll([a, b]);
      // The own entry of a peer list is not a peer.
      expect(a.transport.peers().map((p) => p.id)).toEqual(["b"]);
      const seen = statusOf(a.transport, "b") as PeerStatus;
      expect(seen).toMatchObject({
        id: "b",
        publicKey: b.config.publicKey.toLowerCase(),
        connected: true,
        reconnects: 0,
        droppedFrames: 0,
      });
      expect(seen.outboundQueueBytes).toBeGreaterThanOrEqual(0);
      expect(typeof seen.lastSeenMs).toBe("number");
      expect(changes.some((c) => c.id === "b" && c.connected)).toBe(true);
      expect(a.transport.localId).toBe("a");
    });

    it("delivers frames whole and in order per peer, in both directions at once", async () => {
      const nodes = (await harness.createNodes(["a", "b", "c"])) as [
        TransportNode,
        TransportNode,
        TransportNode,
      ];
      const [a, b, c] = nodes;
      await connectAll(nodes);
      const atA = recordFrames(a.transport);
      const atB = recordFrames(b.transport);
      const atC = recordFrames(c.transport);
      const random = createSeededRandom(7);
      const sent = new Map<string, Uint8Array[]>([
        ["a->b", []],
        ["a->c", []],
        ["b->a", []],
        ["c->b", []],
      ]);
      const send = (from: TransportNode, to: TransportNode, frame: Uint8Array): void => {
        expect(from.transport.send(to.config.id, frame)).toBe(true);
        sent.get(`${from.config.id}->${to.config.id}`)?.push(frame);
      };
      for (let round = 0; round < 20; round++) {
        // Several frames per turn (coalesced by implementations that batch), then a turn boundary.
        for (let k = 0; k < 25; k++) {
          const seq = round * 25 + k;
          send(a, b, numberedFrame(seq, 4 + random.int(3000), seq));
          send(a, c, numberedFrame(seq, 4 + random.int(200), seq + 1));
          send(b, a, numberedFrame(seq, 4 + random.int(1000), seq + 2));
          send(c, b, numberedFrame(seq, 4 + random.int(100), seq + 3));
        }
        send(a, b, new Uint8Array(0)); // empty frames are frames too
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const all = [a.transport, b.transport, c.transport];
      await waitFor(
        "every frame to arrive",
        () =>
          (atB.get("a")?.length ?? 0) === sent.get("a->b")?.length &&
          (atC.get("a")?.length ?? 0) === sent.get("a->c")?.length &&
          (atA.get("b")?.length ?? 0) === sent.get("b->a")?.length &&
          (atB.get("c")?.length ?? 0) === sent.get("c->b")?.length
            ? true
            : undefined,
        { transports: all },
      );
      expect(hexOf(atB.get("a"))).toEqual(hexOf(sent.get("a->b")));
      expect(hexOf(atC.get("a"))).toEqual(hexOf(sent.get("a->c")));
      expect(hexOf(atA.get("b"))).toEqual(hexOf(sent.get("b->a")));
      expect(hexOf(atB.get("c"))).toEqual(hexOf(sent.get("c->b")));
    });

    it("broadcasts to every connected peer exactly once and returns the count", async () => {
      const nodes = await harness.createNodes(["a", "b", "c", "d"]);
      await connectAll(nodes);
      const [a, ...others] = nodes as [TransportNode, ...TransportNode[]];
      const records = others.map((n) => recordFrames(n.transport));
      expect(a.transport.broadcast(Uint8Array.of(1, 2, 3))).toBe(3);
      // A fence after the broadcast: once it arrives, a duplicate would have arrived too.
      for (const n of others) expect(a.transport.send(n.config.id, Uint8Array.of(9))).toBe(true);
      await waitFor(
        "the fence at every peer",
        () => (records.every((r) => r.get("a")?.length === 2) ? true : undefined),
        {
          transports: others.map((n) => n.transport),
        },
      );
      for (const r of records) expect(hexOf(r.get("a"))).toEqual(["010203", "09"]);
    });

    it("refuses frames for unknown and disconnected peers without throwing, and counts them", async () => {
      const [a, b] = (await harness.createNodes(["a", "b"])) as [TransportNode, TransportNode];
      // b is configured at a, but a is not at b: b never accepts a.
      a.transport.setPeers([a.config, b.config]);
      expect(a.transport.send("nobody", Uint8Array.of(1))).toBe(false);
      expect(a.transport.send("b", Uint8Array.of(1))).toBe(false);
      expect(a.transport.broadcast(Uint8Array.of(1))).toBe(0);
      const status = statusOf(a.transport, "b") as PeerStatus;
      expect(status.connected).toBe(false);
      expect(status.droppedFrames).toBe(1);
      expect(b.transport.send("a", Uint8Array.of(1))).toBe(false);
    });

    it("enforces the frame size limit on send and delivers frames of exactly the limit", async () => {
      const limit = 64 * 1024;
      const nodes = await harness.createNodes(["a", "b"], { maxFrameBytes: limit });
      await connectAll(nodes);
      const [a, b] = nodes as [TransportNode, TransportNode];
      expect(a.transport.maxFrameBytes).toBe(limit);
      const atB = recordFrames(b.transport);
      const tooLarge = (fn: () => unknown): unknown => {
        try {
          fn();
        } catch (err) {
          return err;
        }
        return undefined;
      };
      const err = tooLarge(() => a.transport.send("b", new Uint8Array(limit + 1)));
      expect(isGovchainError(err, "NETWORK_FRAME_TOO_LARGE")).toBe(true);
      expect(
        isGovchainError(
          tooLarge(() => a.transport.broadcast(new Uint8Array(limit + 1))),
          "NETWORK_FRAME_TOO_LARGE",
        ),
      ).toBe(true);
      const exact = numberedFrame(1, limit, 5);
      expect(a.transport.send("b", exact)).toBe(true);
      expect(a.transport.send("b", Uint8Array.of(2))).toBe(true);
      await waitFor("both frames", () => (atB.get("a")?.length === 2 ? true : undefined), {
        transports: [b.transport],
      });
      expect(hexOf(atB.get("a"))).toEqual(hexOf([exact, Uint8Array.of(2)]));
      expect(statusOf(a.transport, "b")?.connected).toBe(true);
    });

    it("bounds the outbound queue: send refuses once it is full, counts the drop, and delivers what it accepted", async () => {
      const maxQueueBytes = 256 * 1024;
      const nodes = await harness.createNodes(["a", "b"], { maxQueueBytes });
      await connectAll(nodes);
      const [a, b] = nodes as [TransportNode, TransportNode];
      const atB = recordFrames(b.transport);
      const accepted: Uint8Array[] = [];
      let refused = false;
      // Synchronously, so nothing can drain in between: the queue alone must stop us.
      for (let i = 0; i < 10_000 && !refused; i++) {
        const frame = numberedFrame(i, 1024, i);
        if (a.transport.send("b", frame)) accepted.push(frame);
        else refused = true;
      }
      expect(refused).toBe(true);
      expect(accepted.length).toBeGreaterThan(0);
      const status = statusOf(a.transport, "b") as PeerStatus;
      expect(status.outboundQueueBytes).toBeLessThanOrEqual(maxQueueBytes);
      expect(status.droppedFrames).toBe(1);
      await waitFor(
        "the accepted frames",
        () => (atB.get("a")?.length === accepted.length ? true : undefined),
        {
          transports: [b.transport],
        },
      );
      expect(hexOf(atB.get("a"))).toEqual(hexOf(accepted));
      // Once drained, the queue accepts again.
      await waitFor("the queue to drain", () =>
        statusOf(a.transport, "b")?.outboundQueueBytes === 0 ? true : undefined,
      );
      expect(a.transport.send("b", Uint8Array.of(1))).toBe(true);
    });

    it("applies peer set changes: a removed peer is disconnected on both sides and reconnects when re-added", async () => {
      const nodes = (await harness.createNodes(["a", "b", "c"])) as [
        TransportNode,
        TransportNode,
        TransportNode,
      ];
      const [a, b, c] = nodes;
      await connectAll(nodes);
      const changesAtA: PeerStatus[] = [];
      a.transport.onPeerChange((p) => changesAtA.push(p));
      a.transport.setPeers([a.config, c.config]);
      expect(a.transport.peers().map((p) => p.id)).toEqual(["c"]);
      expect(changesAtA).toContainEqual(expect.objectContaining({ id: "b", connected: false }));
      expect(a.transport.send("b", Uint8Array.of(1))).toBe(false);
      await waitForPeer(b.transport, "a", false);
      expect(statusOf(a.transport, "c")?.connected).toBe(true);
      expect(statusOf(c.transport, "a")?.connected).toBe(true);

      a.transport.setPeers([a.config, b.config, c.config]);
      await waitForPeer(a.transport, "b", true);
      await waitForPeer(b.transport, "a", true);
      expect(statusOf(b.transport, "a")?.reconnects).toBe(1);
      const atB = recordFrames(b.transport);
      expect(a.transport.send("b", Uint8Array.of(7))).toBe(true);
      await waitFor(
        "a frame over the new connection",
        () => (atB.get("a")?.length === 1 ? true : undefined),
        {
          transports: [b.transport],
        },
      );
    });

    it("rejects an invalid peer set as a whole and keeps the current one", async () => {
      const [a, b, c] = (await harness.createNodes(["a", "b", "c"])) as [
        TransportNode,
        TransportNode,
        TransportNode,
      ];
      a.transport.setPeers([b.config]);
      const invalid: PeerConfig[][] = [
        [b.config, { ...c.config, id: "b" }], // duplicate id
        [b.config, { ...c.config, publicKey: b.config.publicKey }], // duplicate key
        [{ ...c.config, publicKey: "zz" }], // not hex
        [{ ...c.config, publicKey: "ab".repeat(7) }], // no algorithm of the suite
        [{ ...c.config, endpoint: "no-port" }],
        [{ ...c.config, id: "" }],
      ];
      for (const peers of invalid) {
        let error: unknown;
        try {
          a.transport.setPeers(peers);
        } catch (err) {
          error = err;
        }
        expect(isGovchainError(error, "NETWORK_INVALID_PEER_CONFIG"), JSON.stringify(peers)).toBe(
          true,
        );
        expect(a.transport.peers().map((p) => p.id)).toEqual(["b"]);
      }
    });

    it("isolates handlers: a throwing handler harms nothing, and removed handlers receive nothing", async () => {
      const nodes = await harness.createNodes(["a", "b"]);
      await connectAll(nodes);
      const [a, b] = nodes as [TransportNode, TransportNode];
      b.transport.onFrame(() => {
        throw new Error("handler bug");
      });
      const first: number[] = [];
      const removeFirst = b.transport.onFrame((_id, f) => first.push(f[0] ?? -1));
      const fence: number[] = [];
      b.transport.onFrame((_id, f) => fence.push(f[0] ?? -1));
      a.transport.send("b", Uint8Array.of(1));
      await waitFor("frame 1", () => (fence.length === 1 ? true : undefined), {
        transports: [b.transport],
      });
      removeFirst();
      a.transport.send("b", Uint8Array.of(2));
      await waitFor("frame 2", () => (fence.length === 2 ? true : undefined), {
        transports: [b.transport],
      });
      expect(first).toEqual([1]);
      expect(fence).toEqual([1, 2]);
      expect(statusOf(b.transport, "a")?.connected).toBe(true);
    });

    it("reconnects to a peer that stops and starts again", async () => {
      const nodes = (await harness.createNodes(["a", "b"])) as [TransportNode, TransportNode];
      const [a, b] = nodes;
      await connectAll(nodes);
      const configs = nodes.map((n) => n.config);
      // Restart each side in turn: the dialling side and the dialled side.
      const b2 = await harness.restart(b, configs);
      expect(b2.config).toEqual(b.config);
      await waitForPeer(a.transport, "b", true);
      await waitForPeer(b2.transport, "a", true);
      expect(statusOf(a.transport, "b")?.reconnects).toBe(1);
      const a2 = await harness.restart(a, configs);
      await waitForPeer(a2.transport, "b", true);
      await waitForPeer(b2.transport, "a", true);
      const atA2 = recordFrames(a2.transport);
      b2.transport.send("a", Uint8Array.of(42));
      await waitFor(
        "a frame after both restarts",
        () => (atA2.get("b")?.length === 1 ? true : undefined),
        {
          transports: [a2.transport],
        },
      );
    });

    it("stops cleanly: peers see it, nothing is sent or delivered afterwards, stop is idempotent, nothing leaks", async () => {
      const nodes = (await harness.createNodes(["a", "b"])) as [TransportNode, TransportNode];
      const [a, b] = nodes;
      await connectAll(nodes);
      const atA = recordFrames(a.transport);
      const changesAtA: PeerStatus[] = [];
      a.transport.onPeerChange((p) => changesAtA.push(p));
      await Promise.all([a.transport.stop(), a.transport.stop()]);
      await a.transport.stop();
      expect(changesAtA).toEqual([expect.objectContaining({ id: "b", connected: false })]);
      expect(a.transport.send("b", Uint8Array.of(1))).toBe(false);
      expect(a.transport.broadcast(Uint8Array.of(1))).toBe(0);
      expect(a.transport.peers().every((p) => !p.connected)).toBe(true);
      await waitForPeer(b.transport, "a", false);
      expect(b.transport.send("a", Uint8Array.of(1))).toBe(false);
      await b.transport.stop();
      expect(atA.size).toBe(0);
      expect(changesAtA).toHaveLength(1);
      expect(await harness.leaks()).toEqual([]);
    });

    it("starts and stops without peers, and can start again after a stop", async () => {
      const [a] = (await harness.createNodes(["a"])) as [TransportNode];
      await a.transport.stop();
      await a.transport.start();
      await a.transport.start();
      await a.transport.stop();
      expect(await harness.leaks()).toEqual([]);
    });
  });
}
