import { describe, expect, it } from "vitest";
import { createMempool } from "../../src/admission/mempool.js";
import { type Chain, createChain } from "../../src/chain/chain.js";
import { systemClock } from "../../src/common/clock.js";
import { silentLogger } from "../../src/common/logger.js";
import { createDevmodeEngine } from "../../src/consensus/devmode.js";
import { getSuite } from "../../src/crypto/index.js";
import { createExecutor } from "../../src/execution/executor.js";
import { createFamilyRegistry } from "../../src/execution/registry.js";
import {
  builtinFamilies,
  createChainServices,
  decodeIntkeyState,
  intkeyAddress,
} from "../../src/families/index.js";
import { genesisBlock, signGenesis } from "../../src/genesis/genesis.js";
import { createBlockStore } from "../../src/ledger/block-store.js";
import { createStateTree } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { parseBlock } from "../../src/wire/index.js";
import { intkeyTx, newSigner, parsedBatch } from "../support/fixtures.js";

const suite = getSuite("standard");

async function setup(cacheBytes?: number) {
  const store = createMemoryStore();
  await store.open();
  const state = createStateTree({ store, hash: suite.hash, hashName: suite.hashName });
  const blocks = createBlockStore({ store, ...(cacheBytes !== undefined ? { cacheBytes } : {}) });
  await blocks.open();
  const mempool = createMempool({ clock: systemClock });
  const validator = newSigner();
  const executor = createExecutor({
    state,
    families: createFamilyRegistry(builtinFamilies()),
    services: createChainServices(),
    logger: silentLogger,
  });
  const chain = createChain({
    suite,
    signer: validator,
    blocks,
    state,
    executor,
    mempool,
    clock: systemClock,
    logger: silentLogger,
  });
  const genesis = await signGenesis(
    {
      format: "govchain-genesis/1",
      chainId: "test",
      suite: "standard",
      timestampMs: 1_700_000_000_000,
      consensus: { engine: "devmode" },
      validators: [{ id: "node0", publicKey: validator.publicKeyHex }],
      settings: { "govchain.family.intkey.policy": "any" },
    },
    validator,
    suite,
    state,
  );
  const g = await genesisBlock(genesis, suite, state);
  await blocks.commit({ ...g, receipts: [], stateOperations: g.update.operations });
  state.release(g.update);
  return { store, state, blocks, mempool, chain, validator };
}

async function intkey(chain: Chain, state: ReturnType<typeof createStateTree>, name: string) {
  const bytes = await state.get(chain.head().stateRoot, intkeyAddress(name));
  return bytes ? decodeIntkeyState(bytes).get(name) : undefined;
}

describe("chain controller", () => {
  it("proposes, commits and reports batch statuses", async () => {
    const { chain, mempool, state, blocks } = await setup();
    const signer = newSigner();
    const good = parsedBatch(signer, [intkeyTx(signer, "set", "a", 1)]);
    const bad = parsedBatch(signer, [intkeyTx(signer, "inc", "nope", 1)]);
    mempool.add([good, bad]);
    expect((await chain.batchStatuses([good.id]))[0]?.status).toBe("PENDING");
    const candidate = await chain.propose({
      timestampMs: 1_700_000_000_500,
      engine: "devmode",
      limits: { maxBatches: 10, maxBytes: 1e6 },
    });
    expect(candidate?.block.batches).toHaveLength(1);
    expect((await chain.batchStatuses([bad.id]))[0]).toMatchObject({ status: "INVALID" });
    await chain.commit(candidate as NonNullable<typeof candidate>);
    expect(chain.head().height).toBe(1n);
    expect(await intkey(chain, state, "a")).toBe(1);
    const [g, b] = await chain.batchStatuses([good.id, bad.id]);
    expect(g?.status).toBe("COMMITTED");
    expect(b?.status).toBe("INVALID");
    expect(b?.invalidTransactions[0]?.message).toMatch(/does not exist/);
    expect((await chain.batchStatuses(["f".repeat(128)]))[0]?.status).toBe("UNKNOWN");
    // The invalid record survives in the block store.
    expect((await blocks.getInvalidBatch(bad.id))?.invalidTransactions[0]?.id).toBe(
      bad.transactions[0]?.id,
    );
    expect(await blocks.getReceipt(good.transactions[0]?.id as string)).toBeDefined();
  });

  it("keeps the decoded blocks it caches within a byte bound, and reads evicted ones from disk", async () => {
    const bound = 64 * 1024;
    const { chain, mempool, blocks } = await setup(bound);
    const signer = newSigner();
    let largest = 0;
    for (let b = 0; b < 12; b++) {
      mempool.add(
        Array.from({ length: 20 }, (_, i) =>
          parsedBatch(signer, [intkeyTx(signer, "set", `k${b}-${i}`, i)]),
        ),
      );
      const candidate = await chain.propose({
        timestampMs: 1_700_000_002_000 + b,
        engine: "devmode",
        limits: { maxBatches: 100, maxBytes: 1e7 },
      });
      if (!candidate) throw new Error("no candidate");
      largest = Math.max(largest, candidate.bytes.byteLength);
      await chain.commit(candidate);
    }
    // 12 blocks of ~20 batches each are several times the bound: not all stay cached.
    expect(largest * 12).toBeGreaterThan(2 * bound);
    const usage = blocks.cacheUsage();
    expect(usage.bytes).toBeLessThanOrEqual(bound);
    expect(usage.blocks).toBeLessThan(13);
    // Every block is still served, from the store when evicted.
    for (let h = 1n; h <= 12n; h++) {
      const block = await blocks.getBlockByHeight(h);
      expect(block?.block.batches).toHaveLength(20);
    }
    expect(blocks.cacheUsage().bytes).toBeLessThanOrEqual(bound);
  });

  it("validates a block from another proposer and refuses a tampered one", async () => {
    const a = await setup();
    const signer = newSigner();
    const batch = parsedBatch(signer, [intkeyTx(signer, "set", "v", 7)]);
    a.mempool.add([batch]);
    const candidate = await a.chain.propose({
      timestampMs: 1_700_000_001_000,
      engine: "devmode",
      limits: { maxBatches: 10, maxBytes: 1e6 },
    });
    if (!candidate) throw new Error("no candidate");
    // Validate on the same chain state (as a replica would, from the same parent).
    const parsed = parseBlock(candidate.bytes, { suite });
    const checked = await a.chain.validate(parsed);
    expect(checked.executed.stateRoot).toBe(candidate.executed.stateRoot);
    a.chain.abandon(checked);

    const forged = { ...parsed, header: { ...parsed.header, stateRootHash: "0".repeat(64) } };
    await expect(a.chain.validate(forged)).rejects.toThrow(/signature does not verify|state root/);
    a.chain.abandon(candidate);
    expect(a.mempool.available).toBe(1);
  });

  it("runs devmode: batches become blocks and waiters see COMMITTED", async () => {
    const { chain, mempool, state } = await setup();
    const engine = createDevmodeEngine({
      chain,
      pending: mempool,
      clock: systemClock,
      logger: silentLogger,
      nodeId: "node0",
      limits: { maxBatches: 3, maxBytes: 1e6 },
    });
    await engine.start();
    const signer = newSigner();
    const batches = Array.from({ length: 10 }, (_, i) =>
      parsedBatch(signer, [intkeyTx(signer, "set", `k${i}`, i)]),
    );
    mempool.add(batches);
    const statuses = await chain.waitForBatches(
      batches.map((b) => b.id),
      10_000,
    );
    await engine.stop();
    expect(statuses.every((s) => s.status === "COMMITTED")).toBe(true);
    expect(chain.head().height).toBeGreaterThanOrEqual(4n); // at most 3 batches a block
    expect(await intkey(chain, state, "k9")).toBe(9);
    expect(engine.status()).toMatchObject({
      engine: "devmode",
      primary: "node0",
      validators: ["node0"],
    });
  });
});
