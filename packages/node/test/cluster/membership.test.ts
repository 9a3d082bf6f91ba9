/**
 * Membership change through a settings vote, on a live in-process PBFT network: four
 * validators and an observer; the administrator votes the observer in as a fifth validator;
 * at the checkpoint boundary every node moves to the new set without restarting, and the new
 * validator's votes then count (with one original validator stopped, a quorum of 4 of 5 needs
 * it).
 */
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.js";
import { MEMBERS_SETTING } from "../../src/consensus/pbft/membership.js";
import { getSuite } from "../../src/crypto/index.js";
import type { PrivateKey, Signer } from "../../src/crypto/interface.js";
import {
  APPROVAL_THRESHOLD_SETTING,
  AUTHORIZED_KEYS_SETTING,
  PROPOSALS_SETTING,
  SETTINGS_FAMILY,
  settingAddress,
} from "../../src/families/index.js";
import { type GenesisConfig, signGenesis } from "../../src/genesis/genesis.js";
import { createNode, type GovchainNode } from "../../src/node.js";
import { createStateTree } from "../../src/state/index.js";
import { createMemoryStore } from "../../src/storage/index.js";
import {
  createBatch,
  encodeBatchList,
  encodeSettingProposal,
  encodeSettingsPayload,
} from "../../src/wire/index.js";
import { intkeyTx, newSigner, tx } from "../support/fixtures.js";

const suite = getSuite("standard");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 45_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const started: GovchainNode[] = [];
afterAll(async () => {
  await Promise.all(started.map((n) => n.stop()));
});

function start(nodeId: string, genesis: GenesisConfig, key: PrivateKey): GovchainNode {
  const node = createNode({
    nodeId,
    dataDir: "",
    genesis,
    key,
    store: createMemoryStore(),
    api: false,
    logger: silentLogger,
  });
  started.push(node);
  return node;
}

function proposal(admin: Signer, key: string, value: string) {
  const touched = [key, AUTHORIZED_KEYS_SETTING, APPROVAL_THRESHOLD_SETTING, PROPOSALS_SETTING].map(
    settingAddress,
  );
  return tx(admin, {
    familyName: SETTINGS_FAMILY,
    payload: encodeSettingsPayload({
      action: "PROPOSE",
      data: encodeSettingProposal({ setting: key, value, nonce: "members-1" }),
    }),
    inputs: touched,
    outputs: touched,
  });
}

describe("validator set change by settings vote", () => {
  it("adds a validator at a checkpoint boundary without restarting anyone", async () => {
    const keys = Array.from({ length: 5 }, () => suite.generateKey());
    const publicKeys = keys.map((k) => suite.createSigner(k).publicKeyHex);
    const ports = await Promise.all(keys.map(() => freePort()));
    const members = keys.map((_, i) => ({
      id: `node${i}`,
      publicKey: publicKeys[i] as string,
      endpoint: `127.0.0.1:${ports[i]}`,
    }));
    const admin = newSigner();
    const scratch = createMemoryStore();
    await scratch.open();
    const genesis = await signGenesis(
      {
        format: "govchain-genesis/1",
        chainId: "membership-test",
        suite: "standard",
        timestampMs: 1_700_000_000_000,
        consensus: {
          engine: "pbft",
          viewChangeTimeoutMs: 800,
          checkpointInterval: 5,
          maxInFlight: 2,
        },
        validators: members.slice(0, 4),
        observers: [members[4] as (typeof members)[number]],
        settings: {
          "govchain.family.intkey.policy": "any",
          [AUTHORIZED_KEYS_SETTING]: admin.publicKeyHex,
        },
      },
      admin,
      suite,
      createStateTree({ store: scratch, hash: suite.hash, hashName: suite.hashName }),
    );
    const nodes = keys.map((key, i) => start(`node${i}`, genesis, key));
    await Promise.all(nodes.map((n) => n.start()));
    await until("validators connected", () =>
      nodes.slice(0, 4).every((n) => n.status().peers.filter((p) => p.connected).length === 4),
    );
    expect(nodes[4]?.status().validators).toEqual(["node0", "node1", "node2", "node3"]);

    // The vote: node4 becomes a validator.
    const change = createBatch(admin, [
      proposal(admin, MEMBERS_SETTING, JSON.stringify({ validators: members, observers: [] })),
    ]);
    await nodes[1]?.admission.submit(encodeBatchList([change]));
    await until("the change committed everywhere", async () => {
      const statuses = await Promise.all(
        nodes.map((node) => node.chain.batchStatuses([change.headerSignature])),
      );
      return statuses.every((s) => s[0]?.status === "COMMITTED");
    });

    // Keep blocks coming until every node has passed the boundary and switched.
    const client = newSigner();
    let n = 0;
    await until("all five nodes use the new validator set", async () => {
      const batch = createBatch(client, [intkeyTx(client, "set", `m${n++}`, 1)]);
      await nodes[2]?.admission.submit(encodeBatchList([batch])).catch(() => undefined);
      return nodes.every((node) => node.status().validators.length === 5);
    });
    expect(nodes[4]?.status().validators).toEqual(["node0", "node1", "node2", "node3", "node4"]);

    // With node0 stopped, 4 of 5 remain: exactly a quorum, so node4's votes are needed.
    await nodes[0]?.stop();
    const rest = nodes.slice(1);
    const batch = createBatch(client, [intkeyTx(client, "set", "after", 1)]);
    await nodes[3]?.admission.submit(encodeBatchList([batch]));
    await until("commit with the new validator's votes", async () => {
      const statuses = await Promise.all(
        rest.map((node) => node.chain.batchStatuses([batch.headerSignature])),
      );
      return statuses.every((s) => s[0]?.status === "COMMITTED");
    });
    expect(new Set(rest.map((node) => node.chain.head().stateRoot)).size).toBe(1);
  });
});
