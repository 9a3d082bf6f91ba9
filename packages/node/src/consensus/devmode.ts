/**
 * `devmode`: the single-node engine. It makes a block as soon as batches wait, bounded by a
 * batch count, a byte size and a short wait that lets a burst fill one block instead of many.
 * There is no voting: the only validator commits what it proposes.
 */
import type { SelectionLimits } from "../admission/mempool.js";
import type { Chain } from "../chain/chain.js";
import type { Clock, Timer } from "../common/clock.js";
import { errorMessage } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { ConsensusEngine, ConsensusStatus } from "./interface.js";

/** Options of `createDevmodeEngine`. */
export interface DevmodeOptions {
  readonly chain: Chain;
  /** The mempool's view the engine needs: how many batches wait, and a wake-up signal. */
  readonly pending: { readonly available: number; onAvailable(listener: () => void): () => void };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
  /** Limits of one block. */
  readonly limits: SelectionLimits;
  /** How long a block waits for more batches after the first arrives; default 5 ms. */
  readonly maxWaitMs?: number;
  /** Back-off after a failed block, before retrying; default 200 ms. */
  readonly retryMs?: number;
}

/** Creates the devmode engine. */
export function createDevmodeEngine(options: DevmodeOptions): ConsensusEngine {
  const { chain, pending, clock, logger, nodeId, limits } = options;
  const maxWaitMs = options.maxWaitMs ?? 5;
  const retryMs = options.retryMs ?? 200;

  let running = false;
  let timer: Timer | undefined;
  let building: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;

  const schedule = (delayMs: number): void => {
    if (!running || building || timer) return;
    timer = clock.setTimer(delayMs, () => {
      timer = undefined;
      void build();
    });
  };

  const onAvailable = (): void => {
    if (!running || building || pending.available === 0) return;
    if (pending.available >= limits.maxBatches) {
      timer?.cancel();
      timer = undefined;
      void build();
    } else {
      schedule(maxWaitMs);
    }
  };

  const build = async (): Promise<void> => {
    if (!running || building) return;
    let failed = false;
    building = (async () => {
      try {
        for (;;) {
          const candidate = await chain.propose({
            timestampMs: clock.now(),
            engine: "devmode",
            limits,
          });
          if (!candidate) break;
          await chain.commit(candidate);
          // Keep going while a full block's worth is waiting: no wait between full blocks.
          if (!running || pending.available < limits.maxBatches) break;
        }
      } catch (err) {
        failed = true;
        logger.error("devmode block failed", { error: errorMessage(err) });
      }
    })();
    await building;
    building = undefined;
    if (pending.available > 0) schedule(failed ? retryMs : maxWaitMs);
  };

  return {
    name: "devmode",
    async start() {
      if (running) return;
      running = true;
      unsubscribe = pending.onAvailable(onAvailable);
      if (pending.available > 0) schedule(0);
      logger.info("devmode consensus started", { nodeId });
    },
    async stop() {
      if (!running) return;
      running = false;
      timer?.cancel();
      timer = undefined;
      unsubscribe?.();
      await building;
    },
    status(): ConsensusStatus {
      return { engine: "devmode", view: 0, primary: nodeId, validators: [nodeId] };
    },
  };
}
