/**
 * PBFT as a node's consensus engine: the driver of the current validator-set epoch, the chain
 * host, the durable vote store and message authentication with the validators' chain keys,
 * behind `ConsensusEngine`. When a membership change voted through settings reaches its
 * boundary block, the engine ends the epoch's machine and starts the next one on that block —
 * other validators keep running; a validator added by the vote joins without anyone
 * restarting. Frames travel through an injected link, so this module does no I/O itself.
 */
import type { Mempool, SelectionLimits } from "../../admission/mempool.js";
import type { Chain } from "../../chain/chain.js";
import type { Clock } from "../../common/clock.js";
import { errorMessage } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CryptoSuite, Signer } from "../../crypto/interface.js";
import type { BlockStore } from "../../ledger/block-store.js";
import type { KvStore } from "../../storage/interface.js";
import type { ConsensusEngine, ConsensusStatus } from "../interface.js";
import { createPbftChainHost, EPOCHS_KEY, type PeerFetcher } from "./chain-host.js";
import { createPbftConfig, type PbftConfig } from "./config.js";
import { createPbftDriver, type PbftDriver, type PbftLink } from "./driver.js";
import type { CommittedHead, PbftOutput, PbftStatus } from "./machine.js";
import {
  createEpochBook,
  decodeHistory,
  type Epoch,
  type EpochBook,
  epochDomain,
  type Member,
} from "./membership.js";
import type { MessageAuthenticator } from "./messages.js";
import type { SnapshotReport } from "./snapshot-sync.js";
import { createPbftStore } from "./store.js";

/** Options of `createPbftEngine`. */
export interface PbftEngineOptions {
  /** Parameters and the genesis validator set (chain id without epoch). */
  readonly config: PbftConfig;
  /** Validators (with their endpoints) and observers listed in genesis: epoch 0. */
  readonly genesisMembers: {
    readonly validators: readonly Member[];
    readonly observers: readonly Member[];
  };
  /** This node's id (a validator id; any other id makes an observer that does not vote). */
  readonly self: string;
  readonly genesis: CommittedHead;
  readonly chain: Chain;
  readonly blocks: BlockStore;
  readonly mempool: Mempool;
  readonly suite: CryptoSuite;
  readonly signer: Signer;
  readonly store: KvStore;
  readonly link: PbftLink;
  readonly fetcher: PeerFetcher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: SelectionLimits;
  /** Observes every output (metrics). */
  readonly onOutput?: (output: PbftOutput) => void;
  /** Called with the epoch in force whenever it starts (the node updates its peer set). */
  readonly onEpoch?: (epoch: Epoch, history: readonly Epoch[]) => void;
  /**
   * Catch-up by state snapshot (ADR 0010): taken when the peers' latest checkpoint is at least
   * `minGapBlocks` above the head (default 4 checkpoint intervals); `false` always replays.
   */
  readonly stateSync?:
    | {
        readonly minGapBlocks?: number;
        /** State nodes asked of a peer per request; default 2,048. */
        readonly nodesPerRequest?: number;
        /** Told the outcome of every snapshot attempt (metrics). */
        readonly onReport?: (report: SnapshotReport) => void;
      }
    | false;
}

/** The PBFT engine; `receive` takes PBFT frames from peers. */
export interface PbftEngine extends ConsensusEngine {
  /** A PBFT frame from `peer`; `relayed` when the peer marked it as a relayed message. */
  receive(peer: string, frame: Uint8Array, relayed?: boolean): void;
  /** A peer's announced committed height. */
  peerHead(height: bigint): void;
  pbftStatus(): PbftStatus | undefined;
  /** The validator-set epoch in force. */
  epoch(): Epoch | undefined;
}

/** Signs with this node's chain key; verifies with the validators' keys. */
export function createChainKeyAuthenticator(
  signer: Signer,
  suite: CryptoSuite,
  validators: readonly { readonly id: string; readonly publicKey: string }[],
): MessageAuthenticator {
  const keys = new Map(validators.map((v) => [v.id, Buffer.from(v.publicKey, "hex")]));
  return {
    sign: (data) => signer.sign(data),
    verify: (sender, data, signature) => {
      const key = keys.get(sender);
      return key !== undefined && suite.verify(key, data, signature);
    },
  };
}

/** Creates the engine (nothing runs until `start`). */
export function createPbftEngine(options: PbftEngineOptions): PbftEngine {
  const { config, logger, chain } = options;
  let book: EpochBook | undefined;
  let host: ReturnType<typeof createPbftChainHost> | undefined;
  let driver: PbftDriver | undefined;
  let current: Epoch | undefined;
  let started = false;
  let switching: Promise<void> | undefined;
  const unsubscribers: (() => void)[] = [];

  const headSeq = (): number => Number(chain.head().height);

  const baseOf = async (epoch: Epoch): Promise<CommittedHead> => {
    if (epoch.number === 0 || epoch.firstSeq <= 1) return options.genesis;
    const block = await options.blocks.getBlockByHeight(BigInt(epoch.firstSeq - 1));
    if (!block)
      throw new Error(
        `the boundary block ${epoch.firstSeq - 1} of epoch ${epoch.number} is not committed`,
      );
    return { seq: epoch.firstSeq - 1, blockId: block.id, stateRoot: block.header.stateRootHash };
  };

  const startEpoch = async (epoch: Epoch): Promise<void> => {
    if (!book || !host) return;
    const epochConfig = createPbftConfig({
      ...config,
      chainId: epochDomain(config.chainId, epoch.number),
      validators: epoch.validators.map((v) => ({ id: v.id, publicKey: v.publicKey })),
    });
    driver = createPbftDriver({
      config: epochConfig,
      self: options.self,
      genesis: await baseOf(epoch),
      host,
      link: options.link,
      store: createPbftStore(options.store, epoch.number),
      auth: createChainKeyAuthenticator(options.signer, options.suite, epoch.validators),
      clock: options.clock,
      logger: logger.child("pbft"),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    });
    current = epoch;
    await driver.start();
    const next = book.next(epoch);
    if (next) driver.limit(next.firstSeq - 1);
    logger.info("validator set in force", {
      epoch: epoch.number,
      firstBlock: epoch.firstSeq,
      validators: epoch.validators.map((v) => v.id),
    });
    options.onEpoch?.(epoch, book.history());
  };

  /** Moves to the next epoch once its boundary block is committed. */
  const maybeSwitch = (): void => {
    if (!started || !book || !current || switching) return;
    const next = book.next(current);
    if (!next || headSeq() < next.firstSeq - 1) return;
    switching = (async () => {
      try {
        await driver?.stop();
        host?.discard([]);
        await startEpoch(book.at(headSeq() + 1));
      } catch (err) {
        logger.error("could not start the next validator set", { error: errorMessage(err) });
      } finally {
        switching = undefined;
      }
      maybeSwitch(); // catch-up may have gone past several boundaries
    })();
  };

  return {
    name: "pbft",
    async start() {
      if (started) return;
      const stored = await options.store.get(EPOCHS_KEY);
      book = createEpochBook({
        genesis: options.genesisMembers,
        ...(stored ? { stored: decodeHistory(stored) } : {}),
        checkpointInterval: config.checkpointInterval,
        maxInFlight: config.maxInFlight,
      });
      const stateSync = options.stateSync ?? {};
      host = createPbftChainHost({
        chainId: config.chainId,
        chain,
        mempool: options.mempool,
        suite: options.suite,
        epochs: book,
        fetcher: options.fetcher,
        clock: options.clock,
        logger: logger.child("pbft-host"),
        limits: options.limits,
        ...(stateSync === false
          ? {}
          : {
              snapshot: {
                blocks: options.blocks,
                checkpointInterval: config.checkpointInterval,
                maxInFlight: config.maxInFlight,
                minGapBlocks: stateSync.minGapBlocks ?? 4 * config.checkpointInterval,
                ...(stateSync.nodesPerRequest !== undefined
                  ? { nodesPerRequest: stateSync.nodesPerRequest }
                  : {}),
                ...(stateSync.onReport ? { onReport: stateSync.onReport } : {}),
              },
            }),
      });
      started = true;
      await startEpoch(book.at(headSeq() + 1));
      const epochs = book;
      unsubscribers.push(
        epochs.onChange(() => {
          const next = current ? epochs.next(current) : undefined;
          if (next) driver?.limit(next.firstSeq - 1);
          // A snapshot adopts its history after its block committed: it may have jumped past
          // boundaries that no later commit will report.
          queueMicrotask(maybeSwitch);
        }),
        chain.onCommit(() => queueMicrotask(maybeSwitch)),
      );
      maybeSwitch();
    },
    async stop() {
      if (!started) return;
      started = false;
      for (const off of unsubscribers.splice(0)) off();
      await switching;
      await driver?.stop();
    },
    receive: (peer, frame, relayed) => driver?.receive(peer, frame, relayed),
    peerHead: (height) => driver?.peerHead(Number(height)),
    pbftStatus: () => (started ? driver?.status() : undefined),
    epoch: () => current,
    status(): ConsensusStatus {
      const ids = (current?.validators ?? config.validators).map((v) => v.id);
      const status = started && driver && !switching ? driver.status() : undefined;
      if (!status) return { engine: "pbft", view: 0, primary: ids[0], validators: ids };
      return { engine: "pbft", view: status.view, primary: status.primary, validators: ids };
    },
  };
}
