/**
 * Durability and locking across real processes: a child writes synced batches and is killed
 * with SIGKILL mid-stream; every batch it acknowledged must be on disk after reopening, and no
 * batch may be there in part. The test reacts to the child's output, never to the clock.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import { GovchainError } from "../../src/common/errors.js";
import { createLevelStore } from "../../src/storage/level-store.js";
import {
  BATCH_PREFIX,
  batchKey,
  batchValue,
  decodeHead,
  HEAD_KEY,
  KEYS_PER_BATCH,
  parseBatchKey,
} from "./fixtures/durability-layout.js";

const CHILD = fileURLToPath(new URL("./fixtures/store-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout line matching `predicate`; rejects if the child ends first. */
  waitForLine(predicate: (line: string) => boolean): Promise<string>;
  /** Resolves once the child has exited and its output is fully read. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: readonly string[];
  stderr(): string;
}

describe("LevelDB store across processes", () => {
  let dir: string;
  const children: Child[] = [];

  const startChild = (
    args: readonly string[],
    onLine: (line: string) => void = () => {},
  ): Child => {
    const proc = spawn(process.execPath, ["--import", TSX, CHILD, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    let ended = false;
    const waiters = new Set<{
      predicate: (line: string) => boolean;
      resolve: (line: string) => void;
      reject: (err: Error) => void;
    }>();
    proc.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    createInterface({ input: proc.stdout }).on("line", (line) => {
      lines.push(line);
      onLine(line);
      for (const waiter of waiters) {
        if (waiter.predicate(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    });
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        proc.on("close", (code, signal) => {
          ended = true;
          for (const waiter of waiters)
            waiter.reject(
              new Error(
                `child ended (code ${code}, signal ${signal}) before the expected line; stderr:\n${stderr}`,
              ),
            );
          waiters.clear();
          resolve({ code, signal });
        });
      },
    );
    const child: Child = {
      process: proc,
      closed,
      lines,
      stderr: () => stderr,
      waitForLine: (predicate) => {
        const seen = lines.find(predicate);
        if (seen !== undefined) return Promise.resolve(seen);
        if (ended) return Promise.reject(new Error(`child already ended; stderr:\n${stderr}`));
        return new Promise((resolve, reject) => waiters.add({ predicate, resolve, reject }));
      },
    };
    children.push(child);
    return child;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "govchain-level-proc-"));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill("SIGKILL");
      }
      await child.closed;
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** Checks the layout invariant of durability-layout.ts and returns HEAD. */
  async function verifyStore(path: string): Promise<number> {
    const store = createLevelStore({ path });
    await store.open();
    try {
      const headValue = await store.get(HEAD_KEY);
      const head = headValue === undefined ? 0 : decodeHead(headValue);
      const problems: string[] = [];
      let seen = 0;
      for await (const [key, value] of store.iterate({
        gte: Uint8Array.of(BATCH_PREFIX),
        lt: Uint8Array.of(BATCH_PREFIX + 1),
      })) {
        const { n, i } = parseBatchKey(key);
        seen++;
        if (n > head) problems.push(`key (${n}, ${i}) of a batch above HEAD ${head}`);
        else if (i === 0 && n !== head)
          problems.push(`key (${n}, 0) survived batch ${n + 1}'s delete`);
        else if (toHex(value) !== toHex(batchValue(n, i)))
          problems.push(`key (${n}, ${i}) has a wrong value`);
      }
      // Every batch up to HEAD has its keys 1…K-1, and HEAD's batch has key 0 too.
      const expected = head * (KEYS_PER_BATCH - 1) + (head > 0 ? 1 : 0);
      if (seen !== expected) {
        problems.push(`found ${seen} batch keys, expected ${expected} for HEAD ${head}`);
      }
      if (head > 0 && (await store.get(batchKey(head, 0))) === undefined) {
        problems.push(`HEAD batch ${head} lacks key 0`);
      }
      expect(problems.slice(0, 10)).toEqual([]);
      return head;
    } finally {
      await store.close();
    }
  }

  it("keeps every acknowledged batch, and no partial batch, through repeated kill -9", async () => {
    const path = join(dir, "db");
    let lastHead = 0;
    // Different kill points per round; each round continues from the HEAD the last one left.
    for (const killAfter of [5, 17, 9]) {
      const acks: number[] = [];
      let killed = false;
      const child = startChild(["write", path], (line) => {
        const match = /^ack (\d+)$/.exec(line);
        if (match === null) return;
        acks.push(Number(match[1]));
        // React to the output: kill as soon as enough batches are acknowledged, while the
        // child is already writing the next one.
        if (!killed && acks.length >= killAfter) {
          killed = true;
          child.process.kill("SIGKILL");
        }
      });
      const { signal } = await child.closed;
      expect(signal, `child stderr:\n${child.stderr()}`).toBe("SIGKILL");
      expect(acks.length).toBeGreaterThanOrEqual(killAfter);
      // Acknowledged batches are consecutive and continue where the previous round stopped.
      expect(acks).toEqual(acks.map((_, i) => lastHead + 1 + i));
      const head = await verifyStore(path);
      const lastAck = acks.at(-1) ?? 0;
      expect(head).toBeGreaterThanOrEqual(lastAck);
      // At most the batch in flight at the kill can be there without its ack.
      expect(head).toBeLessThanOrEqual(lastAck + 1);
      lastHead = head;
    }
  });

  it("reports STORE_LOCKED with the path while another process holds the store", async () => {
    const path = join(dir, "db");
    const holder = startChild(["hold", path]);
    await holder.waitForLine((line) => line === "open");

    const store = createLevelStore({ path });
    const err = await store.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GovchainError);
    expect((err as GovchainError).code).toBe("STORE_LOCKED");
    expect((err as GovchainError).message).toContain(path);

    holder.process.stdin.end();
    expect(await holder.closed).toEqual({ code: 0, signal: null });
    expect(holder.lines).toContain("closed");
    await store.open();
    await store.close();
  });

  it("releases the lock when the holding process is killed", async () => {
    const path = join(dir, "db");
    const holder = startChild(["hold", path]);
    await holder.waitForLine((line) => line === "open");
    holder.process.kill("SIGKILL");
    expect((await holder.closed).signal).toBe("SIGKILL");
    const store = createLevelStore({ path });
    await store.open();
    await store.close();
  });
});
