/**
 * Client batches a validator still holds unordered are gossiped again. A validator is not the
 * primary most of the time; if the primary missed the first gossip (its link to a validator
 * that just restarted was still in reconnect back-off), nothing else would ever bring it the
 * batches, and the client's 202 would mean nothing (seen in the wiped-validator e2e: a third
 * of runs timed out waiting for the rejoined node's batches).
 */
import { describe, expect, it } from "vitest";
import type { Admission } from "../../src/admission/admission.js";
import { createMempool } from "../../src/admission/mempool.js";
import type { Clock, Timer } from "../../src/common/clock.js";
import { silentLogger } from "../../src/common/logger.js";
import { getSuite } from "../../src/crypto/index.js";
import type { BlockStore } from "../../src/ledger/block-store.js";
import type { Transport } from "../../src/network/interface.js";
import { createPeerServices } from "../../src/p2p/peer-services.js";
import { DEFAULT_WIRE_LIMITS, decodeBatchList } from "../../src/wire/index.js";
import type { ParsedBatch } from "../../src/wire/types.js";
import { intkeyTx, newSigner, parsedBatch } from "../support/fixtures.js";

/** A clock whose timers fire when the test advances it. */
function manualClock() {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const clock = {
    now: () => now,
    monotonic: () => now,
    setTimer(ms: number, fn: () => void): Timer {
      const timer = { at: now + ms, fn };
      timers.add(timer);
      return { cancel: () => timers.delete(timer) };
    },
  } as unknown as Clock;
  const advance = (ms: number): void => {
    now += ms;
    for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
      if (timer.at > now) continue;
      timers.delete(timer);
      timer.fn();
    }
  };
  return { clock, advance };
}

describe("peer services: gossip of unordered client batches", () => {
  it("gossips a client batch again while it stays unordered, and stops once it is ordered", () => {
    const { clock, advance } = manualClock();
    const broadcasts: string[][] = [];
    const transport = {
      maxFrameBytes: 16 * 2 ** 20,
      broadcast(frame: Uint8Array) {
        broadcasts.push(decodeBatchList(frame.subarray(1)).batches.map((b) => b.headerSignature));
        return 3;
      },
      send: () => true,
      onFrame: () => () => {},
      onPeerChange: () => () => {},
      peers: () => [],
      setPeers: () => {},
    } as unknown as Transport;
    let admitted: (batches: readonly ParsedBatch[], source: "client" | "peer") => void = () => {};
    const admission = {
      onAdmitted(listener: typeof admitted) {
        admitted = listener;
        return () => {};
      },
    } as unknown as Admission;
    const mempool = createMempool({ clock });
    const services = createPeerServices({
      transport,
      suite: getSuite("standard"),
      limits: DEFAULT_WIRE_LIMITS,
      admission,
      mempool,
      blocks: { head: () => undefined } as unknown as BlockStore,
      clock,
      logger: silentLogger,
      onPbftFrame: () => {},
      headIntervalMs: 60_000,
      regossipMs: 5_000,
    });
    services.start();
    const signer = newSigner();
    const [a, b] = [
      parsedBatch(signer, [intkeyTx(signer, "set", "a", 1)]),
      parsedBatch(signer, [intkeyTx(signer, "set", "b", 1)]),
    ];
    mempool.add([a, b]);
    admitted([a, b], "client");
    admitted([parsedBatch(signer, [intkeyTx(signer, "set", "p", 1)])], "peer"); // not ours
    expect(broadcasts).toEqual([[a.id, b.id]]);

    advance(4_000); // younger than the period: nothing yet
    expect(broadcasts).toHaveLength(1);
    advance(1_000);
    expect(broadcasts).toEqual([
      [a.id, b.id],
      [a.id, b.id],
    ]);

    mempool.remove([a.id]); // a is ordered; b still waits
    advance(5_000);
    expect(broadcasts.at(-1)).toEqual([b.id]);
    mempool.remove([b.id]);
    const sent = broadcasts.length;
    advance(20_000);
    expect(broadcasts).toHaveLength(sent);
    services.stop();
  });
});
