/**
 * Four PBFT validators as real `govchain node start` processes, faulted the way operators see
 * it happen: `kill -9` of the primary under load (it catches up by replaying blocks), and a
 * validator whose data directory is lost (it catches up by state snapshot, ADR 0010).
 *
 * The network is made with `network init --nodes 4` on a free range of P2P ports (peers must
 * know each other's endpoints before any node starts, so `--p2p-port 0` cannot work; see
 * `freePortRange` for the small race). REST ports are the OS's choice (`--api-port 0`); a
 * restart reuses the bound port, as the command `up` records in network.json would.
 *
 * Throughout, a load loop submits intkey batches (unique names, so every one is valid) to the
 * REST API of the running nodes in turn, and an observer records every batch any node reports
 * COMMITTED. The invariant checked at the end of each test: no batch ever reported COMMITTED is
 * missing on ANY node, and all four report the same head and state root.
 *
 * Each test runs its own cluster, so one failure does not cascade. The view-change timeout is
 * 2 s rather than the default 1 s: on a busy 2-core machine running four nodes and the load,
 * 1 s provokes spurious view changes that slow the test without testing anything more.
 *
 * Debugging: with GOVCHAIN_E2E_LOG_DIR set, nodes log at debug level and a failing wait for
 * convergence writes each node's log to `<dir>/<test>-<node>.log`.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LoadedKey, loadKey } from "../../src/cli/context.js";
import { intkeyTransaction } from "../../src/cli/intkey.js";
import { buildBatch } from "../../src/cli/submit.js";
import { intkeyAddress } from "../../src/families/index.js";
import { encodeBatchList } from "../../src/wire/index.js";
import { runCli, tempDir } from "../cli/run-cli.js";
import {
  API_READY,
  freePortRange,
  type GovchainProcess,
  getJson,
  P2P_READY,
  startGovchain,
  stopAll,
  until,
} from "./processes.js";

const NET = ".govchain/local";
const NODES = 4;
/** Batches per POST /batches. */
const BATCHES_PER_POST = 4;
/** Submitted but not yet final: the load pauses above this, so statuses keep up. */
const MAX_OPEN = 300;
/** Ids per /batch_statuses request. */
const STATUS_CHUNK = 50;
/** Where to keep the nodes' logs of a failed convergence (debugging aid). */
const LOG_DIR = process.env.GOVCHAIN_E2E_LOG_DIR;

interface Status {
  readonly nodeId: string;
  readonly height: string;
  readonly head: string;
  readonly stateRoot: string;
  readonly view: number;
  readonly primary?: string;
  readonly peers: readonly { readonly id: string; readonly connected: boolean }[];
}

/** One validator process and how to start it again. */
interface Validator {
  readonly id: string;
  readonly dataDir: string;
  /** `node start` arguments; `--api-port` is the bound port after the first start. */
  args: string[];
  proc: GovchainProcess | undefined;
  url: string;
  /** False while the test has it stopped: the load and observer leave it alone. */
  up: boolean;
}

async function startValidator(v: Validator, cwd: string): Promise<void> {
  const proc = startGovchain(["node", "start", ...v.args], cwd);
  const line = await proc.waitForLine((l) => l.startsWith(API_READY));
  expect(proc.lines.some((l) => l.startsWith(P2P_READY))).toBe(true);
  v.proc = proc;
  v.url = line.slice(API_READY.length).trim();
  // Restart exactly as it ran: the port it bound, not 0 (what network.json records).
  const at = v.args.indexOf("--api-port");
  v.args[at + 1] = new URL(v.url).port;
  v.up = true;
}

const status = (v: Validator): Promise<Status> => getJson<Status>(`${v.url}/v1/status`, 5_000);

async function batchStatuses(
  url: string,
  ids: readonly string[],
  wait?: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += STATUS_CHUNK) {
    const chunk = ids.slice(i, i + STATUS_CHUNK);
    const body = await getJson<{
      data: { id: string; status: string; invalid_transactions?: { message?: string }[] }[];
    }>(`${url}/batch_statuses?id=${chunk.join(",")}${wait ? `&wait=${wait}` : ""}`);
    // An INVALID status carries its reason, so a failure says why.
    for (const s of body.data)
      out.set(
        s.id,
        s.status === "INVALID"
          ? `INVALID (${s.invalid_transactions?.[0]?.message ?? "no reason"})`
          : s.status,
      );
  }
  return out;
}

/**
 * Submits intkey batches round-robin to the running validators and follows them until COMMITTED.
 * Batches a killed node took but never passed on stay open forever; that is allowed — only
 * batches some node reported COMMITTED are promised to survive.
 */
function createLoad(key: LoadedKey, validators: readonly Validator[]) {
  let seq = 0;
  let running = false;
  let loops: Promise<void> | undefined;
  let failure: unknown;
  const open = new Map<string, number>(); // batch id → seq
  const committed = new Map<string, number>(); // batch id → seq
  const up = (): Validator[] => validators.filter((v) => v.up);

  const submitLoop = async (): Promise<void> => {
    let turn = 0;
    while (running) {
      const targets = up();
      const target = targets[turn++ % Math.max(1, targets.length)];
      if (target === undefined || open.size > MAX_OPEN) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const batches = Array.from({ length: BATCHES_PER_POST }, () =>
        buildBatch(key, [intkeyTransaction("set", `k${++seq}`, seq % 1000)]),
      );
      const first = seq - BATCHES_PER_POST + 1;
      try {
        const response = await fetch(`${target.url}/batches`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: encodeBatchList(batches),
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        if (response.status === 202) {
          batches.forEach((b, i) => {
            open.set(b.headerSignature, first + i);
          });
        } else if (response.status === 429 || response.status === 503) {
          await new Promise((r) => setTimeout(r, 50)); // back-pressure: let the queue drain
        } else {
          throw new Error(`POST /batches to ${target.id}: HTTP ${response.status}`);
        }
      } catch (err) {
        // A node the test just killed refuses connections; anything else is a failure.
        if (target.up && !(err instanceof TypeError) && !isTimeout(err)) throw err;
      }
    }
  };

  const observeLoop = async (): Promise<void> => {
    let turn = 0;
    while (running || open.size > 0) {
      const targets = up();
      const target = targets[turn++ % Math.max(1, targets.length)];
      const ids = [...open.keys()].slice(0, STATUS_CHUNK * 2);
      if (target === undefined || ids.length === 0) {
        if (!running) return;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      let statuses: Map<string, string>;
      try {
        statuses = await batchStatuses(target.url, ids, 1);
      } catch {
        continue; // the node went away between choosing it and asking it
      }
      for (const [id, s] of statuses) {
        const batchSeq = open.get(id) ?? 0;
        open.delete(id);
        if (s === "COMMITTED") committed.set(id, batchSeq);
        else if (s.startsWith("INVALID")) throw new Error(`batch ${id} is ${s} on ${target.id}`);
        // Still open: to the back of the queue, so batches a killed node swallowed do not
        // crowd out the others.
        else open.set(id, batchSeq);
      }
      // Once the load stops, open batches that no node ever passed on are let go.
      if (!running) return;
    }
  };

  return {
    committed,
    /** Sequence number of the last batch built. */
    get seq() {
      return seq;
    },
    start() {
      running = true;
      failure = undefined;
      loops = Promise.all([submitLoop(), observeLoop()]).then(
        () => {},
        (err: unknown) => {
          failure = err;
          running = false;
        },
      );
    },
    async stop() {
      running = false;
      await loops;
      if (failure !== undefined) throw failure;
    },
    /** Resolves once `count` batches built after `afterSeq` are COMMITTED. */
    async committedAfter(afterSeq: number, count: number, what: string, timeoutMs = 120_000) {
      await until(
        `${count} ${what}`,
        () => {
          // A failed load fails the wait at once, not at its deadline.
          if (failure !== undefined) return true;
          return [...committed.values()].filter((s) => s > afterSeq).length >= count;
        },
        timeoutMs,
      );
      if (failure !== undefined) throw failure;
    },
  };
}

/** The value of a metric (with the given label text) on a node's /metrics; 0 when absent. */
async function metric(v: Validator, name: string, labels = ""): Promise<number> {
  const response = await fetch(`${v.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}

/** Waits until every running validator reports the same head and state root; returns it. */
async function converged(
  name: string,
  validators: readonly Validator[],
  timeoutMs = 90_000,
): Promise<Status> {
  let last: Status[] = [];
  try {
    return await until(
      "all validators on the same head and state root",
      async () => {
        last = await Promise.all(validators.map(status));
        const heads = new Set(last.map((s) => `${s.head}/${s.stateRoot}`));
        return heads.size === 1 ? last[0] : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    const seen = last
      .map(
        (s) =>
          `${s.nodeId}: height ${s.height} ${s.head.slice(0, 12)} view ${s.view} primary ${s.primary}`,
      )
      .join("; ");
    if (LOG_DIR) {
      await mkdir(LOG_DIR, { recursive: true });
      for (const v of validators) {
        await writeFile(join(LOG_DIR, `${name}-${v.id}.log`), (v.proc?.lines ?? []).join("\n"));
      }
    }
    throw new Error(`${(err as Error).message} — last seen: ${seen}`);
  }
}

/** Every batch reported COMMITTED is COMMITTED on every validator. */
async function expectNoLostCommits(
  validators: readonly Validator[],
  committed: ReadonlyMap<string, number>,
): Promise<void> {
  const ids = [...committed.keys()];
  for (const v of validators) {
    const statuses = await batchStatuses(v.url, ids);
    const lost = ids.filter((id) => statuses.get(id) !== "COMMITTED");
    expect(
      lost,
      `${lost.length} of ${ids.length} committed batches are not COMMITTED on ${v.id}`,
    ).toEqual([]);
  }
}

/** A running four-validator network in its own directory. */
interface Cluster {
  readonly dir: string;
  readonly validators: Validator[];
  readonly key: LoadedKey;
}

/** `network init --nodes 4` on free P2P ports, then four `node start` processes, connected. */
async function startCluster(
  cleanups: (() => Promise<void>)[],
  options: { checkpointInterval?: number } = {},
): Promise<Cluster> {
  const { dir, remove } = await tempDir("govchain-pbft-faults-");
  cleanups.push(remove);
  const p2pBase = await freePortRange(NODES);
  const init = await runCli(
    [
      "network",
      "init",
      "--nodes",
      String(NODES),
      "--p2p-base-port",
      String(p2pBase),
      "--view-change-timeout-ms",
      "2000",
      ...(options.checkpointInterval !== undefined
        ? ["--checkpoint-interval", String(options.checkpointInterval)]
        : []),
    ],
    { cwd: dir },
  );
  expect(init.code, init.stderr).toBe(0);
  const key = await loadKey(join(dir, NET, "keys/operator.key"));
  const validators: Validator[] = Array.from({ length: NODES }, (_, i) => {
    const id = `node${i}`;
    return {
      id,
      dataDir: join(dir, NET, "nodes", id, "data"),
      args: [
        "--data-dir",
        `${NET}/nodes/${id}/data`,
        "--genesis",
        `${NET}/genesis.json`,
        "--key",
        `${NET}/nodes/${id}/validator.key`,
        "--node-id",
        id,
        "--api-port",
        "0",
        "--log-level",
        LOG_DIR ? "debug" : "warn",
      ],
      proc: undefined,
      url: "",
      up: false,
    };
  });
  await Promise.all(validators.map((v) => startValidator(v, dir)));
  await until("every validator connected to its three peers", async () => {
    const statuses = await Promise.all(validators.map(status));
    return statuses.every((s) => s.peers.filter((p) => p.connected).length === NODES - 1);
  });
  return { dir, validators, key };
}

describe("PBFT validators as processes, under faults", () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterAll(async () => {
    await stopAll();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("keeps committing when the primary is killed, and the primary catches up after a restart", {
    timeout: 300_000,
  }, async () => {
    const { dir, validators, key } = await startCluster(cleanups);
    const load = createLoad(key, validators);
    load.start();
    try {
      await load.committedAfter(0, 40, "batches committed before the fault");

      // Kill -9 whoever is primary now.
      const before = await status(validators[1] as Validator);
      const primary = validators.find((v) => v.id === before.primary);
      if (primary === undefined) throw new Error(`no primary in ${JSON.stringify(before)}`);
      primary.up = false;
      primary.proc?.child.kill("SIGKILL");
      expect(await primary.proc?.exited).toEqual({ code: null, signal: "SIGKILL" });
      const killedAt = load.seq;

      // The other three change view and go on committing new batches.
      const rest = validators.filter((v) => v !== primary);
      await load.committedAfter(killedAt, 40, "batches committed after the primary died");
      for (const s of await Promise.all(rest.map(status))) {
        expect(s.view, s.nodeId).toBeGreaterThan(before.view);
        expect(s.primary, s.nodeId).not.toBe(primary.id);
      }

      // Restarted with the same command, it catches up while the load goes on.
      await startValidator(primary, dir);
      const target = BigInt((await status(rest[0] as Validator)).height);
      await until(`${primary.id} catching up to height ${target}`, async () => {
        return BigInt((await status(primary)).height) >= target;
      });
      await load.committedAfter(load.seq, 20, "batches committed with all four back");
    } finally {
      await load.stop();
    }
    const head = await converged("primary-killed", validators);
    expect(BigInt(head.height)).toBeGreaterThan(0n);
    await expectNoLostCommits(validators, load.committed);
    await Promise.all(validators.map((v) => v.proc?.stop("SIGTERM")));
  });

  it("rebuilds a validator whose data directory was deleted, from a state snapshot", {
    timeout: 300_000,
  }, async () => {
    // Checkpoints every 5 blocks, so the peers' latest one is well above the wiped node.
    const { dir, validators, key } = await startCluster(cleanups, { checkpointInterval: 5 });
    const load = createLoad(key, validators);
    load.start();
    let wiped: Validator | undefined;
    let early: Status | undefined;
    let others: Validator[] = [];
    try {
      await load.committedAfter(0, 20, "batches committed before the wipe");
      early = await status(validators[0] as Validator);
      wiped = [...validators].reverse().find((v) => v.id !== early?.primary) as Validator;

      // A clean stop, then the disk is lost.
      wiped.up = false;
      expect(await wiped.proc?.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      await rm(wiped.dataDir, { recursive: true, force: true });
      const stoppedAt = load.seq;
      await load.committedAfter(stoppedAt, 30, "batches committed while the node is gone");
      others = validators.filter((v) => v !== wiped);
      // Two checkpoints past the last block the wiped node had seen, at least.
      const earlyHeight = BigInt(early.height);
      await until("the others 10 blocks further", async () => {
        return BigInt((await status(others[0] as Validator)).height) >= earlyHeight + 10n;
      });

      // It starts from genesis, installs the state at the peers' latest checkpoint (verified
      // against that block's certificate), stores the blocks below it without executing them,
      // and replays the few after it. Any gap of a checkpoint or more takes the snapshot.
      const at = wiped.args.indexOf("--log-level");
      wiped.args.splice(at, 0, "--state-sync-min-gap", "1");
      await startValidator(wiped, dir);
      const target = BigInt((await status(others[0] as Validator)).height);
      const node = wiped;
      await until(`${node.id} rebuilding up to height ${target}`, async () => {
        return BigInt((await status(node)).height) >= target;
      });
      expect(
        await metric(node, "govchain_state_syncs_total", 'outcome="installed"'),
      ).toBeGreaterThanOrEqual(1);
      expect(await metric(node, "govchain_state_sync_blocks_total")).toBeGreaterThan(0);

      // And it takes part again: batches submitted to it commit everywhere.
      const own = Array.from({ length: 3 }, (_, i) =>
        buildBatch(key, [intkeyTransaction("set", `wiped-${i}`, i)]),
      );
      const response = await fetch(`${node.url}/batches`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: encodeBatchList(own),
      });
      expect(response.status).toBe(202);
      const ids = own.map((b) => b.headerSignature);
      for (const v of validators) {
        await until(`the wiped node's batches committed on ${v.id}`, async () => {
          const s = await batchStatuses(v.url, ids, 2);
          return ids.every((id) => s.get(id) === "COMMITTED");
        });
      }
      for (const id of ids) load.committed.set(id, load.seq);
    } finally {
      await load.stop();
    }
    await converged("wiped", validators);
    await expectNoLostCommits(validators, load.committed);

    // A block from before the wipe is held, with its commit certificate, whichever way the node
    // got it (it may replay a round of blocks while its peers connect).
    const block = await getJson<{ data: { header_signature: string } }>(
      `${wiped.url}/blocks/${early?.head}`,
    );
    expect(block.data.header_signature).toBe(early?.head);
    // The blocks below the snapshot's checkpoint were stored without executing them: no
    // receipts, and no state — the node says so. Proofs from the checkpoint on carry certificates.
    // Not every block below the checkpoint qualifies: while its peers connect the node may first
    // replay (execute) a few rounds of blocks; an earlier snapshot attempt that failed after its
    // state transfer leaves that checkpoint's state behind; and a block whose root is the
    // checkpoint's (no state change) has state the node holds. So among the blocks below the
    // checkpoint that the node holds no receipts for, at least one must be answered "state not
    // held" (106) — and none may be answered with anything but a proof or 106.
    const checkpoint = BigInt(await metric(wiped, "govchain_state_sync_checkpoint_height"));
    type ListedBlock = {
      header_signature: string;
      header: { state_root_hash: string };
      batches: { header: { transaction_ids: string[] } }[];
    };
    const blockAt = async (height: bigint) =>
      (
        await getJson<{ data: ListedBlock[] }>(
          `${wiped.url}/blocks?start=0x${height.toString(16).padStart(16, "0")}&limit=1`,
        )
      ).data[0] as ListedBlock;
    const firstTx = (block: ListedBlock) => block.batches[0]?.header.transaction_ids[0];
    const checkpointRoot = (await blockAt(checkpoint)).header.state_root_hash;
    let withoutState: ListedBlock | undefined;
    for (let h = checkpoint - 1n; h > 0n && withoutState === undefined; h--) {
      const candidate = await blockAt(h);
      if (candidate.header.state_root_hash === checkpointRoot) continue;
      const receipt = await fetch(`${wiped.url}/receipts?id=${firstTx(candidate)}`);
      await receipt.arrayBuffer();
      if (receipt.status !== 404) continue; // executed here
      const old = await fetch(
        `${wiped.url}/v1/proof/${intkeyAddress("wiped-0")}?head=${candidate.header_signature}`,
      );
      const body = (await old.json()) as { error?: { code: number } };
      if (old.status === 200) continue; // state held (an earlier attempt's checkpoint)
      expect(old.status).toBe(404);
      expect(body.error?.code).toBe(106);
      withoutState = candidate;
    }
    if (!withoutState) throw new Error("no block below the checkpoint is held without its state");
    expect((await fetch(`${others[0]?.url}/receipts?id=${firstTx(withoutState)}`)).status).toBe(
      200,
    );
    const proof = await getJson<{ block: { certificate?: string }; proof: { value?: string } }>(
      `${wiped.url}/v1/proof/${intkeyAddress("wiped-0")}`,
    );
    expect(proof.block.certificate).toMatch(/^[0-9a-f]+$/);
    expect(proof.proof.value).toBeDefined();
    await Promise.all(validators.map((v) => v.proc?.stop("SIGTERM")));
  });
});
