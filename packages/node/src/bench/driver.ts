/**
 * A load driver in the manner of Hyperledger Caliper, for one or more govchain nodes.
 *
 * - Closed loop (fixed backlog): keeps `concurrency` submissions in flight.
 * - Open loop (fixed rate): submits lists at a fixed rate whatever the nodes do.
 *
 * Latency is measured from submit to the moment the batch's block-commit event arrives from
 * the first `commitQuorum` of the watched nodes over `/v1/events`. Throughput counts valid
 * committed transactions only; refused submissions and invalid batches are counted apart and
 * lower the success rate.
 */
import { Agent, request } from "node:http";
import { WebSocket } from "ws";
import type { PreparedList } from "./workload.js";

/** Options of a run. */
export interface DriveOptions {
  /** Base URLs of the nodes to submit to (round-robin). */
  readonly targets: readonly string[];
  /** Base URLs of the nodes whose commits are awaited (default: the targets). */
  readonly watch?: readonly string[];
  /** Commits needed per batch before it counts: 1 = first node; `watch.length` = all. */
  readonly commitQuorum?: number;
  readonly lists: readonly PreparedList[];
  /** `closed`: keep `concurrency` requests in flight. `open`: `ratePerSecond` transactions/s. */
  readonly mode:
    | { readonly kind: "closed"; readonly concurrency: number }
    | { readonly kind: "open"; readonly ratePerSecond: number };
  /** Give up waiting for commits this long after the last submission; default 60 s. */
  readonly drainTimeoutMs?: number;
  /** Called about once a second with (committed transactions, submitted transactions). */
  readonly onProgress?: (committed: number, submitted: number) => void;
}

/** What a run measured. */
export interface DriveResult {
  readonly submittedTransactions: number;
  readonly committedTransactions: number;
  readonly refusedTransactions: number;
  readonly invalidBatches: number;
  /** Committed / submitted-and-accepted transactions. */
  readonly successRate: number;
  /** From the first submission to the last counted commit, seconds. */
  readonly durationSeconds: number;
  /** Committed transactions per second over `durationSeconds`. */
  readonly tps: number;
  /** Latency percentiles of committed batches, milliseconds. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
    readonly mean: number;
  };
  /** HTTP status counts of submissions. */
  readonly responses: Readonly<Record<string, number>>;
}

interface BatchTrack {
  readonly submittedAt: number;
  readonly transactions: number;
  commits: number;
  done: boolean;
}

/** Drives `lists` into the nodes and measures. */
export async function drive(options: DriveOptions): Promise<DriveResult> {
  const watch = options.watch ?? options.targets;
  const quorum = Math.min(options.commitQuorum ?? 1, watch.length);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const tracks = new Map<string, BatchTrack>();
  const transactionsOf = new Map<string, number>();
  for (const list of options.lists) {
    const per = list.transactions / list.batchIds.length;
    for (const id of list.batchIds) transactionsOf.set(id, per);
  }
  const latencies: number[] = [];
  const responses: Record<string, number> = {};
  let committed = 0;
  let submitted = 0;
  let refused = 0;
  let invalid = 0;
  let lastCommitAt = 0;
  let outstanding = 0;
  let allSubmitted = false;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const maybeFinish = (): void => {
    if (allSubmitted && outstanding === 0) finish?.();
  };

  const onCommit = (batchIds: readonly string[]): void => {
    const now = performance.now();
    for (const id of batchIds) {
      const track = tracks.get(id);
      if (!track || track.done) continue;
      track.commits++;
      if (track.commits >= quorum) {
        track.done = true;
        committed += track.transactions;
        outstanding--;
        latencies.push(now - track.submittedAt);
        lastCommitAt = now;
      }
    }
    maybeFinish();
  };
  const onInvalid = (batchId: string): void => {
    const track = tracks.get(batchId);
    if (!track || track.done) return;
    track.done = true;
    invalid++;
    outstanding--;
    maybeFinish();
  };

  const sockets = await Promise.all(watch.map((url) => subscribe(url, onCommit, onInvalid)));
  const startedAt = performance.now();
  const progress = setInterval(() => options.onProgress?.(committed, submitted), 1000);
  progress.unref();

  const submit = async (list: PreparedList, target: string): Promise<void> => {
    const at = performance.now();
    for (const id of list.batchIds)
      tracks.set(id, {
        submittedAt: at,
        transactions: transactionsOf.get(id) ?? 1,
        commits: 0,
        done: false,
      });
    outstanding += list.batchIds.length;
    submitted += list.transactions;
    const status = await post(agent, target, list.bytes);
    responses[status] = (responses[status] ?? 0) + 1;
    if (status !== 202) {
      refused += list.transactions;
      for (const id of list.batchIds) {
        const track = tracks.get(id);
        if (track && !track.done) {
          track.done = true;
          outstanding--;
        }
      }
      maybeFinish();
    }
  };

  let next = 0;
  if (options.mode.kind === "closed") {
    const { concurrency } = options.mode;
    const worker = async (w: number): Promise<void> => {
      for (;;) {
        const index = next++;
        const list = options.lists[index];
        if (!list) return;
        await submit(list, options.targets[(index + w) % options.targets.length] as string);
        // Keep the backlog bounded by commits, not only by HTTP round trips.
        while (outstanding > concurrency * list.batchIds.length * 4)
          await new Promise((r) => setTimeout(r, 1));
      }
    };
    await Promise.all(Array.from({ length: options.mode.concurrency }, (_, w) => worker(w)));
  } else {
    const perList = (options.lists[0]?.transactions ?? 1) / options.mode.ratePerSecond;
    const inFlight: Promise<void>[] = [];
    for (let index = 0; index < options.lists.length; index++) {
      const due = startedAt + index * perList * 1000;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(
        submit(
          options.lists[index] as PreparedList,
          options.targets[index % options.targets.length] as string,
        ),
      );
    }
    await Promise.all(inFlight);
  }
  allSubmitted = true;
  maybeFinish();
  const drainTimeout = new Promise<void>((resolve) =>
    setTimeout(resolve, options.drainTimeoutMs ?? 60_000).unref(),
  );
  await Promise.race([finished, drainTimeout]);
  clearInterval(progress);
  options.onProgress?.(committed, submitted);
  for (const socket of sockets) socket.close();
  agent.destroy();

  const durationSeconds = Math.max((lastCommitAt - startedAt) / 1000, 1e-6);
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const accepted = submitted - refused;
  return {
    submittedTransactions: submitted,
    committedTransactions: committed,
    refusedTransactions: refused,
    invalidBatches: invalid,
    successRate: accepted > 0 ? committed / submitted : 0,
    durationSeconds,
    tps: committed / durationSeconds,
    latencyMs: {
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      max: latencies.at(-1) ?? 0,
      mean: latencies.length > 0 ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0,
    },
    responses,
  };
}

function post(agent: Agent, base: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      new URL("/batches", base),
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/octet-stream", "content-length": body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

/** Opens the node's event stream and reports committed and invalid batch ids. */
function subscribe(
  base: string,
  onCommit: (ids: readonly string[]) => void,
  onInvalid: (id: string) => void,
): Promise<WebSocket> {
  const url = new URL("/v1/events?types=sawtooth/block-commit", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on("open", () => resolve(socket));
    socket.on("error", reject);
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as {
        type?: string;
        batchIds?: string[];
        invalidBatchIds?: string[];
      };
      if (message.type !== "block-commit") return;
      if (message.batchIds) onCommit(message.batchIds);
      for (const id of message.invalidBatchIds ?? []) onInvalid(id);
    });
  });
}
