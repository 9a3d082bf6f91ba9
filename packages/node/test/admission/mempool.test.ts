import { describe, expect, it } from "vitest";
import { createMempool, QueueFullError } from "../../src/admission/mempool.js";
import { systemClock } from "../../src/common/clock.js";
import { isGovchainError } from "../../src/common/errors.js";
import { intkeyTx, newSigner, parsedBatch } from "../support/fixtures.js";

const signer = newSigner();
const batch = (name: string) => parsedBatch(signer, [intkeyTx(signer, "set", name, 1)]);

describe("mempool", () => {
  it("hands out batches in arrival order and keeps in-flight ones out of later selections", () => {
    const pool = createMempool({ clock: systemClock });
    const [a, b, c] = [batch("a"), batch("b"), batch("c")];
    pool.add([a, b, c]);
    expect(pool.take({ maxBatches: 2, maxBytes: 1e9 }).map((x) => x.id)).toEqual([a.id, b.id]);
    expect(pool.available).toBe(1);
    expect(pool.take({ maxBatches: 5, maxBytes: 1e9 }).map((x) => x.id)).toEqual([c.id]);
    pool.release([b.id, a.id]);
    expect(pool.take({ maxBatches: 5, maxBytes: 1e9 }).map((x) => x.id)).toEqual([a.id, b.id]);
    pool.remove([a.id, b.id, c.id]);
    expect(pool.size).toBe(0);
    expect(pool.bytes).toBe(0);
  });

  it("keeps a batch in flight until every candidate block holding it is dropped", () => {
    // A node's own proposal from a stale view and another primary's block can both hold a
    // batch. Dropping the first must not make it available while the second still holds it:
    // a block proposed on top of the second would include the batch twice (seen as an INVALID
    // "set" of an existing intkey name after a primary was killed and restarted).
    const pool = createMempool({ clock: systemClock });
    const [a, b] = [batch("a"), batch("b")];
    pool.add([a, b]);
    expect(pool.take({ maxBatches: 1, maxBytes: 1e9 }).map((x) => x.id)).toEqual([a.id]);
    pool.claim([a.id, b.id]); // another primary's block with both
    expect(pool.available).toBe(0);
    pool.release([a.id]); // this node's own block is dropped
    expect(pool.available).toBe(0);
    expect(pool.take({ maxBatches: 5, maxBytes: 1e9 })).toEqual([]);
    pool.release([a.id, b.id]); // and the other block too
    expect(pool.take({ maxBatches: 5, maxBytes: 1e9 }).map((x) => x.id)).toEqual([a.id, b.id]);
    // Releasing more often than held changes nothing.
    pool.release([a.id, b.id]);
    pool.release([a.id, b.id]);
    expect(pool.available).toBe(2);
    pool.remove([a.id, b.id]);
    expect(pool.size).toBe(0);
  });

  it("respects byte limits but always takes at least one batch", () => {
    const pool = createMempool({ clock: systemClock });
    const [a, b] = [batch("a"), batch("b")];
    pool.add([a, b]);
    expect(pool.take({ maxBatches: 10, maxBytes: 1 })).toHaveLength(1);
  });

  it("refuses duplicates of batches and of transactions", () => {
    const pool = createMempool({ clock: systemClock });
    const a = batch("a");
    pool.add([a]);
    expect(() => pool.add([a])).toThrow(/already pending/);
    const reuse = parsedBatch(signer, [
      a.transactions[0]?.raw as never,
      intkeyTx(signer, "set", "z", 1),
    ]);
    try {
      pool.add([reuse]);
      expect.unreachable();
    } catch (err) {
      expect(isGovchainError(err, "ALREADY_PENDING")).toBe(true);
    }
  });

  it("is bounded by count and bytes, all-or-nothing, with a Retry-After estimate", () => {
    const pool = createMempool({ clock: systemClock, maxBatches: 2 });
    pool.add([batch("a")]);
    expect(() => pool.add([batch("b"), batch("c")])).toThrow(QueueFullError);
    expect(pool.size).toBe(1);
    const small = createMempool({ clock: systemClock, maxBytes: 10 });
    try {
      small.add([batch("a")]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(QueueFullError);
      expect((err as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it("wakes listeners when batches arrive or return", () => {
    const pool = createMempool({ clock: systemClock });
    let wakes = 0;
    const off = pool.onAvailable(() => wakes++);
    const a = batch("a");
    pool.add([a]);
    pool.take({ maxBatches: 1, maxBytes: 1e9 });
    pool.release([a.id]);
    off();
    pool.add([batch("b")]);
    expect(wakes).toBe(2);
  });
});
