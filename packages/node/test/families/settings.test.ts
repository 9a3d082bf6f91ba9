import { describe, expect, it } from "vitest";
import type { Signer } from "../../src/crypto/interface.js";
import {
  APPROVAL_THRESHOLD_SETTING,
  AUTHORIZED_KEYS_SETTING,
  PROPOSALS_SETTING,
  SETTINGS_FAMILY,
  settingAddress,
  settingValue,
} from "../../src/families/index.js";
import {
  encodeSettingProposal,
  encodeSettingsPayload,
  encodeSettingVote,
} from "../../src/wire/index.js";
import {
  createExecutionFixture,
  type ExecutionFixture,
  executeOn,
} from "../support/chain-fixture.js";
import { newSigner, parsedBatch, tx } from "../support/fixtures.js";
import vectors from "../vectors/public-vectors.json" with { type: "json" };

const admins = [newSigner(), newSigner(), newSigner()];
const outsider = newSigner();
const touched = (key: string) => [
  settingAddress(key),
  settingAddress(AUTHORIZED_KEYS_SETTING),
  settingAddress(APPROVAL_THRESHOLD_SETTING),
  settingAddress(PROPOSALS_SETTING),
];

function propose(signer: Signer, key: string, value: string, nonce = "n") {
  const data = encodeSettingProposal({ setting: key, value, nonce });
  return {
    data,
    tx: tx(signer, {
      familyName: SETTINGS_FAMILY,
      payload: encodeSettingsPayload({ action: "PROPOSE", data }),
      inputs: touched(key),
      outputs: touched(key),
    }),
  };
}

function vote(signer: Signer, key: string, proposalId: string, accept: boolean) {
  return tx(signer, {
    familyName: SETTINGS_FAMILY,
    payload: encodeSettingsPayload({
      action: "VOTE",
      data: encodeSettingVote({ proposalId, vote: accept ? "ACCEPT" : "REJECT" }),
    }),
    inputs: touched(key),
    outputs: touched(key),
  });
}

async function read(f: ExecutionFixture, root: string, key: string) {
  return settingValue(await f.state.get(root, settingAddress(key)), key);
}

async function fixture(threshold: number) {
  return createExecutionFixture({
    settings: {
      [AUTHORIZED_KEYS_SETTING]: admins.map((a) => a.publicKeyHex).join(","),
      [APPROVAL_THRESHOLD_SETTING]: String(threshold),
    },
  });
}

describe("sawtooth_settings family", () => {
  it("addresses keys as Sawtooth does", () => {
    for (const [key, address] of Object.entries(vectors.sawtooth_addressing.settings_addresses)) {
      expect(settingAddress(key)).toBe(address);
    }
  });

  it("applies a proposal at once when the threshold is 1, and refuses non-administrators", async () => {
    const f = await fixture(1);
    const ok = await executeOn(f, f.root, [
      parsedBatch(admins[0] as Signer, [
        propose(admins[0] as Signer, "govchain.chain.name", "Test chain").tx,
      ]),
    ]);
    expect(ok.outcomes[0]?.status).toBe("valid");
    expect(await read(f, ok.stateRoot, "govchain.chain.name")).toBe("Test chain");
    expect(ok.receipts[0]?.events[0]).toMatchObject({
      eventType: "settings/update",
      attributes: [{ key: "updated", value: "govchain.chain.name" }],
    });

    const refused = await executeOn(f, ok.stateRoot, [
      parsedBatch(outsider, [propose(outsider, "govchain.chain.name", "Mine").tx]),
    ]);
    expect(refused.outcomes[0]?.transactions[0]?.message).toMatch(
      /is not authorized to change settings/,
    );
  });

  it("waits for the approval threshold of votes", async () => {
    const f = await fixture(2);
    const p = propose(admins[0] as Signer, "govchain.family.intkey.policy", "registered");
    const proposed = await executeOn(f, f.root, [parsedBatch(admins[0] as Signer, [p.tx])]);
    expect(proposed.outcomes[0]?.status).toBe("valid");
    expect(await read(f, proposed.stateRoot, "govchain.family.intkey.policy")).toBeUndefined();
    expect(await read(f, proposed.stateRoot, PROPOSALS_SETTING)).toBeTruthy();

    const { createHash } = await import("node:crypto");
    const proposalId = createHash("sha256").update(p.data).digest("hex");
    const again = await executeOn(f, proposed.stateRoot, [
      parsedBatch(admins[0] as Signer, [
        vote(admins[0] as Signer, "govchain.family.intkey.policy", proposalId, true),
      ]),
    ]);
    expect(again.outcomes[0]?.transactions[0]?.message).toMatch(/has already voted/);

    const accepted = await executeOn(f, proposed.stateRoot, [
      parsedBatch(admins[1] as Signer, [
        vote(admins[1] as Signer, "govchain.family.intkey.policy", proposalId, true),
      ]),
    ]);
    expect(accepted.outcomes[0]?.status).toBe("valid");
    expect(await read(f, accepted.stateRoot, "govchain.family.intkey.policy")).toBe("registered");
  });

  it("drops a proposal rejected by the threshold", async () => {
    const f = await fixture(2);
    const p = propose(admins[0] as Signer, "govchain.chain.name", "Rejected");
    const proposed = await executeOn(f, f.root, [parsedBatch(admins[0] as Signer, [p.tx])]);
    const { createHash } = await import("node:crypto");
    const id = createHash("sha256").update(p.data).digest("hex");
    const r1 = await executeOn(f, proposed.stateRoot, [
      parsedBatch(admins[1] as Signer, [
        vote(admins[1] as Signer, "govchain.chain.name", id, false),
      ]),
    ]);
    const r2 = await executeOn(f, r1.stateRoot, [
      parsedBatch(admins[2] as Signer, [
        vote(admins[2] as Signer, "govchain.chain.name", id, false),
      ]),
    ]);
    expect(r2.outcomes[0]?.status).toBe("valid");
    expect(await read(f, r2.stateRoot, "govchain.chain.name")).toBeUndefined();
    const late = await executeOn(f, r2.stateRoot, [
      parsedBatch(admins[0] as Signer, [
        vote(admins[0] as Signer, "govchain.chain.name", id, true),
      ]),
    ]);
    expect(late.outcomes[0]?.transactions[0]?.message).toMatch(/does not exist/);
  });

  it("validates govchain parameters and Sawtooth's own rules", async () => {
    const f = await fixture(1);
    const a = admins[0] as Signer;
    const cases: [string, string, RegExp][] = [
      ["govchain.family.intkey.policy", "roles:wizard", /must be "any", "registered" or "roles/],
      ["govchain.unknown.key", "1", /unknown govchain setting/],
      ["govchain.block.max_batches", "0", /positive integer/],
      [APPROVAL_THRESHOLD_SETTING, "7", /less than or equal to number of authorized_keys/],
      [APPROVAL_THRESHOLD_SETTING, "two", /must be an integer/],
      [AUTHORIZED_KEYS_SETTING, " , ", /must not be empty/],
      [PROPOSALS_SETTING, "x", /read-only/],
    ];
    for (const [key, value, reason] of cases) {
      const result = await executeOn(f, f.root, [parsedBatch(a, [propose(a, key, value).tx])]);
      expect(result.outcomes[0]?.transactions[0]?.message, key).toMatch(reason);
    }
  });

  it("rejects an undecodable payload", async () => {
    const f = await fixture(1);
    const a = admins[0] as Signer;
    const bad = tx(a, {
      familyName: SETTINGS_FAMILY,
      payload: new Uint8Array([0xff, 0xff]),
      inputs: touched("x"),
      outputs: touched("x"),
    });
    const result = await executeOn(f, f.root, [parsedBatch(a, [bad])]);
    expect(result.outcomes[0]?.status).toBe("invalid");
  });
});
