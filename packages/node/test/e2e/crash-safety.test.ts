/**
 * Crash safety of a node process: under load, `kill -9`, then restart with the same command.
 *
 * The test drives intkey batches through the REST API and records every batch the node
 * reported COMMITTED and the highest height it reported. After SIGKILL mid-load and a restart:
 * the API answers; every batch reported COMMITTED is still COMMITTED (with its state); the head
 * is at least as high as the last height seen; and a further clean stop and start keeps the
 * head id and state root exactly. Synchronisation is by responses and process exits only.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadKey } from "../../src/cli/context.js";
import { intkeyTransaction } from "../../src/cli/intkey.js";
import { buildBatch } from "../../src/cli/submit.js";
import { decodeIntkeyState, INTKEY_NAMESPACE } from "../../src/families/index.js";
import { encodeBatchList } from "../../src/wire/index.js";
import { runCli, tempDir } from "../cli/run-cli.js";
import { startNode, stopAll } from "./processes.js";

const NET = ".govchain/local";
/** Batches reported COMMITTED before the kill. */
const COMMITTED_BEFORE_KILL = 150;
/** Batches per POST /batches. */
const BATCHES_PER_POST = 4;
/** Ids per /batch_statuses request. */
const STATUS_CHUNK = 50;

interface Status {
  readonly height: string;
  readonly head: string;
  readonly stateRoot: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function statuses(
  url: string,
  ids: readonly string[],
  wait?: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += STATUS_CHUNK) {
    const chunk = ids.slice(i, i + STATUS_CHUNK);
    const body = await getJson<{ data: { id: string; status: string }[] }>(
      `${url}/batch_statuses?id=${chunk.join(",")}${wait ? `&wait=${wait}` : ""}`,
    );
    for (const s of body.data) out.set(s.id, s.status);
  }
  return out;
}

async function intkeyValues(url: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  let start: string | undefined;
  for (;;) {
    const page = await getJson<{ data: { data: string }[]; paging: { next_position?: string } }>(
      `${url}/state?address=${INTKEY_NAMESPACE}&limit=1000${start ? `&start=${start}` : ""}`,
    );
    for (const entry of page.data) {
      for (const [k, v] of decodeIntkeyState(new Uint8Array(Buffer.from(entry.data, "base64"))))
        values.set(k, v);
    }
    if (page.paging.next_position === undefined) return values;
    start = page.paging.next_position;
  }
}

describe("node crash safety", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("keeps every reported commit across kill -9 and restarts", { timeout: 240_000 }, async () => {
    const { dir, remove } = await tempDir("govchain-crash-");
    cleanups.push(remove);
    const init = await runCli(["network", "init"], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    const args = [
      "--data-dir",
      `${NET}/nodes/node0/data`,
      "--genesis",
      `${NET}/genesis.json`,
      "--key",
      `${NET}/nodes/node0/validator.key`,
      "--api-port",
      "0",
      "--log-level",
      "warn",
    ];
    const key = await loadKey(join(dir, NET, "keys/operator.key"));

    const first = await startNode(args, dir);
    const url = first.url;
    const nameOf = new Map<string, string>(); // batch id → intkey name it sets
    const pending: string[] = [];
    const committed = new Set<string>();
    let lastHeight = -1n;
    let killed = false;

    // Load: unique names, so every batch is valid and its effect is checkable afterwards.
    const load = (async () => {
      let seq = 0;
      while (!killed) {
        const batches = Array.from({ length: BATCHES_PER_POST }, () => {
          const name = `k${seq++}`;
          const batch = buildBatch(key, [intkeyTransaction("set", name, seq)]);
          nameOf.set(batch.headerSignature, name);
          return batch;
        });
        try {
          const response = await fetch(`${url}/batches`, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: encodeBatchList(batches),
          });
          await response.arrayBuffer();
          if (response.status === 202) pending.push(...batches.map((b) => b.headerSignature));
        } catch {
          // The node is gone (killed): the load ends with it.
          return;
        }
      }
    })();

    // Observer: what the node reports COMMITTED, and the highest height it reports.
    try {
      while (committed.size < COMMITTED_BEFORE_KILL) {
        const ids = pending.splice(0, STATUS_CHUNK);
        if (ids.length > 0) {
          for (const [id, status] of await statuses(url, ids, 1)) {
            if (status === "COMMITTED") committed.add(id);
            else if (status === "INVALID")
              throw new Error(`batch ${id} (${nameOf.get(id)}) INVALID`);
            else pending.push(id);
          }
        }
        const status = await getJson<Status>(`${url}/v1/status`);
        if (BigInt(status.height) > lastHeight) lastHeight = BigInt(status.height);
      }
    } finally {
      // Mid-load: the load loop is still submitting when the node dies.
      killed = true;
      first.proc.child.kill("SIGKILL");
    }
    expect(await first.proc.exited).toEqual({ code: null, signal: "SIGKILL" });
    await load;
    expect(lastHeight).toBeGreaterThan(0n);
    // The kill came mid-load: batches were still being submitted beyond those seen committed.
    expect(nameOf.size).toBeGreaterThan(committed.size);

    // Restart with the same command.
    const second = await startNode(args, dir);
    const afterCrash = await getJson<Status>(`${second.url}/v1/status`);
    expect(BigInt(afterCrash.height)).toBeGreaterThanOrEqual(lastHeight);

    const recovered = await statuses(second.url, [...committed]);
    const lost = [...committed].filter((id) => recovered.get(id) !== "COMMITTED");
    expect(
      lost,
      `${lost.length} batches reported COMMITTED are not committed after the crash`,
    ).toEqual([]);
    const values = await intkeyValues(second.url);
    const missing = [...committed]
      .map((id) => nameOf.get(id) ?? id)
      .filter((name) => !values.has(name));
    expect(missing).toEqual([]);

    // A clean stop and start changes nothing.
    const beforeStop = await getJson<Status>(`${second.url}/v1/status`);
    expect(await second.proc.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const third = await startNode(args, dir);
    const afterRestart = await getJson<Status>(`${third.url}/v1/status`);
    expect({
      head: afterRestart.head,
      stateRoot: afterRestart.stateRoot,
      height: afterRestart.height,
    }).toEqual({
      head: beforeStop.head,
      stateRoot: beforeStop.stateRoot,
      height: beforeStop.height,
    });
    expect(await third.proc.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  });
});
