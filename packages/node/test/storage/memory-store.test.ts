import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../src/storage/memory-store.js";
import { describeKvStoreCompliance } from "./kv-store-compliance.js";

describeKvStoreCompliance(
  "memory",
  async () => {
    const store = createMemoryStore();
    return {
      store,
      activeIterations: () => store.activeIterations,
      dispose: () => store.close(),
    };
  },
  { propertyRuns: 300 },
);

describe("memory store", () => {
  it("counts its keys", async () => {
    const store = createMemoryStore();
    await store.open();
    expect(store.size).toBe(0);
    await store.write([
      { type: "put", key: Uint8Array.of(1), value: Uint8Array.of(1) },
      { type: "put", key: Uint8Array.of(2), value: Uint8Array.of(2) },
      { type: "put", key: Uint8Array.of(1), value: Uint8Array.of(3) },
    ]);
    expect(store.size).toBe(2);
    await store.write([{ type: "del", key: Uint8Array.of(1) }]);
    expect(store.size).toBe(1);
  });

  it("keeps an abandoned iteration's snapshot without affecting later writes", async () => {
    const store = createMemoryStore();
    await store.open();
    await store.write([{ type: "put", key: Uint8Array.of(1), value: Uint8Array.of(1) }]);
    const abandoned = store.iterate()[Symbol.asyncIterator]();
    await abandoned.next();
    for (let i = 2; i < 100; i++) {
      await store.write([{ type: "put", key: Uint8Array.of(i), value: Uint8Array.of(i) }]);
    }
    let count = 0;
    for await (const _ of store.iterate()) count++;
    expect(count).toBe(99);
    expect(store.activeIterations).toBe(1);
    expect((await abandoned.next()).done).toBe(true);
    expect(store.activeIterations).toBe(0);
  });
});
