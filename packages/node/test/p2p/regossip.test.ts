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
import { createPeerServices, FrameKind } from "../../src/p2p/peer-services.js";
import { DEFAULT_WIRE_LIMITS, decodeBatchList, encodeBatchList } from "../../src/wire/index.js";
import type { Batch, ParsedBatch } from "../../src/wire/types.js";
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

/** Peer services over a transport and admission that record what they are given. */
function harness() {
  const { clock, advance } = manualClock();
  const broadcasts: string[][] = [];
  let deliver: (peer: string, frame: Uint8Array) => void = () => {};
  const transport = {
    maxFrameBytes: 16 * 2 ** 20,
    broadcast(frame: Uint8Array) {
      broadcasts.push(decodeBatchList(frame.subarray(1)).batches.map((b) => b.headerSignature));
      return 3;
    },
    send: () => true,
    onFrame(handler: typeof deliver) {
      deliver = handler;
      return () => {};
    },
    onPeerChange: () => () => {},
    peers: () => [],
    setPeers: () => {},
  } as unknown as Transport;
  let admitted: (batches: readonly ParsedBatch[], source: "client" | "peer") => void = () => {};
  const submitted: string[][] = [];
  const admission = {
    onAdmitted(listener: typeof admitted) {
      admitted = listener;
      return () => {};
    },
    async submitParsed(batches: readonly ParsedBatch[]) {
      submitted.push(batches.map((b) => b.id));
      return { batchIds: batches.map((b) => b.id) };
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
  const gossip = (batches: readonly Batch[]): void =>
    deliver("peer1", Uint8Array.of(FrameKind.BATCHES, ...encodeBatchList(batches)));
  return {
    advance,
    broadcasts,
    submitted,
    mempool,
    services,
    gossip,
    admit: (batches: readonly ParsedBatch[], source: "client" | "peer") =>
      admitted(batches, source),
  };
}

describe("peer services: gossip of unordered client batches", () => {
  it("gossips a client batch again while it stays unordered, and stops once it is ordered", () => {
    const { advance, broadcasts, mempool, services, admit } = harness();
    const signer = newSigner();
    const [a, b] = [
      parsedBatch(signer, [intkeyTx(signer, "set", "a", 1)]),
      parsedBatch(signer, [intkeyTx(signer, "set", "b", 1)]),
    ];
    mempool.add([a, b]);
    admit([a, b], "client");
    admit([parsedBatch(signer, [intkeyTx(signer, "set", "p", 1)])], "peer"); // not ours
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

  it("checks the signatures of gossiped batches it does not hold, and only submits those", () => {
    const { gossip, submitted, mempool, services } = harness();
    const signer = newSigner();
    const [pending, fresh, other] = [
      parsedBatch(signer, [intkeyTx(signer, "set", "pending", 1)]),
      parsedBatch(signer, [intkeyTx(signer, "set", "fresh", 1)]),
      parsedBatch(signer, [intkeyTx(signer, "set", "other", 1)]),
    ];
    mempool.add([pending]);
    // Another batch's header under the pending batch's id (its signature): it cannot verify,
    // but a pending id is left out before any check, and never submitted.
    const posingAsPending: Batch = { ...other.raw, headerSignature: pending.id };
    gossip([posingAsPending, fresh.raw]);
    expect(submitted).toEqual([[fresh.id]]);
    gossip([pending.raw]); // all held already: nothing to submit
    expect(submitted).toHaveLength(1);
    // The same forgery under an id not held here fails its check and refuses the whole list.
    const forged: Batch = { ...other.raw, headerSignature: fresh.id };
    gossip([forged, other.raw]);
    expect(submitted).toHaveLength(1);
    services.stop();
  });
});
