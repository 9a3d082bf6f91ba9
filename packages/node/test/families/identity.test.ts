import { describe, expect, it } from "vitest";
import type { Signer } from "../../src/crypto/interface.js";
import {
  agentAddress,
  createChainServices,
  decodeAgentRecord,
  encodeIdentityPayload,
  IDENTITY_FAMILY,
  type IdentityPayload,
  identityAddresses,
  intkeyAddress,
  organisationAddress,
} from "../../src/families/index.js";
import {
  createExecutionFixture,
  type ExecutionFixture,
  executeOn,
} from "../support/chain-fixture.js";
import { intkeyTx, newSigner, parsedBatch, tx } from "../support/fixtures.js";

const sysadmin = newSigner();
const orgAdmin = newSigner();
const operator = newSigner();
const stranger = newSigner();

function identityTx(signer: Signer, payload: IdentityPayload) {
  const addresses = identityAddresses(payload);
  return tx(signer, {
    familyName: IDENTITY_FAMILY,
    payload: encodeIdentityPayload(payload),
    inputs: addresses,
    outputs: addresses,
  });
}

async function fixture(): Promise<ExecutionFixture> {
  return createExecutionFixture({
    settings: {
      "govchain.family.identity.policy": "roles:system_admin,org_admin",
      "govchain.family.intkey.policy": "roles:operator",
    },
    identity: {
      organisations: [
        { id: "planning", name: "Planning Bureau" },
        { id: "tax", name: "Tax Bureau" },
      ],
      agents: [
        { publicKey: sysadmin.publicKeyHex, name: "Root", roles: ["system_admin"] },
        {
          publicKey: orgAdmin.publicKeyHex,
          name: "Planning admin",
          organisationId: "planning",
          roles: ["org_admin"],
        },
      ],
    },
  });
}

async function applyAs(
  f: ExecutionFixture,
  root: string,
  signer: Signer,
  payload: IdentityPayload,
) {
  const result = await executeOn(f, root, [parsedBatch(signer, [identityTx(signer, payload)])]);
  return {
    status: result.outcomes[0]?.status,
    message: result.outcomes[0]?.transactions[0]?.message,
    root: result.stateRoot,
  };
}

describe("identity family", () => {
  it("lets the system administrator create organisations, and nobody else", async () => {
    const f = await fixture();
    const created = await applyAs(f, f.root, sysadmin, {
      action: "create_organisation",
      id: "env",
      name: "Environment Bureau",
    });
    expect(created.status).toBe("valid");
    expect(await f.state.get(created.root, organisationAddress("env"))).toBeDefined();
    const dup = await applyAs(f, created.root, sysadmin, {
      action: "create_organisation",
      id: "env",
      name: "Again",
    });
    expect(dup.message).toMatch(/already exists/);
    const byOrgAdmin = await applyAs(f, f.root, orgAdmin, {
      action: "create_organisation",
      id: "x",
      name: "X",
    });
    expect(byOrgAdmin.message).toMatch(/only a system administrator/);
  });

  it("lets an organisation administrator manage operators of its own organisation only", async () => {
    const f = await fixture();
    const ok = await applyAs(f, f.root, orgAdmin, {
      action: "register_agent",
      publicKey: operator.publicKeyHex,
      name: "Clerk",
      organisationId: "planning",
      roles: ["operator"],
    });
    expect(ok.status).toBe("valid");
    const record = decodeAgentRecord(
      (await f.state.get(ok.root, agentAddress(operator.publicKeyHex))) as Uint8Array,
    );
    expect(record).toMatchObject({
      organisationId: "planning",
      roles: ["operator"],
      active: true,
      createdBy: orgAdmin.publicKeyHex,
    });

    const otherOrg = await applyAs(f, f.root, orgAdmin, {
      action: "register_agent",
      publicKey: stranger.publicKeyHex,
      name: "Spy",
      organisationId: "tax",
      roles: ["operator"],
    });
    expect(otherOrg.message).toMatch(/only a system administrator or an administrator of tax/);

    const escalate = await applyAs(f, f.root, orgAdmin, {
      action: "register_agent",
      publicKey: stranger.publicKeyHex,
      name: "Boss",
      organisationId: "planning",
      roles: ["system_admin"],
    });
    expect(escalate.message).toMatch(/may not grant or manage roles system_admin/);
  });

  it("enforces role shapes, unknown organisations and self-management", async () => {
    const f = await fixture();
    const noOrg = await applyAs(f, f.root, sysadmin, {
      action: "register_agent",
      publicKey: stranger.publicKeyHex,
      name: "Op",
      roles: ["operator"],
    });
    expect(noOrg.message).toMatch(/must belong to an organisation/);
    const unknownOrg = await applyAs(f, f.root, sysadmin, {
      action: "register_agent",
      publicKey: stranger.publicKeyHex,
      name: "Op",
      organisationId: "nowhere",
      roles: ["operator"],
    });
    expect(unknownOrg.message).toMatch(/organisation nowhere does not exist/);
    const self = await applyAs(f, f.root, sysadmin, {
      action: "update_agent",
      publicKey: sysadmin.publicKeyHex,
      active: false,
    });
    expect(self.message).toMatch(/may not change their own roles or status/);
  });

  it("rejects malformed payloads with the first problem named", async () => {
    const f = await fixture();
    const bad = await applyAs(f, f.root, sysadmin, {
      action: "create_organisation",
      id: "Bad Id!",
      name: "x",
    });
    expect(bad.message).toMatch(/identity: invalid payload at id/);
  });

  it("feeds family access policies: operators may use intkey until disabled", async () => {
    const f = await fixture();
    const registered = await applyAs(f, f.root, orgAdmin, {
      action: "register_agent",
      publicKey: operator.publicKeyHex,
      name: "Clerk",
      organisationId: "planning",
      roles: ["operator"],
    });
    const write = await executeOn(f, registered.root, [
      parsedBatch(operator, [intkeyTx(operator, "set", "k", 1)]),
    ]);
    expect(write.outcomes[0]?.status).toBe("valid");
    const strangerWrite = await executeOn(f, registered.root, [
      parsedBatch(stranger, [intkeyTx(stranger, "set", "k2", 1)]),
    ]);
    expect(strangerWrite.outcomes[0]?.transactions[0]?.message).toMatch(/not a registered agent/);

    const disabled = await applyAs(f, registered.root, orgAdmin, {
      action: "update_agent",
      publicKey: operator.publicKeyHex,
      active: false,
    });
    expect(disabled.status).toBe("valid");
    const after = await executeOn(f, disabled.root, [
      parsedBatch(operator, [intkeyTx(operator, "set", "k3", 1)]),
    ]);
    expect(after.outcomes[0]?.transactions[0]?.message).toMatch(/the agent is disabled/);

    const services = createChainServices();
    const read = (root: string) => async (addresses: readonly string[]) =>
      f.state.getMany(root, addresses);
    expect(
      await services.authorize("intkey", operator.publicKeyHex, read(registered.root)),
    ).toBeUndefined();
    expect(
      await services.authorize("intkey", orgAdmin.publicKeyHex, read(registered.root)),
    ).toMatch(/needs one of the roles operator/);
    expect(intkeyAddress("k")).toHaveLength(70);
  });
});
