/**
 * Configuration at the edges of the transport: endpoints, option ranges, peer set validation,
 * and the reconnect backoff.
 */
import { describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import { createSeededRandom } from "../../src/common/random.js";
import { getSuite } from "../../src/crypto/index.js";
import { backoffDelay } from "../../src/network/backoff.js";
import { formatEndpoint, parseEndpoint } from "../../src/network/endpoint.js";
import {
  resolvePeerSet,
  resolveTransportLimits,
  TRANSPORT_DEFAULTS,
} from "../../src/network/options.js";

const suite = getSuite("standard");
const signer = suite.createSigner(suite.generateKey());
const base = { localId: "a", chainId: "c", suite, signer };

describe("endpoints", () => {
  it("parses host:port and [ipv6]:port, and formats them back", () => {
    expect(parseEndpoint("127.0.0.1:7000")).toEqual({ host: "127.0.0.1", port: 7000 });
    expect(parseEndpoint("validator-1.example:1")).toEqual({
      host: "validator-1.example",
      port: 1,
    });
    expect(parseEndpoint("[::1]:65535")).toEqual({ host: "::1", port: 65535 });
    expect(formatEndpoint({ host: "::1", port: 80 })).toBe("[::1]:80");
    expect(formatEndpoint({ host: "10.0.0.1", port: 80 })).toBe("10.0.0.1:80");
  });

  it.each([
    "",
    "host",
    ":80",
    "host:",
    "host:0",
    "host:65536",
    "host:8o",
    "::1:80",
    "[::1]80",
    "a b:1",
    "[zz]:1",
  ])("rejects %j", (text) => {
    expect(parseEndpoint(text)).toBeUndefined();
  });
});

describe("transport options", () => {
  it("applies the documented defaults", () => {
    expect(resolveTransportLimits(base)).toEqual({
      maxFrameBytes: 16 * 1024 * 1024,
      maxQueueBytes: 64 * 1024 * 1024,
      heartbeatIntervalMs: 1000,
      heartbeatMisses: 3,
      handshakeTimeoutMs: 5000,
      reconnectBaseMs: 100,
      reconnectMaxMs: 5000,
      maxPendingConnections: 64,
    });
    expect(TRANSPORT_DEFAULTS.listenHost).toBe("127.0.0.1");
  });

  it.each([
    { maxFrameBytes: 0 },
    { maxFrameBytes: 2 ** 32 },
    { maxQueueBytes: 0.5 },
    { heartbeatMisses: 0 },
    { reconnectBaseMs: 500, reconnectMaxMs: 100 },
    { localId: "" },
    { listen: { port: 70_000 } },
  ])("rejects %j", (change) => {
    let error: unknown;
    try {
      resolveTransportLimits({ ...base, ...change });
    } catch (err) {
      error = err;
    }
    expect(isGovchainError(error, "NETWORK_INVALID_OPTIONS")).toBe(true);
  });
});

describe("peer sets", () => {
  const key = (s = suite.createSigner(suite.generateKey())) => s.publicKeyHex;

  it("splits off the local entry and lower-cases keys", () => {
    const k = key();
    const set = resolvePeerSet(
      [
        { id: "a", publicKey: signer.publicKeyHex },
        { id: "b", publicKey: k.toUpperCase(), endpoint: "h:1" },
      ],
      "a",
      suite,
    );
    expect(set.self?.id).toBe("a");
    expect([...set.peers.values()]).toEqual([
      { id: "b", publicKey: k, endpoint: "h:1", host: "h", port: 1 },
    ]);
  });

  it("accepts secp256k1 keys in the standard suite and SM2 keys in gm", () => {
    const secp = suite.createSigner(suite.generateKey("secp256k1")).publicKeyHex;
    expect(resolvePeerSet([{ id: "b", publicKey: secp }], "a", suite).peers.size).toBe(1);
    const gm = getSuite("gm");
    const sm2 = gm.createSigner(gm.generateKey()).publicKeyHex;
    expect(resolvePeerSet([{ id: "b", publicKey: sm2 }], "a", gm).peers.size).toBe(1);
  });
});

describe("reconnect backoff", () => {
  const options = { baseMs: 100, maxMs: 5000 };
  it("doubles from the base to the cap, with jitter in the upper half of each step", () => {
    const random = createSeededRandom(1);
    for (let attempt = 0; attempt < 40; attempt++) {
      const step = Math.min(5000, 100 * 2 ** attempt);
      for (let k = 0; k < 20; k++) {
        const delay = backoffDelay(attempt, options, random);
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
      }
    }
    expect(backoffDelay(1e9, options, createSeededRandom(2))).toBeLessThanOrEqual(5000);
  });

  it("spreads nodes that retry at the same moment", () => {
    const delays = new Set(
      [1, 2, 3, 4, 5].map((seed) => Math.round(backoffDelay(3, options, createSeededRandom(seed)))),
    );
    expect(delays.size).toBeGreaterThan(1);
  });
});
