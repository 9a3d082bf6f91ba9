/**
 * Builds real nodes for the API tests (genesis signed with `signGenesis`, devmode consensus,
 * memory or LevelDB store) and batches signed by the real `sawtooth-sdk`, the independent
 * Sawtooth client the API must stay compatible with.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "cborg";
import { type ApiServer, type ApiServerOptions, createApiServer } from "../../src/api/index.js";
import { systemClock } from "../../src/common/clock.js";
import { silentLogger } from "../../src/common/logger.js";
import { getSuite } from "../../src/crypto/index.js";
import type { Signer } from "../../src/crypto/interface.js";
import {
  AUTHORIZED_KEYS_SETTING,
  SETTINGS_FAMILY,
  SETTINGS_NAMESPACE,
  SETTINGS_VERSION,
} from "../../src/families/index.js";
import { signGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode, type NodeOptions } from "../../src/node.js";
import { createStateTree } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import {
  createBatch,
  createTransaction,
  encodeBatchList,
  encodeSettingProposal,
  encodeSettingsPayload,
} from "../../src/wire/index.js";
import type { Batch } from "../../src/wire/types.js";
import { type SdkSigner, sdkContext, sdkProtobuf, sdkSigner } from "../wire/sawtooth-sdk.js";

/** The standard suite every test chain uses. */
export const suite = getSuite("standard");

/** A running test node with its keys. */
export interface TestNode {
  readonly node: GovchainNode;
  /** The administrator (authorized settings voter). */
  readonly admin: Signer;
  /** Base URL when the node's own API listens on a real socket. */
  readonly url: string | undefined;
  stop(): Promise<void>;
}

/** Options of `startTestNode`. */
export interface TestNodeOptions {
  /** Use LevelDB in a temp dir instead of the memory store. */
  readonly level?: boolean;
  /** Let the node start its own API on 127.0.0.1, port 0. */
  readonly listen?: boolean;
  /** Start without consensus running (batches stay PENDING). */
  readonly paused?: boolean;
  readonly mempool?: NodeOptions["mempool"];
  readonly wireLimits?: NodeOptions["wireLimits"];
  /** Extra genesis settings. */
  readonly settings?: Readonly<Record<string, string>>;
}

/** Starts a single-validator devmode node on a fresh chain. */
export async function startTestNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const nodeKey = suite.generateKey();
  const nodeSigner = suite.createSigner(nodeKey);
  const admin = suite.createSigner(suite.generateKey());
  const scratch = createMemoryStore();
  await scratch.open();
  const genesis = await signGenesis(
    {
      format: "govchain-genesis/1",
      chainId: "api-test",
      suite: "standard",
      timestampMs: 1_700_000_000_000,
      consensus: { engine: "devmode" },
      validators: [
        { id: "node0", publicKey: nodeSigner.publicKeyHex, endpoint: "tcp://127.0.0.1:8800" },
      ],
      settings: {
        "govchain.family.intkey.policy": "any",
        [AUTHORIZED_KEYS_SETTING]: admin.publicKeyHex,
        ...options.settings,
      },
    },
    nodeSigner,
    suite,
    createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
  );
  await scratch.close();
  const dir = options.level ? await mkdtemp(join(tmpdir(), "govchain-api-")) : undefined;
  const node = createNode({
    nodeId: "node0",
    dataDir: dir ?? "/nonexistent",
    genesis,
    key: nodeKey,
    api: options.listen ? { host: "127.0.0.1", port: 0 } : false,
    ...(dir === undefined ? { store: createMemoryStore() } : {}),
    ...(options.mempool ? { mempool: options.mempool } : {}),
    ...(options.wireLimits ? { wireLimits: options.wireLimits } : {}),
    block: { maxWaitMs: 1 },
  });
  await node.start();
  if (options.paused) await node.consensus.stop();
  return {
    node,
    admin,
    url: node.apiUrl,
    async stop() {
      await node.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An API server over `node` for `inject` (the node's own API is off). */
export function injectServer(
  node: GovchainNode,
  options: Partial<ApiServerOptions> = {},
): ApiServer {
  return createApiServer({ node, logger: silentLogger, clock: systemClock, ...options });
}

/** The intkey address of `name`. */
export function intkeyAddress(name: string): string {
  return `1cf126${createHash("sha512").update(name).digest("hex").slice(-64)}`;
}

/** A fresh SDK secp256k1 signer. */
export function newSdkSigner(): SdkSigner {
  return sdkSigner(sdkContext.newRandomPrivateKey().asHex());
}

/** What `sdkIntkeyBatch` can alter to build a faulty batch. */
export interface SdkTxOptions {
  readonly verb?: string;
  readonly value?: number;
  readonly familyName?: string;
  readonly familyVersion?: string;
  /** Payload digest to put in the header instead of the real one. */
  readonly payloadSha512?: string;
  /** Corrupt the transaction signature. */
  readonly badSignature?: boolean;
}

/** An intkey transaction and batch built and signed with the SDK, as a Sawtooth client would. */
export function sdkIntkeyBatch(
  signer: SdkSigner,
  name: string,
  options: SdkTxOptions = {},
): { batch: object; batchId: string; transactionId: string } {
  const payload = encode({ Verb: options.verb ?? "set", Name: name, Value: options.value ?? 42 });
  const address = intkeyAddress(name);
  const publicKey = signer.getPublicKey().asHex();
  const txHeader = sdkProtobuf.TransactionHeader.encode({
    familyName: options.familyName ?? "intkey",
    familyVersion: options.familyVersion ?? "1.0",
    inputs: [address],
    outputs: [address],
    signerPublicKey: publicKey,
    batcherPublicKey: publicKey,
    dependencies: [],
    payloadSha512: options.payloadSha512 ?? createHash("sha512").update(payload).digest("hex"),
    nonce: createHash("sha256").update(`${name}${Math.random()}`).digest("hex").slice(0, 16),
  }).finish();
  let transactionId = signer.sign(txHeader);
  if (options.badSignature) transactionId = flipHex(transactionId);
  const transaction = sdkProtobuf.Transaction.create({
    header: txHeader,
    headerSignature: transactionId,
    payload,
  });
  const batchHeader = sdkProtobuf.BatchHeader.encode({
    signerPublicKey: publicKey,
    transactionIds: [transactionId],
  }).finish();
  const batchId = signer.sign(batchHeader);
  const batch = sdkProtobuf.Batch.create({
    header: batchHeader,
    headerSignature: batchId,
    transactions: [transaction],
  });
  return { batch, batchId, transactionId };
}

/** An encoded BatchList of SDK batches. */
export function sdkBatchList(batches: readonly object[]): Uint8Array {
  return sdkProtobuf.BatchList.encode({ batches }).finish();
}

function flipHex(hex: string): string {
  const last = hex.at(-1) === "0" ? "1" : "0";
  return hex.slice(0, -1) + last;
}

/** A `sawtooth_settings` proposal batch signed by `signer` (applied at once: threshold 1). */
export function settingsBatch(signer: Signer, setting: string, value: string): Batch {
  const payload = encodeSettingsPayload({
    action: "PROPOSE",
    data: encodeSettingProposal({ setting, value, nonce: String(Math.random()) }),
  });
  const tx = createTransaction(
    signer,
    {
      familyName: SETTINGS_FAMILY,
      familyVersion: SETTINGS_VERSION,
      inputs: [SETTINGS_NAMESPACE],
      outputs: [SETTINGS_NAMESPACE],
      payload,
    },
    suite,
  );
  return createBatch(signer, [tx]);
}

/** Encodes govchain-built batches as a BatchList. */
export function batchList(batches: readonly Batch[]): Uint8Array {
  return encodeBatchList(batches);
}
