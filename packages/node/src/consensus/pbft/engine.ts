/**
 * PBFT as a node's consensus engine: the driver, the chain host, the durable vote store and
 * message authentication with the validators' chain keys, behind `ConsensusEngine`. Frames
 * travel through an injected link, so this module does no I/O itself.
 */
import type { Mempool, SelectionLimits } from "../../admission/mempool.js";
import type { Chain } from "../../chain/chain.js";
import type { Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { CryptoSuite, Signer } from "../../crypto/interface.js";
import type { KvStore } from "../../storage/interface.js";
import type { ConsensusEngine, ConsensusStatus } from "../interface.js";
import { createPbftChainHost, type PeerFetcher } from "./chain-host.js";
import { type PbftConfig, quorumSize } from "./config.js";
import { createPbftDriver, type PbftDriver, type PbftLink } from "./driver.js";
import type { CommittedHead, PbftOutput, PbftStatus } from "./machine.js";
import type { MessageAuthenticator } from "./messages.js";
import { createPbftStore } from "./store.js";

/** Options of `createPbftEngine`. */
export interface PbftEngineOptions {
  readonly config: PbftConfig;
  /** This node's id (a validator id; any other id makes an observer that does not vote). */
  readonly self: string;
  readonly genesis: CommittedHead;
  readonly chain: Chain;
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
}

/** The PBFT engine; `receive` takes PBFT frames from peers. */
export interface PbftEngine extends ConsensusEngine {
  receive(peer: string, frame: Uint8Array): void;
  pbftStatus(): PbftStatus | undefined;
}

/** Signs with this node's chain key; verifies with the validators' keys from genesis. */
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
  const { config, logger } = options;
  const validators = new Map(config.validators.map((v) => [v.id, v.publicKey]));
  const host = createPbftChainHost({
    chainId: config.chainId,
    chain: options.chain,
    mempool: options.mempool,
    suite: options.suite,
    validators,
    quorum: quorumSize(config.validators.length),
    fetcher: options.fetcher,
    clock: options.clock,
    logger: logger.child("pbft-host"),
    limits: options.limits,
  });
  const driver: PbftDriver = createPbftDriver({
    config,
    self: options.self,
    genesis: options.genesis,
    host,
    link: options.link,
    store: createPbftStore(options.store),
    auth: createChainKeyAuthenticator(options.signer, options.suite, config.validators),
    clock: options.clock,
    logger: logger.child("pbft"),
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
  });
  let started = false;

  return {
    name: "pbft",
    async start() {
      if (started) return;
      started = true;
      await driver.start();
    },
    async stop() {
      if (!started) return;
      started = false;
      await driver.stop();
    },
    receive: (peer, frame) => driver.receive(peer, frame),
    pbftStatus: () => (started ? driver.status() : undefined),
    status(): ConsensusStatus {
      const ids = config.validators.map((v) => v.id);
      if (!started) return { engine: "pbft", view: 0, primary: ids[0], validators: ids };
      const status = driver.status();
      return { engine: "pbft", view: status.view, primary: status.primary, validators: ids };
    },
  };
}
