/**
 * What route handlers share: the slice of the node they read, the waits in progress (so a
 * shutdown or a client abort ends them), and the request helpers every Sawtooth endpoint
 * applies the same way (id lists, `head`, `wait`).
 */
import type { FastifyReply } from "fastify";
import type { Admission } from "../admission/admission.js";
import type { Chain } from "../chain/chain.js";
import type { Logger } from "../common/logger.js";
import type { Signer } from "../crypto/interface.js";
import type { GenesisConfig } from "../genesis/genesis.js";
import type { BlockStore, StoredBlock } from "../ledger/block-store.js";
import type { NodeMetrics } from "../metrics/metrics.js";
import type { StateTree } from "../state/interface.js";
import { ApiError } from "./errors.js";
import type { EventHub } from "./event-hub.js";

/**
 * The parts of a node the API reads (a `GovchainNode` is one); nothing else of the node is
 * reachable from a handler, and the API does not depend on the composition root.
 */
export interface ApiNode {
  /** Only the validators (for this node's endpoint in `/status`). */
  readonly genesis: Pick<GenesisConfig, "validators">;
  readonly signer: Pick<Signer, "publicKeyHex">;
  readonly blocks: BlockStore;
  readonly state: StateTree;
  readonly chain: Pick<Chain, "batchStatuses" | "waitForBatches" | "onCommit">;
  readonly admission: Pick<Admission, "submit">;
  readonly metrics: Pick<NodeMetrics, "registry" | "batchesAdmitted" | "submissionsRejected">;
  /** The node's status; `/v1/status` serves all of it, `/peers` and `/status` read `peers`. */
  status(): { readonly peers: readonly unknown[] };
}

/** Waits (`?wait`) in progress, each abortable. */
export interface WaitTracker {
  /** Number of waits in progress. */
  readonly size: number;
  /**
   * Runs `wait` with a signal that aborts when the client disconnects or the server closes;
   * the listener and the tracking entry are removed when it settles, whatever happens.
   */
  run<T>(reply: FastifyReply, wait: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Aborts every wait (server shutdown). */
  abortAll(): void;
}

/** Shared by every route. */
export interface RouteContext {
  readonly node: ApiNode;
  readonly logger: Logger;
  readonly waits: WaitTracker;
  readonly hub: EventHub;
  /** Longest `wait` in seconds. */
  readonly maxWaitSeconds: number;
  /** Largest `POST /batches` body in bytes. */
  readonly maxBatchListBytes: number;
}

/** Creates an empty wait tracker. */
export function createWaitTracker(): WaitTracker {
  const active = new Set<AbortController>();
  return {
    get size() {
      return active.size;
    },
    async run(reply, wait) {
      const controller = new AbortController();
      // `close` on the response fires when the client goes away before we answer (and after
      // we answer, by which time the listener is gone).
      const onClose = (): void => controller.abort();
      reply.raw.once("close", onClose);
      active.add(controller);
      try {
        return await wait(controller.signal);
      } finally {
        reply.raw.off("close", onClose);
        active.delete(controller);
      }
    },
    abortAll() {
      for (const controller of [...active]) controller.abort();
    },
  };
}

const ID_RE = /^[0-9a-f]{128}$/;

/** True when `id` is a block, batch or transaction id (128 lower-case hex characters). */
export function isResourceId(id: string): boolean {
  return ID_RE.test(id);
}

/** Throws Sawtooth's error 60, naming the id, unless `id` is a resource id. */
export function checkResourceId(id: string): string {
  if (!isResourceId(id)) throw new ApiError("INVALID_RESOURCE_ID", clip(id));
  return id;
}

/** The ids of a comma-separated `id` query (each checked, error 60), or undefined when absent. */
export function parseIdList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw.split(",").map(checkResourceId);
}

/** Text from a client cut to a loggable, echoable length. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * The block a query reads at: `head` (error 50 when no such block is committed) or the chain
 * head (error 15 before genesis).
 */
export async function resolveHead(node: ApiNode, head: string | undefined): Promise<StoredBlock> {
  if (head !== undefined) {
    const block = await node.blocks.getBlock(checkResourceId(head));
    if (!block) throw new ApiError("HEAD_NOT_FOUND", ` (${head})`);
    return block;
  }
  const current = node.blocks.head();
  if (!current) throw new ApiError("NO_GENESIS");
  const block = await node.blocks.getBlock(current.id);
  if (!block) throw new ApiError("NO_GENESIS");
  return block;
}

/**
 * Milliseconds to wait for `?wait`, or undefined for no wait, as Sawtooth reads it: absent or
 * `false` → no wait; a positive integer → that many seconds (capped at `maxSeconds`); bare,
 * `0` or any other text → 95% of the API's timeout (Sawtooth's validator also turns 0 into its
 * default); negative → answer at once.
 */
export function waitMilliseconds(raw: string | undefined, maxSeconds: number): number | undefined {
  if (raw === undefined || raw.toLowerCase() === "false") return undefined;
  const seconds = /^\s*[+-]?\d+\s*$/.test(raw) ? Number.parseInt(raw, 10) : Number.NaN;
  if (Number.isNaN(seconds) || seconds === 0) return Math.floor(maxSeconds * 0.95) * 1000;
  if (seconds < 0) return 0;
  return Math.min(seconds, maxSeconds) * 1000;
}
