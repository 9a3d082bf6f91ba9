/**
 * The TLS transport with real sockets on 127.0.0.1 and OS-assigned ports: the compliance suite,
 * then what only TLS has — mutual authentication with each suite's keys, and the rejections
 * (unknown key, wrong chain, replayed hello, forged fingerprint, bad signature, duplicate
 * connection, oversized frames, silent peers, handshake stalls), driven by a hand-written
 * protocol client playing the attacker.
 */
import { connect as netConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/common/clock.js";
import { createMemoryLogger, type LogRecord } from "../../src/common/logger.js";
import { systemRandom } from "../../src/common/random.js";
import { getSuite } from "../../src/crypto/index.js";
import type {
  CryptoSuite,
  SignatureAlgorithm,
  Signer,
  SuiteId,
} from "../../src/crypto/interface.js";
import { FrameType } from "../../src/network/frame-codec.js";
import {
  createHello,
  decodeNonceFrame,
  encodeHello,
  encodeNonceFrame,
  type Hello,
} from "../../src/network/hello.js";
import type { PeerConfig, Transport } from "../../src/network/interface.js";
import type { TlsTransportOptions } from "../../src/network/options.js";
import { createTlsIdentity } from "../../src/network/tls-identity.js";
import { createTlsTransport, type TlsTransport } from "../../src/network/tls-transport.js";
import {
  connectRaw,
  createTrackingClock,
  networkHandles,
  type RawPeer,
  recordFrames,
  statusOf,
  type TrackingClock,
  waitFor,
  waitForPeer,
} from "./support.js";
import {
  connectAll,
  describeTransportCompliance,
  type TransportComplianceHarness,
  type TransportNode,
} from "./transport-compliance.js";

const CHAIN = "govchain-test";

/** Timing tuned for tests: fast reconnects, the default heartbeat (RTT tests lower it). */
const TEST_TIMING = {
  reconnectBaseMs: 20,
  reconnectMaxMs: 200,
  handshakeTimeoutMs: 5_000,
} as const;

interface NodeSpec {
  readonly id: string;
  readonly signer: Signer;
  readonly suite: CryptoSuite;
  readonly port: number;
  readonly extra: Partial<TlsTransportOptions>;
}

/** The compliance harness: real TLS transports sharing one tracking clock. */
function tlsHarness(): TransportComplianceHarness {
  const clock = createTrackingClock();
  const suite = getSuite("standard");
  const running = new Set<TlsTransport>();
  const specs = new Map<Transport, NodeSpec>();
  const baseline = networkHandles();
  const start = async (spec: NodeSpec): Promise<TransportNode> => {
    const transport = createTlsTransport({
      localId: spec.id,
      chainId: CHAIN,
      suite: spec.suite,
      signer: spec.signer,
      clock,
      listen: { host: "127.0.0.1", port: spec.port },
      ...TEST_TIMING,
      ...spec.extra,
    });
    await transport.start();
    running.add(transport);
    const endpoint = transport.listenEndpoint as string;
    specs.set(transport, { ...spec, port: Number(endpoint.split(":")[1]) });
    return { transport, config: { id: spec.id, publicKey: spec.signer.publicKeyHex, endpoint } };
  };
  return {
    async createNodes(ids, options = {}) {
      const extra: Partial<TlsTransportOptions> = {
        ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
        ...(options.maxQueueBytes === undefined ? {} : { maxQueueBytes: options.maxQueueBytes }),
      };
      const nodes: TransportNode[] = [];
      for (const id of ids)
        nodes.push(
          await start({
            id,
            signer: suite.createSigner(suite.generateKey()),
            suite,
            port: 0,
            extra,
          }),
        );
      return nodes;
    },
    async restart(node, peers) {
      const spec = specs.get(node.transport) as NodeSpec;
      await node.transport.stop();
      running.delete(node.transport as TlsTransport);
      // The same port: peers only know the configured endpoint.
      const next = await start(spec);
      expect(next.config.endpoint).toBe(node.config.endpoint);
      next.transport.setPeers(peers);
      return next;
    },
    async leaks() {
      await Promise.all([...running].map((t) => t.stop()));
      const found: string[] = [];
      if (clock.liveTimers() !== 0) found.push(`${clock.liveTimers()} live timers`);
      // Node releases a closed handle a moment after its close callback: poll, with a deadline.
      const excess = (): string[] => {
        const now = networkHandles();
        return [...now]
          .filter(([kind, n]) => n > (baseline.get(kind) ?? 0))
          .map(([kind, n]) => `${n - (baseline.get(kind) ?? 0)} ${kind}`);
      };
      const handles = await waitFor(
        "network handles to be released",
        () => (excess().length === 0 ? [] : undefined),
        {
          timeoutMs: 2_000,
        },
      ).catch(() => excess());
      return [...found, ...handles];
    },
    async dispose() {
      await Promise.all([...running].map((t) => t.stop()));
      running.clear();
    },
  };
}

describeTransportCompliance("TLS 1.3 (node:tls)", tlsHarness);

// ---- TLS-specific ------------------------------------------------------------------------------

interface Node {
  readonly transport: TlsTransport;
  readonly signer: Signer;
  readonly config: PeerConfig;
  readonly logs: LogRecord[];
}

const started: TlsTransport[] = [];
const rawPeers: RawPeer[] = [];
afterEach(async () => {
  for (const raw of rawPeers.splice(0)) raw.destroy();
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function startNode(
  id: string,
  options: {
    suite?: CryptoSuite;
    signer?: Signer;
    algorithm?: SignatureAlgorithm;
    clock?: TrackingClock;
  } & Partial<TlsTransportOptions> = {},
): Promise<Node> {
  const suite = options.suite ?? getSuite("standard");
  const signer = options.signer ?? suite.createSigner(suite.generateKey(options.algorithm));
  const logs: LogRecord[] = [];
  const { algorithm: _a, signer: _s, suite: _u, ...rest } = options;
  const transport = createTlsTransport({
    localId: id,
    chainId: CHAIN,
    suite,
    signer,
    logger: createMemoryLogger(logs),
    ...TEST_TIMING,
    ...rest,
  });
  await transport.start();
  started.push(transport);
  return {
    transport,
    signer,
    logs,
    config: { id, publicKey: signer.publicKeyHex, endpoint: transport.listenEndpoint as string },
  };
}

/** Waits for a log record of `msg` whose fields include `fields`. */
function waitForLog(node: Node, msg: string, fields: Record<string, unknown>): Promise<LogRecord> {
  return waitFor(`${node.transport.localId} to log "${msg}" ${JSON.stringify(fields)}`, () =>
    node.logs.find(
      (r) => r.msg === msg && Object.entries(fields).every(([k, v]) => r.fields[k] === v),
    ),
  );
}

/**
 * A raw client that authenticates as `as` (holding its chain key) to `server`: returns the raw
 * peer and the hello it sent, after the server's READY.
 */
async function authenticateRaw(
  server: Node,
  as: { id: string; signer: Signer },
  suite: CryptoSuite = getSuite("standard"),
) {
  const raw = await connectRaw(server.config.endpoint as string, suite);
  rawPeers.push(raw);
  const serverNonce = decodeNonceFrame(
    (await raw.nextFrame(FrameType.NONCE)).payload,
  ) as Uint8Array;
  raw.send(FrameType.NONCE, encodeNonceFrame(systemRandom.bytes(32)));
  const hello = createHello(as.signer, {
    chainId: CHAIN,
    nodeId: as.id,
    fingerprint: raw.fingerprint,
    nonce: serverNonce,
  });
  raw.send(FrameType.HELLO, encodeHello(hello));
  return { raw, hello, serverNonce };
}

describe("TLS transport: authentication", () => {
  const suites: { suiteId: SuiteId; algorithm: SignatureAlgorithm }[] = [
    { suiteId: "standard", algorithm: "ed25519" },
    { suiteId: "standard", algorithm: "secp256k1" },
    { suiteId: "gm", algorithm: "sm2" },
  ];
  it.each(suites)(
    "mutually authenticates peers with $suiteId / $algorithm chain keys",
    async ({ suiteId, algorithm }) => {
      const suite = getSuite(suiteId);
      const a = await startNode("a", { suite, algorithm });
      const b = await startNode("b", { suite, algorithm });
      expect(a.config.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(a.config.endpoint).not.toBe("127.0.0.1:0");
      expect(a.transport.certificateFingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(a.transport.certificateFingerprint).not.toBe(b.transport.certificateFingerprint);
      await connectAll([a, b]);
      const atB = recordFrames(b.transport);
      a.transport.send("b", Uint8Array.of(1, 2));
      await waitFor("the frame", () => (atB.get("a")?.length === 1 ? true : undefined), {
        transports: [b.transport],
      });
      expect(a.logs).toContainEqual(
        expect.objectContaining({
          msg: "peer connected",
          fields: expect.objectContaining({ peer: "b", direction: "outbound" }),
        }),
      );
      expect(b.logs).toContainEqual(
        expect.objectContaining({
          msg: "peer connected",
          fields: expect.objectContaining({ peer: "a", direction: "inbound" }),
        }),
      );
    },
  );

  it("refuses a node whose key is not in the peer set, and says why on both sides", async () => {
    const a = await startNode("a");
    const x = await startNode("x");
    a.transport.setPeers([]);
    // "a" < "x", so x dials only because its own entry has no endpoint (it is not reachable).
    x.transport.setPeers([a.config, { id: "x", publicKey: x.config.publicKey }]);
    await waitForLog(a, "connection rejected", { reason: "unknown-key" });
    await waitForLog(x, "connection refused by peer", { reason: "unknown-key" });
    expect(statusOf(x.transport, "a")?.connected).toBe(false);
    expect(a.transport.stats().closes["unknown-key"]?.local).toBeGreaterThan(0);
  });

  it("refuses a hello for another chain", async () => {
    const a = await startNode("a");
    const b = await startNode("b", { chainId: "another-chain" });
    a.transport.setPeers([a.config, b.config]);
    b.transport.setPeers([a.config, b.config]);
    await waitForLog(b, "connection rejected", { reason: "wrong-chain" });
    await waitForLog(a, "connection rejected", { reason: "wrong-chain" });
    expect(statusOf(a.transport, "b")?.connected).toBe(false);
  });

  it("accepts a correct raw hello, then refuses it replayed on a new connection", async () => {
    const a = await startNode("a");
    const bSigner = getSuite("standard").createSigner(getSuite("standard").generateKey());
    a.transport.setPeers([{ id: "b", publicKey: bSigner.publicKeyHex }]);
    const first = await authenticateRaw(a, { id: "b", signer: bSigner });
    await first.raw.nextFrame(FrameType.READY);
    expect(statusOf(a.transport, "b")?.connected).toBe(false); // b's READY never came
    first.raw.destroy();

    // Same TLS identity (so the fingerprint matches), fresh connection, the old hello.
    const second = await connectRaw(
      a.config.endpoint as string,
      getSuite("standard"),
      first.raw.identity,
    );
    rawPeers.push(second);
    await second.nextFrame(FrameType.NONCE);
    second.send(FrameType.NONCE, encodeNonceFrame(systemRandom.bytes(32)));
    second.send(FrameType.HELLO, encodeHello(first.hello));
    expect(await second.closed()).toBe("stale-nonce");
    await waitForLog(a, "connection rejected", { reason: "stale-nonce" });
  });

  it("refuses a hello naming another certificate, or with a bad signature", async () => {
    const suite = getSuite("standard");
    const a = await startNode("a");
    const bSigner = suite.createSigner(suite.generateKey());
    a.transport.setPeers([{ id: "b", publicKey: bSigner.publicKeyHex }]);

    const relay = await connectRaw(a.config.endpoint as string, suite);
    rawPeers.push(relay);
    const nonce = decodeNonceFrame((await relay.nextFrame(FrameType.NONCE)).payload) as Uint8Array;
    relay.send(FrameType.NONCE, encodeNonceFrame(systemRandom.bytes(32)));
    // A hello made for another TLS identity (as a member relaying someone's hello would have).
    const otherCertificate = createTlsIdentity({ clock: systemClock, random: systemRandom });
    const forged = createHello(bSigner, {
      chainId: CHAIN,
      nodeId: "b",
      fingerprint: suite.hash(otherCertificate.certificateDer),
      nonce,
    });
    relay.send(FrameType.HELLO, encodeHello(forged));
    expect(await relay.closed()).toBe("fingerprint-mismatch");

    const badSig = await connectRaw(a.config.endpoint as string, suite);
    rawPeers.push(badSig);
    const nonce2 = decodeNonceFrame(
      (await badSig.nextFrame(FrameType.NONCE)).payload,
    ) as Uint8Array;
    badSig.send(FrameType.NONCE, encodeNonceFrame(systemRandom.bytes(32)));
    const hello = createHello(bSigner, {
      chainId: CHAIN,
      nodeId: "b",
      fingerprint: badSig.fingerprint,
      nonce: nonce2,
    });
    const tampered: Hello = {
      ...hello,
      signature: hello.signature.map((byte, i) => (i === 0 ? byte ^ 1 : byte)),
    };
    badSig.send(FrameType.HELLO, encodeHello(tampered));
    expect(await badSig.closed()).toBe("bad-signature");
    await waitForLog(a, "connection rejected", { reason: "bad-signature" });
  });

  it("refuses a second connection of a connected pair (duplicate), keeping the first", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    await connectAll([a, b]);
    // A second connection as b, dialled by b: a keeps the one dialled by the smaller id (a).
    const dup = await authenticateRaw(a, { id: "b", signer: b.signer });
    expect(await dup.raw.closed()).toBe("duplicate-connection");
    await waitForLog(a, "connection rejected", { reason: "duplicate-connection" });
    expect(statusOf(a.transport, "b")?.connected).toBe(true);
    const atB = recordFrames(b.transport);
    a.transport.send("b", Uint8Array.of(5));
    await waitFor(
      "a frame on the kept connection",
      () => (atB.get("a")?.length === 1 ? true : undefined),
      { transports: [b.transport] },
    );
  });

  it("lets a newer connection from the same dialer replace the older one (a restarted peer)", async () => {
    const z = await startNode("z");
    const b = await startNode("b"); // "b" < "z": b dials
    await connectAll([z, b]);
    const again = await authenticateRaw(z, { id: "b", signer: b.signer });
    await again.raw.nextFrame(FrameType.READY);
    await waitForLog(z, "newer connection replaces the existing one", { peer: "b" });
    await waitForLog(b, "peer disconnected", { reason: "replaced", by: "remote" });
  });

  it("refuses connections beyond the limit of those still authenticating", async () => {
    const a = await startNode("a", { maxPendingConnections: 1 });
    const [host, port] = (a.config.endpoint as string).split(":") as [string, string];
    const idle = netConnect({ host, port: Number(port) });
    idle.on("error", () => {});
    await new Promise<void>((resolve) => idle.once("connect", () => resolve()));
    try {
      // The kernel hands connections to accept() in arrival order: the idle one is pending first.
      await expect(connectRaw(a.config.endpoint as string, getSuite("standard"))).rejects.toThrow();
      await waitFor("a refusal", () => a.transport.stats().closes["too-many-pending"]?.local);
    } finally {
      idle.destroy();
    }
  });

  it("closes connections that do not authenticate in time, and refuses frames over the pre-auth limit", async () => {
    const a = await startNode("a", { handshakeTimeoutMs: 150 });
    const idle = await connectRaw(a.config.endpoint as string, getSuite("standard"));
    rawPeers.push(idle);
    expect(await idle.closed()).toBe("handshake-timeout");
    const big = await connectRaw(a.config.endpoint as string, getSuite("standard"));
    rawPeers.push(big);
    big.send(FrameType.HELLO, new Uint8Array(5_000));
    expect(await big.closed()).toBe("frame-too-large");
  });
});

describe("TLS transport: frames, heartbeats, reconnects", () => {
  it("closes the connection of a peer that sends a frame over the limit, with the reason", async () => {
    const limit = 1024;
    const a = await startNode("a", { maxFrameBytes: limit });
    const bSigner = getSuite("standard").createSigner(getSuite("standard").generateKey());
    a.transport.setPeers([{ id: "b", publicKey: bSigner.publicKeyHex }]);
    const { raw } = await authenticateRaw(a, { id: "b", signer: bSigner });
    await raw.nextFrame(FrameType.READY);
    raw.send(FrameType.READY);
    await waitForPeer(a.transport, "b", true);
    const atA = recordFrames(a.transport);
    raw.send(FrameType.DATA, new Uint8Array(limit));
    // Only the header of the oversized frame: it is refused before its body arrives.
    const header = Buffer.alloc(5);
    header.writeUInt32BE(limit + 2, 0);
    raw.sendBytes(header);
    expect(await raw.closed()).toBe("frame-too-large");
    await waitForPeer(a.transport, "b", false);
    expect(atA.get("b")?.map((f) => f.length)).toEqual([limit]);
    await waitForLog(a, "connection rejected", { reason: "frame-too-large" });
  });

  it("reports RTT and lastSeen from heartbeats", async () => {
    const a = await startNode("a", { heartbeatIntervalMs: 20 });
    const b = await startNode("b", { heartbeatIntervalMs: 20 });
    await connectAll([a, b]);
    const rtt = await waitFor("an RTT at a", () => statusOf(a.transport, "b")?.rttMs);
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(2_000);
    await waitFor("an RTT at b", () => statusOf(b.transport, "a")?.rttMs);
    const lastSeen = statusOf(a.transport, "b")?.lastSeenMs as number;
    expect(Math.abs(lastSeen - Date.now())).toBeLessThan(5_000);
  });

  it("disconnects a peer that stops answering heartbeats", async () => {
    const a = await startNode("a", { heartbeatIntervalMs: 30, heartbeatMisses: 2 });
    const bSigner = getSuite("standard").createSigner(getSuite("standard").generateKey());
    a.transport.setPeers([{ id: "b", publicKey: bSigner.publicKeyHex }]);
    const { raw } = await authenticateRaw(a, { id: "b", signer: bSigner });
    await raw.nextFrame(FrameType.READY);
    raw.send(FrameType.READY);
    await waitForPeer(a.transport, "b", true);
    await raw.nextFrame(FrameType.PING); // heartbeats arrive; the raw peer never answers
    expect(await raw.closed()).toBe("heartbeat-timeout");
    await waitForPeer(a.transport, "b", false);
  });

  it("bounds the queue behind a peer that stops reading (no unbounded buffering)", async () => {
    const maxQueueBytes = 1024 * 1024;
    const a = await startNode("a", { maxQueueBytes, heartbeatIntervalMs: 60_000 });
    const bSigner = getSuite("standard").createSigner(getSuite("standard").generateKey());
    a.transport.setPeers([{ id: "b", publicKey: bSigner.publicKeyHex }]);
    const { raw } = await authenticateRaw(a, { id: "b", signer: bSigner });
    await raw.nextFrame(FrameType.READY);
    raw.send(FrameType.READY);
    await waitForPeer(a.transport, "b", true);
    raw.socket.pause(); // b reads nothing more: kernel buffers fill, then the socket's, then ours
    const frame = new Uint8Array(64 * 1024);
    let accepted = 0;
    let peak = 0;
    // One frame per turn, so flushes happen and backpressure comes from the socket, not the loop.
    const refusedAfter = await waitFor(
      "send to refuse",
      () => {
        for (let i = 0; i < 4; i++) {
          if (!a.transport.send("b", frame)) return accepted;
          accepted++;
          peak = Math.max(peak, statusOf(a.transport, "b")?.outboundQueueBytes ?? 0);
        }
        return undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(refusedAfter).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(maxQueueBytes);
    const status = statusOf(a.transport, "b");
    expect(status?.droppedFrames).toBe(1);
    expect(status?.connected).toBe(true);
    expect(a.transport.stats().droppedFrames.queueFull).toBe(1);
  });

  it("redials a peer that stopped, once it is back on the same port, with backoff in between", async () => {
    const clock = createTrackingClock();
    const a = await startNode("a", { clock });
    const b = await startNode("b", { clock });
    await connectAll([a, b]);
    const port = Number(b.config.endpoint?.split(":")[1]);
    await b.transport.stop();
    await waitForPeer(a.transport, "b", false);
    await waitFor("a failed redial", () =>
      (a.transport.stats().closes["connect-failed"]?.local ?? 0) +
        (a.transport.stats().closes["connect-failed"]?.remote ?? 0) >
      0
        ? true
        : undefined,
    );
    const b2 = await startNode("b", {
      clock,
      signer: b.signer,
      listen: { host: "127.0.0.1", port },
    });
    b2.transport.setPeers([a.config, b2.config]);
    await waitForPeer(a.transport, "b", true);
    await waitForPeer(b2.transport, "a", true);
    expect(statusOf(a.transport, "b")?.reconnects).toBe(1);
  });

  it("lets a node without an endpoint of its own dial peers whose id is smaller", async () => {
    const a = await startNode("a");
    const z = await startNode("z", { listen: false });
    expect(z.transport.listenEndpoint).toBeUndefined();
    const zConfig: PeerConfig = { id: "z", publicKey: z.signer.publicKeyHex };
    a.transport.setPeers([a.config, zConfig]);
    z.transport.setPeers([a.config, zConfig]);
    await waitForPeer(a.transport, "z", true);
    await waitForPeer(z.transport, "a", true);
  });
});
