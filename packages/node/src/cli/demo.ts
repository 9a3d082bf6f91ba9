/**
 * Demo data for `govchain up --demo`: a second organisation with its administrator (by the
 * network administrator), a clerk registered by the demo department's own administrator
 * (delegation within an organisation), intkey counters written by an operator, and a settings
 * change by the settings administrator. Each signer's work is one atomic batch; all four are
 * submitted together and followed until COMMITTED. Loading is idempotent: a network that
 * already has the demo organisation is left as it is.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { intkeyAddress, organisationAddress } from "../families/index.js";
import { buildTraceDemo } from "../trace/demo.js";
import type { ApiClient } from "./client.js";
import { type LoadedKey, loadKey } from "./context.js";
import { identityTransaction } from "./identity.js";
import { intkeyTransaction } from "./intkey.js";
import { generateKeyFile } from "./keygen.js";
import { DEMO_ORGANISATION_ID, type NetworkLayout } from "./network.js";
import type { Output } from "./output.js";
import { proposalTransaction } from "./settings.js";
import { buildBatch, submitAndWait } from "./submit.js";

/** Id of the organisation the demo creates. */
export const DEMO_ENTERPRISE_ID = "demo-enterprise";
/** The intkey counters the demo writes, after its increments. */
export const DEMO_INTKEY: Readonly<Record<string, number>> = { apples: 15, pears: 7, plums: 3 };
/** The setting the demo changes, and its new value. */
export const DEMO_SETTING = {
  key: "govchain.chain.name",
  value: "govchain local demo network",
} as const;

/** What the demo loaded (or found). */
export interface DemoSummary {
  /** False when the network already held the demo data. */
  readonly loaded: boolean;
  readonly batchIds: readonly string[];
  readonly organisation: string;
  readonly keys: Readonly<Record<string, string>>;
  readonly intkey: Readonly<Record<string, number>>;
  readonly setting: { readonly key: string; readonly value: string };
  /** Addresses worth looking at (e.g. with `proof get`). */
  readonly addresses: Readonly<Record<string, string>>;
  /** The traceability demo: lots to trace (GTIN, lot, GS1 Digital Link). */
  readonly trace: Readonly<Record<string, { gtin: string; lot: string; digitalLink: string }>>;
}

async function demoKey(layout: NetworkLayout, name: string): Promise<LoadedKey> {
  const path = join(layout.keysDir, `${name}.key`);
  if (!existsSync(path)) {
    const admin = await loadKey(layout.adminKeyPath);
    await generateKeyFile({ path, suite: admin.suite.id });
  }
  return loadKey(path);
}

/** Loads the demo data into the network at `client`, waiting up to `waitSeconds` for commits. */
export async function loadDemoData(
  client: ApiClient,
  layout: NetworkLayout,
  output: Output,
  waitSeconds = 60,
): Promise<DemoSummary> {
  const enterpriseAdmin = await demoKey(layout, "enterprise-admin");
  const clerk = await demoKey(layout, "clerk");
  const summary = {
    organisation: DEMO_ENTERPRISE_ID,
    keys: {
      enterpriseAdmin: enterpriseAdmin.path,
      clerk: clerk.path,
    },
    intkey: DEMO_INTKEY,
    setting: DEMO_SETTING,
    addresses: {
      apples: intkeyAddress("apples"),
      [DEMO_ENTERPRISE_ID]: organisationAddress(DEMO_ENTERPRISE_ID),
    },
  };
  // The supply chain of seed 004: farm → mill → distributor (splits the lot) → two retailers.
  const systemAdmin = await loadKey(layout.adminKeyPath);
  const traceSigners = {
    systemAdmin: systemAdmin.signer,
    farm: (await demoKey(layout, "farm-admin")).signer,
    mill: (await demoKey(layout, "mill-admin")).signer,
    distributor: (await demoKey(layout, "distributor-admin")).signer,
    retailerEast: (await demoKey(layout, "retailer-east-admin")).signer,
    retailerWest: (await demoKey(layout, "retailer-west-admin")).signer,
  };
  const traceDemo = buildTraceDemo(traceSigners, { suite: systemAdmin.suite });
  const traceLots = Object.fromEntries(
    Object.entries(traceDemo.lots).map(([name, lot]) => [
      name,
      { gtin: lot.gtin, lot: lot.lot, digitalLink: lot.digitalLink },
    ]),
  );
  const withTrace = { ...summary, trace: traceLots };
  if ((await client.getState(organisationAddress(DEMO_ENTERPRISE_ID))) !== undefined) {
    return { loaded: false, batchIds: [], ...withTrace };
  }

  const admin = await loadKey(layout.adminKeyPath);
  const orgAdmin = await loadKey(layout.orgAdminKeyPath);
  const operator = await loadKey(layout.operatorKeyPath);
  const batches = [
    buildBatch(admin, [
      identityTransaction({
        action: "create_organisation",
        id: DEMO_ENTERPRISE_ID,
        name: "Demo Enterprise Ltd",
        kind: "enterprise",
      }),
      identityTransaction({
        action: "register_agent",
        publicKey: enterpriseAdmin.signer.publicKeyHex,
        name: "Demo Enterprise administrator",
        organisationId: DEMO_ENTERPRISE_ID,
        roles: ["org_admin"],
      }),
    ]),
    buildBatch(orgAdmin, [
      identityTransaction({
        action: "register_agent",
        publicKey: clerk.signer.publicKeyHex,
        name: "Demo Department clerk",
        organisationId: DEMO_ORGANISATION_ID,
        roles: ["operator"],
      }),
    ]),
    buildBatch(operator, [
      intkeyTransaction("set", "apples", 10),
      intkeyTransaction("set", "pears", 7),
      intkeyTransaction("set", "plums", 3),
      intkeyTransaction("inc", "apples", 5),
    ]),
    buildBatch(admin, [proposalTransaction(DEMO_SETTING.key, DEMO_SETTING.value, "demo").tx]),
  ];
  const result = await submitAndWait(client, batches, waitSeconds, output, "loading demo data");
  const traceIds: string[] = [];
  if ((await client.getState(traceDemo.markerAddress)) === undefined) {
    // Stage 2 is signed by the organisations stage 1 registers: admission checks signers
    // against the head, so each stage waits for the one before.
    for (const [index, stage] of traceDemo.stages.entries()) {
      const staged = await submitAndWait(
        client,
        stage,
        waitSeconds,
        output,
        `loading the supply-chain demo (${index + 1}/${traceDemo.stages.length})`,
      );
      traceIds.push(...staged.batchIds);
    }
  }
  return { loaded: true, batchIds: [...result.batchIds, ...traceIds], ...withTrace };
}
