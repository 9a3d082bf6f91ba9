import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GovchainError } from "../../src/common/errors.js";
import { createLevelStore, type LevelStore } from "../../src/storage/level-store.js";
import { describeKvStoreCompliance } from "./kv-store-compliance.js";

describeKvStoreCompliance(
  "LevelDB",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "govchain-level-"));
    const store = createLevelStore({ path: join(dir, "db") });
    return {
      store,
      activeIterations: () => store.activeIterations,
      dispose: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { propertyRuns: 60 },
);

async function rejectionOf(promise: Promise<unknown>): Promise<GovchainError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GovchainError);
    return err as GovchainError;
  }
  throw new Error("expected a rejection, got a result");
}

describe("LevelDB store", () => {
  let dir: string;
  const stores: LevelStore[] = [];
  const make = (
    path: string,
    options: Omit<Parameters<typeof createLevelStore>[0], "path"> = {},
  ) => {
    const store = createLevelStore({ path, ...options });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "govchain-level-"));
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a missing directory with its parents and reports an absolute path", async () => {
    const store = make(join(dir, "a", "b", "c"));
    await store.open();
    expect(isAbsolute(store.path)).toBe(true);
    expect(store.path).toBe(join(dir, "a", "b", "c"));
    expect(
      (await readFile(join(dir, "a", "b", "c", "CURRENT"), "utf8")).startsWith("MANIFEST-"),
    ).toBe(true);
  });

  it("keeps data across store objects on the same directory", async () => {
    const first = make(join(dir, "db"), {
      cacheSizeBytes: 1 << 20,
      writeBufferSizeBytes: 1 << 20,
      compression: false,
    });
    await first.open();
    await first.write([{ type: "put", key: Uint8Array.of(1), value: Uint8Array.of(42) }], {
      sync: true,
    });
    await first.close();
    const second = make(join(dir, "db"), {
      blockSizeBytes: 8192,
      maxFileSizeBytes: 4 << 20,
      maxOpenFiles: 100,
    });
    await second.open();
    expect(await second.get(Uint8Array.of(1))).toEqual(Uint8Array.of(42));
  });

  it("reports STORE_LOCKED with the path when the directory is already open, and opens once released", async () => {
    const path = join(dir, "db");
    const holder = make(path);
    await holder.open();
    const contender = make(path);
    const err = await rejectionOf(contender.open());
    expect(err.code).toBe("STORE_LOCKED");
    expect(err.message).toContain(path);
    expect(err.context).toMatchObject({ path });
    await expect(contender.get(Uint8Array.of(1))).rejects.toMatchObject({ code: "STORE_NOT_OPEN" });
    await holder.close();
    await contender.open();
    expect(await contender.get(Uint8Array.of(1))).toBeUndefined();
  });

  it("reports STORE_OPEN_FAILED for a corrupt database", async () => {
    const path = join(dir, "db");
    const store = make(path);
    await store.open();
    await store.write([{ type: "put", key: Uint8Array.of(1), value: Uint8Array.of(1) }]);
    await store.close();
    await writeFile(join(path, "CURRENT"), "not a manifest name");
    const err = await rejectionOf(store.open());
    expect(err.code).toBe("STORE_OPEN_FAILED");
    expect(err.message).toContain(path);
    await writeFile(join(path, "CURRENT"), "MANIFEST-999999\n");
    expect((await rejectionOf(store.open())).code).toBe("STORE_OPEN_FAILED");
  });

  it("reports STORE_OPEN_FAILED when the path is a file or lies under one", async () => {
    const file = join(dir, "plain-file");
    await writeFile(file, "x");
    for (const path of [file, join(file, "db")]) {
      const err = await rejectionOf(make(path).open());
      expect(err.code).toBe("STORE_OPEN_FAILED");
      expect(err.message).toContain(path);
    }
  });

  it.skipIf(process.getuid?.() === 0)(
    "reports STORE_OPEN_FAILED for an unreadable directory",
    async () => {
      const { chmod } = await import("node:fs/promises");
      const path = join(dir, "db");
      const store = make(path);
      await store.open();
      await store.close();
      await chmod(path, 0o000);
      try {
        expect((await rejectionOf(store.open())).code).toBe("STORE_OPEN_FAILED");
      } finally {
        await chmod(path, 0o700);
      }
    },
  );

  it("rejects invalid options with STORE_INVALID_ARGUMENT before touching the disk", () => {
    const invalid = [
      { path: "" },
      { path: 5 },
      { path: join(dir, "x"), cacheSizeBytes: -1 },
      { path: join(dir, "x"), writeBufferSizeBytes: 1.5 },
      { path: join(dir, "x"), maxOpenFiles: 0 },
      { path: join(dir, "x"), compression: "yes" },
    ];
    for (const options of invalid) {
      expect(() =>
        createLevelStore(options as Parameters<typeof createLevelStore>[0]),
      ).toThrowError(expect.objectContaining({ code: "STORE_INVALID_ARGUMENT" }));
    }
  });
});
