/**
 * The composition root: builds a govchain node from its options. This is the only place that
 * picks concrete implementations (LevelDB or memory store, devmode or PBFT engine, pino
 * logger); every component below receives only the collaborators it needs.
 *
 * Start order: store → block store → genesis → consensus → API. Stop is the reverse, and both
 * are idempotent.
 */
import { join } from "node:path";
import { type Admission, createAdmission } from "./admission/admission.js";
import { createMempool, type Mempool } from "./admission/mempool.js";
import { type ApiServer, createApiServer } from "./api/index.js";
import { type Chain, createChain } from "./chain/chain.js";
import { type Clock, systemClock } from "./common/clock.js";
import { GovchainError } from "./common/errors.js";
import { type Logger, silentLogger } from "./common/logger.js";
import { createDevmodeEngine } from "./consensus/devmode.js";
import type { ConsensusEngine, ConsensusStatus } from "./consensus/interface.js";
import { createPbftConfig } from "./consensus/pbft/config.js";
import { createPbftEngine, type PbftEngine } from "./consensus/pbft/engine.js";
import type { PbftOutput } from "./consensus/pbft/machine.js";
import { EPOCHS_KEY } from "./consensus/pbft/membership.js";
import type { SnapshotReport } from "./consensus/pbft/snapshot-sync.js";
import { getSuite } from "./crypto/index.js";
import type { CryptoSuite, PrivateKey, Signer } from "./crypto/interface.js";
import { createExecutor } from "./execution/executor.js";
import { createFamilyRegistry, type FamilyRegistry } from "./execution/registry.js";
import { builtinFamilies, createChainServices } from "./families/index.js";
import { type GenesisConfig, genesisBlock } from "./genesis/genesis.js";
import { type BlockStore, createBlockStore } from "./ledger/block-store.js";
import { createNodeMetrics, type NodeMetrics } from "./metrics/metrics.js";
import { createTlsTransport, type PeerStatus, type TlsTransport } from "./network/index.js";
import { createPeerServices, type PeerServices } from "./p2p/peer-services.js";
import { createStateTree } from "./state/index.js";
import type { StateTree } from "./state/interface.js";
import { createLevelStore } from "./storage/index.js";
import type { KvStore } from "./storage/interface.js";
import { KeyPrefix, prefixedKey } from "./storage/prefixes.js";
import { createWireLimits, type WireLimits } from "./wire/index.js";

/** Options of `createNode`. Defaults suit a local development network. */
export interface NodeOptions {
  /** Name of this node in status and logs, e.g. `node0`. */
  readonly nodeId: string;
  /** Directory holding the node's database (`db/`). Ignored when `store` is given. */
  readonly dataDir: string;
  /** The chain's genesis document. */
  readonly genesis: GenesisConfig;
  /** The node's validator key (signs the blocks it proposes). */
  readonly key: PrivateKey;
  /** REST API listen address and bounds; `false` for none. Default `127.0.0.1:8008`. */
  readonly api?:
    | {
        readonly host: string;
        readonly port: number;
        /** Largest JSON body, default 1 MiB. */
        readonly maxJsonBodyBytes?: number;
        /** Longest `?wait` in seconds, default 300. */
        readonly maxWaitSeconds?: number;
        /** Event stream bounds: send buffer per subscriber (default 4 MiB), subscribers (default 256). */
        readonly events?: { readonly maxBufferedBytes?: number; readonly maxSubscribers?: number };
      }
    | false;
  /** A store to use instead of LevelDB under `dataDir` (tests, simulation). */
  readonly store?: KvStore;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Mempool bounds; defaults 20,000 batches and 64 MiB. */
  readonly mempool?: { readonly maxBatches?: number; readonly maxBytes?: number };
  /** Block bounds; defaults 1,000 batches, 5,000 transactions, 8 MiB, 5 ms fill wait. */
  readonly block?: {
    readonly maxBatches?: number;
    readonly maxTransactions?: number;
    readonly maxBytes?: number;
    readonly maxWaitMs?: number;
  };
  /** Overrides of the wire limits applied at admission. */
  readonly wireLimits?: Partial<WireLimits>;
  /**
   * Where the validator transport listens (PBFT networks); default the host and port of this
   * node's endpoint in genesis. Port 0 asks the OS (tests).
   */
  readonly p2p?: { readonly host: string; readonly port: number };
  /**
   * Catch-up by state snapshot on PBFT networks (ADR 0010): a node at least `minGapBlocks`
   * behind the peers' latest checkpoint (default 4 checkpoint intervals) installs the state
   * at that checkpoint instead of re-executing every block; `false` always replays blocks.
   */
  readonly stateSync?:
    | {
        readonly minGapBlocks?: number;
        /** State nodes asked of a peer per request; default 2,048. */
        readonly nodesPerRequest?: number;
      }
    | false;
}

/** What `/v1/status` reports. */
export interface NodeStatus {
  readonly nodeId: string;
  readonly chainId: string;
  readonly suite: string;
  readonly height: string;
  readonly head: string;
  readonly stateRoot: string;
  readonly headTimestampMs: number;
  readonly view: number;
  readonly primary: string | undefined;
  readonly validators: readonly string[];
  readonly peers: readonly PeerStatus[];
  readonly consensus: ConsensusStatus;
  readonly mempool: { readonly batches: number; readonly bytes: number };
}

/** A running (or startable) govchain node. */
export interface GovchainNode {
  readonly nodeId: string;
  readonly genesis: GenesisConfig;
  readonly suite: CryptoSuite;
  readonly signer: Signer;
  readonly store: KvStore;
  readonly blocks: BlockStore;
  readonly state: StateTree;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly admission: Admission;
  readonly families: FamilyRegistry;
  readonly consensus: ConsensusEngine;
  readonly metrics: NodeMetrics;
  /** The API's listening URL once started (undefined when disabled). */
  readonly apiUrl: string | undefined;
  /** The validator transport's `host:port` once started (PBFT networks). */
  readonly p2pEndpoint: string | undefined;
  status(): NodeStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a node; nothing is opened until `start`. */
export function createNode(options: NodeOptions): GovchainNode {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const { genesis, nodeId } = options;
  const suite = getSuite(genesis.suite);
  const signer = suite.createSigner(options.key);
  const store = options.store ?? createLevelStore({ path: join(options.dataDir, "db") });
  const state = createStateTree({ store, hash: suite.hash, hashName: suite.hashName });
  const blocks = createBlockStore({ store });
  const families = createFamilyRegistry(builtinFamilies());
  const services = createChainServices();
  const mempool = createMempool({ clock, ...options.mempool });
  const executor = createExecutor({ state, families, services, logger: logger.child("execution") });
  const baseChain = createChain({
    suite,
    signer,
    blocks,
    state,
    executor,
    mempool,
    clock,
    logger: logger.child("chain"),
  });
  // Filled in below once the engine and transport exist.
  const metricSources: {
    consensus?: () => { view: number; checkpointLag: number } | undefined;
    peers?: () => PeerStatus[];
  } = {};
  const metrics = createNodeMetrics(
    {
      height: () => Number(blocks.head()?.height ?? -1n),
      mempool: () => ({ size: mempool.size, bytes: mempool.bytes }),
      consensus: () => metricSources.consensus?.(),
      peers: () => metricSources.peers?.() ?? [],
    },
    { node: nodeId },
  );
  const chain = instrumentChain(baseChain, metrics, clock);
  const wireLimits = createWireLimits(options.wireLimits);
  const admission = createAdmission({
    suite,
    limits: wireLimits,
    families,
    services,
    blocks,
    mempool,
    headReader: () => chain.headReader(),
    logger: logger.child("admission"),
  });
  const blockLimits = {
    maxBatches: options.block?.maxBatches ?? 1_000,
    maxTransactions: options.block?.maxTransactions ?? 5_000,
    maxBytes: options.block?.maxBytes ?? 8 * 1024 * 1024,
  };

  const self = genesis.validators.find((v) => v.id === nodeId);
  const observer = genesis.observers.find((v) => v.id === nodeId);
  const member = self ?? observer;
  if (member && member.publicKey !== signer.publicKeyHex) {
    throw new GovchainError(
      "KEY_MISMATCH",
      `node ${nodeId} is in genesis with key ${member.publicKey.slice(0, 16)}…, but its key file holds ${signer.publicKeyHex.slice(0, 16)}…`,
    );
  }
  if (!self && observer) {
    logger.info("this node is an observer: it replicates blocks and does not vote", { nodeId });
  } else if (!self) {
    logger.warn("this node is neither a validator nor an observer in genesis", { nodeId });
  }

  let transport: TlsTransport | undefined;
  let peerServices: PeerServices | undefined;
  let pbft: PbftEngine | undefined;
  let consensus: ConsensusEngine;
  if (genesis.consensus.engine === "pbft") {
    const params = genesis.consensus as Record<string, unknown>;
    const num = (key: string): number | undefined =>
      typeof params[key] === "number" ? (params[key] as number) : undefined;
    const config = createPbftConfig({
      chainId: genesis.chainId,
      validators: genesis.validators.map((v) => ({ id: v.id, publicKey: v.publicKey })),
      ...optional("checkpointInterval", num("checkpointInterval")),
      ...optional("window", num("window")),
      ...optional("maxInFlight", num("maxInFlight")),
      ...optional("viewChangeTimeoutMs", num("viewChangeTimeoutMs")),
      ...optional("maxViewChangeTimeoutMs", num("maxViewChangeTimeoutMs")),
      ...optional("retransmitMs", num("retransmitMs")),
    });
    const listen = options.p2p ?? endpointOf(member?.endpoint);
    transport = createTlsTransport({
      localId: nodeId,
      chainId: genesis.chainId,
      suite,
      signer,
      listen: listen ?? { host: "127.0.0.1", port: 0 },
      // Validators talk to every validator and observer; observers talk to the validators. The
      // node's own entry stays in the list: it tells the transport whether peers can dial us
      // (an observer without an endpoint dials out to everyone).
      peers: (self
        ? [...genesis.validators, ...genesis.observers]
        : [...genesis.validators, ...(observer ? [observer] : [])]
      ).map((v) => ({
        id: v.id,
        publicKey: v.publicKey,
        ...(v.endpoint ? { endpoint: v.endpoint } : {}),
      })),
      clock,
      logger: logger.child("network"),
    });
    peerServices = createPeerServices({
      transport,
      suite,
      limits: wireLimits,
      admission,
      mempool,
      blocks,
      clock,
      logger: logger.child("p2p"),
      onPbftFrame: (peer, frame, relayed) => pbft?.receive(peer, frame, relayed),
      onPeerHead: (_peer, height) => pbft?.peerHead(height),
      readStateNodes: (hashes) =>
        store.getMany(hashes.map((hash) => prefixedKey(KeyPrefix.STATE_NODE, hash))),
      readEpochHistory: () => store.get(EPOCHS_KEY),
    });
    const services = peerServices;
    const links = transport;
    metricSources.peers = () => links.peers();
    metricSources.consensus = () => {
      const status = pbft?.pbftStatus();
      return status
        ? { view: status.view, checkpointLag: status.committed.seq - status.stableSeq }
        : undefined;
    };
    // Built at start, once the genesis block (its state root) is known.
    consensus = {
      name: "pbft",
      start: async () => {
        const genesisBlockRef = await blocks.getBlockByHeight(0n);
        pbft = createPbftEngine({
          config,
          self: nodeId,
          genesis: {
            seq: 0,
            blockId: genesisBlockRef?.id ?? "",
            stateRoot: genesisBlockRef?.header.stateRootHash ?? "",
          },
          genesisMembers: {
            validators: genesis.validators.map(toMember),
            observers: genesis.observers.map(toMember),
          },
          chain,
          blocks,
          mempool,
          suite,
          signer,
          store,
          link: services.pbftLink,
          fetcher: services,
          // The peer set follows the validator set in force: members added by a vote can
          // connect, removed ones are dropped; nobody restarts.
          onEpoch: (epoch) => {
            const members = [...epoch.validators, ...epoch.observers];
            const selfEntry = members.find((m) => m.id === nodeId);
            const isValidator = epoch.validators.some((m) => m.id === nodeId);
            const peersOf = isValidator
              ? members
              : [...epoch.validators, ...(selfEntry ? [selfEntry] : [])];
            links.setPeers(
              peersOf.map((m) => ({
                id: m.id,
                publicKey: m.publicKey,
                ...(m.endpoint ? { endpoint: m.endpoint } : {}),
              })),
            );
          },
          clock,
          logger: logger.child("consensus"),
          limits: blockLimits,
          onOutput: observePhases(metrics, clock),
          stateSync:
            options.stateSync === false
              ? false
              : {
                  ...optional("minGapBlocks", options.stateSync?.minGapBlocks),
                  ...optional("nodesPerRequest", options.stateSync?.nodesPerRequest),
                  onReport: (report) => countStateSync(metrics, report),
                },
        });
        await pbft.start();
      },
      stop: async () => {
        await pbft?.stop();
      },
      status: () =>
        pbft?.status() ?? {
          engine: "pbft",
          view: 0,
          primary: config.validators[0]?.id,
          validators: config.validators.map((v) => v.id),
        },
    };
  } else {
    consensus = createDevmodeEngine({
      chain,
      pending: mempool,
      clock,
      logger: logger.child("consensus"),
      nodeId,
      limits: blockLimits,
      ...(options.block?.maxWaitMs !== undefined ? { maxWaitMs: options.block.maxWaitMs } : {}),
    });
  }

  let api: ApiServer | undefined;
  let apiUrl: string | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;

  const node: GovchainNode = {
    nodeId,
    genesis,
    suite,
    signer,
    store,
    blocks,
    state,
    chain,
    mempool,
    admission,
    families,
    consensus,
    metrics,
    get apiUrl() {
      return apiUrl;
    },
    get p2pEndpoint() {
      return transport?.listenEndpoint;
    },

    status(): NodeStatus {
      const head = blocks.head();
      const consensusStatus = consensus.status();
      return {
        nodeId,
        chainId: genesis.chainId,
        suite: suite.id,
        height: String(head?.height ?? -1n),
        head: head?.id ?? "",
        stateRoot: head?.stateRoot ?? "",
        headTimestampMs: head?.timestampMs ?? 0,
        view: consensusStatus.view,
        primary: consensusStatus.primary,
        validators: consensusStatus.validators,
        peers: transport?.peers() ?? [],
        consensus: consensusStatus,
        mempool: { batches: mempool.size, bytes: mempool.bytes },
      };
    },

    async start() {
      if (started) return;
      started = true;
      await store.open();
      await blocks.open();
      await ensureGenesis();
      await transport?.start();
      peerServices?.start();
      await consensus.start();
      const apiOptions = options.api ?? { host: "127.0.0.1", port: 8008 };
      if (apiOptions !== false) {
        api = createApiServer({
          node,
          logger: logger.child("api"),
          clock,
          maxBatchListBytes: wireLimits.maxBatchListBytes,
          ...(apiOptions.maxJsonBodyBytes !== undefined
            ? { maxJsonBodyBytes: apiOptions.maxJsonBodyBytes }
            : {}),
          ...(apiOptions.maxWaitSeconds !== undefined
            ? { maxWaitSeconds: apiOptions.maxWaitSeconds }
            : {}),
          ...(apiOptions.events !== undefined ? { events: apiOptions.events } : {}),
        });
        apiUrl = await api.listen(apiOptions.host, apiOptions.port);
      }
      logger.info("node started", { nodeId, height: String(blocks.head()?.height), api: apiUrl });
    },

    async stop() {
      if (!started) return;
      stopping ??= (async () => {
        await api?.close();
        await consensus.stop();
        peerServices?.stop();
        await transport?.stop();
        await store.close();
        logger.info("node stopped", { nodeId });
      })();
      await stopping;
    },
  };

  const ensureGenesis = async (): Promise<void> => {
    const expected = await genesisBlock(genesis, suite, state);
    const head = blocks.head();
    if (!head) {
      await blocks.commit({
        id: expected.id,
        header: expected.header,
        consensus: expected.consensus,
        block: expected.block,
        bytes: expected.bytes,
        receipts: [],
        stateOperations: expected.update.operations,
      });
      state.release(expected.update);
      logger.info("genesis committed", { id: expected.id.slice(0, 16), chainId: genesis.chainId });
      return;
    }
    state.release(expected.update);
    const stored = await blocks.getBlockByHeight(0n);
    if (stored?.id !== expected.id) {
      throw new GovchainError(
        "GENESIS_MISMATCH",
        `the data directory belongs to another chain: its genesis block is ${stored?.id.slice(0, 16)}…, the genesis file gives ${expected.id.slice(0, 16)}…`,
      );
    }
  };

  return node;
}

/** Wraps the chain controller to record block timings and counts. */
function instrumentChain(chain: Chain, metrics: NodeMetrics, clock: Clock): Chain {
  chain.onCommit((event) => {
    metrics.blocksCommitted.inc();
    metrics.batchesCommitted.inc(event.batchIds.length);
    metrics.transactionsCommitted.inc(event.receipts.length);
    metrics.blockTransactions.observe(event.receipts.length);
    metrics.batchesInvalid.inc(event.invalid.length);
  });
  return {
    ...chain,
    async propose(options) {
      const started = clock.monotonic();
      const candidate = await chain.propose(options);
      metrics.blockBuildSeconds.observe((clock.monotonic() - started) / 1000);
      return candidate;
    },
    async commit(candidate, extra) {
      const started = clock.monotonic();
      const head = await chain.commit(candidate, extra);
      metrics.blockCommitSeconds.observe((clock.monotonic() - started) / 1000);
      return head;
    },
  };
}

/** Counts a snapshot attempt in the metrics. */
function countStateSync(metrics: NodeMetrics, report: SnapshotReport): void {
  metrics.stateSyncs.inc({ outcome: report.outcome });
  metrics.stateSyncSeconds.observe({ outcome: report.outcome }, report.seconds);
  metrics.stateSyncBlocks.inc(report.blocksStored);
  if (report.outcome === "installed") metrics.stateSyncCheckpoint.set(Number(report.height));
  const state = report.state;
  if (!state) return;
  metrics.stateSyncNodes.inc({ result: "transferred" }, state.nodesTransferred);
  metrics.stateSyncNodes.inc({ result: "present" }, state.nodesPresent);
  metrics.stateSyncNodes.inc({ result: "rejected" }, state.nodesRejected);
  metrics.stateSyncBytes.inc(state.bytesTransferred);
}

/** `{ [key]: value }` when the value is defined, else `{}` (exact optional properties). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** Host and port of a `host:port` endpoint from genesis; undefined when absent. */
function endpointOf(endpoint: string | undefined): { host: string; port: number } | undefined {
  if (!endpoint) return undefined;
  const at = endpoint.lastIndexOf(":");
  const host = endpoint.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(endpoint.slice(at + 1));
  return Number.isInteger(port) ? { host, port } : undefined;
}

/** Turns PBFT phase outputs into latency observations (time since the block was proposed). */
function observePhases(metrics: NodeMetrics, clock: Clock): (output: PbftOutput) => void {
  const proposedAt = new Map<number, number>();
  return (output) => {
    if (output.kind === "view-changed") metrics.viewChanges.inc();
    if (output.kind !== "phase") return;
    const now = clock.monotonic();
    if (output.phase === "proposed") {
      if (!proposedAt.has(output.seq)) proposedAt.set(output.seq, now);
      // Bounded: slots far behind the head never reach "executed" here (catch-up).
      for (const seq of proposedAt.keys()) if (seq < output.seq - 1_000) proposedAt.delete(seq);
      return;
    }
    const started = proposedAt.get(output.seq);
    if (started === undefined) return;
    metrics.consensusPhaseSeconds.observe({ phase: output.phase }, (now - started) / 1000);
    if (output.phase === "executed") proposedAt.delete(output.seq);
  };
}

/** A genesis validator or observer as a membership entry. */
function toMember(m: { id: string; publicKey: string; endpoint?: string | undefined }): {
  id: string;
  publicKey: string;
  endpoint?: string;
} {
  return { id: m.id, publicKey: m.publicKey, ...(m.endpoint ? { endpoint: m.endpoint } : {}) };
}
