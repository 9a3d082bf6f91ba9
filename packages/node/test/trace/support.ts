/**
 * A small traceability chain for tests: the real executor, state tree and families over a
 * memory store, with the `APSChain` family at a chosen history ring size, five organisations
 * (farm, mill, distributor, two retailers) with administrators and operators, a tracer, and a
 * system administrator. Each `submit` is one block with its own height and time.
 */
import { silentLogger } from "../../src/common/logger.js";
import { getSuite } from "../../src/crypto/index.js";
import type { Signer } from "../../src/crypto/interface.js";
import { createExecutor, type Executor } from "../../src/execution/executor.js";
import { createFamilyRegistry } from "../../src/execution/registry.js";
import {
  builtinFamilies,
  createChainServices,
  createTraceFamily,
  encodeTracePayload,
  identityGenesisEntries,
  settingsGenesisEntries,
  TRACE_FAMILY,
  type TracePayload,
  traceAddresses,
} from "../../src/families/index.js";
import { withCheckDigit } from "../../src/gs1/index.js";
import { createStateTree } from "../../src/state/index.js";
import type { StateRoot, StateTree } from "../../src/state/interface.js";
import { createMemoryStore } from "../../src/storage/index.js";
import { parseBatch } from "../../src/wire/index.js";
import type { Batch, ChainEvent } from "../../src/wire/types.js";
import { newSigner, parsedBatch, tx } from "../support/fixtures.js";

/** The standard suite. */
export const suite = getSuite("standard");

/** Organisations of the test chain, with their company prefix and one GLN. */
export const ORGS = {
  farm: { id: "farm", prefix: "9520011", gln: withCheckDigit("952001100001") },
  mill: { id: "mill", prefix: "9520012", gln: withCheckDigit("952001200001") },
  distributor: { id: "distributor", prefix: "9520013", gln: withCheckDigit("952001300001") },
  east: { id: "east", prefix: "9520014", gln: withCheckDigit("952001400001") },
  west: { id: "west", prefix: "9520015", gln: withCheckDigit("952001500001") },
} as const;

/** An organisation key of `ORGS`. */
export type OrgName = keyof typeof ORGS;

/** The GTIN-13 of item `item` (5 digits) under an organisation's prefix. */
export function gtinOf(org: OrgName, item: string): string {
  return withCheckDigit(`${ORGS[org].prefix}${item}`);
}

/** Keys of the test chain. */
export interface TraceKeys {
  readonly sysadmin: Signer;
  readonly tracer: Signer;
  readonly admins: Readonly<Record<OrgName, Signer>>;
  readonly operators: Readonly<Record<OrgName, Signer>>;
}

/** Outcome of one transaction of a submission. */
export interface TxResult {
  readonly valid: boolean;
  readonly message?: string;
  readonly id: string;
}

/** Outcome of a submission (one batch, one block). */
export interface SubmitResult {
  readonly valid: boolean;
  /** The first failure's message. */
  readonly message?: string;
  readonly transactions: readonly TxResult[];
  readonly events: readonly ChainEvent[];
  readonly root: StateRoot;
  readonly height: number;
}

/** The test chain. */
export interface TraceChain {
  readonly state: StateTree;
  readonly keys: TraceKeys;
  readonly executor: Executor;
  /** Root after the last valid block. */
  readonly root: StateRoot;
  /**
   * Runs `payloads` as one batch signed by `signer` in a new block; invalid blocks change
   * nothing. `addresses` replaces the computed inputs/outputs (to send what a careless or
   * hostile client would).
   */
  submit(
    signer: Signer,
    payloads: readonly TracePayload[],
    options?: { readonly addresses?: readonly string[] },
  ): Promise<SubmitResult>;
  /** Executes already signed batches in one block; returns each batch's status and messages. */
  submitBatches(
    batches: readonly Batch[],
  ): Promise<{ readonly statuses: readonly string[]; readonly messages: readonly string[] }>;
  /** Like `submit`, throwing with the message unless valid. */
  ok(signer: Signer, payloads: readonly TracePayload[]): Promise<SubmitResult>;
}

/** Options of `createTraceChain`. */
export interface TraceChainOptions {
  /** History ring size; default 0xffff. */
  readonly historyPages?: number;
  /** Register the organisations' prefixes and locations (default true). */
  readonly setup?: boolean;
}

/** Builds the chain; with `setup` the prefixes and one location per organisation exist. */
export async function createTraceChain(options: TraceChainOptions = {}): Promise<TraceChain> {
  const names = Object.keys(ORGS) as OrgName[];
  const keys: TraceKeys = {
    sysadmin: newSigner(),
    tracer: newSigner(),
    admins: Object.fromEntries(names.map((n) => [n, newSigner()])) as Record<OrgName, Signer>,
    operators: Object.fromEntries(names.map((n) => [n, newSigner()])) as Record<OrgName, Signer>,
  };
  const store = createMemoryStore();
  await store.open();
  const state = createStateTree({ store, hash: suite.hash, hashName: suite.hashName });
  const genesis = [
    ...settingsGenesisEntries({}),
    ...identityGenesisEntries(
      {
        organisations: [
          ...names.map((n) => ({ id: ORGS[n].id, name: `${n} org`, kind: "enterprise" as const })),
          { id: "regulator", name: "Market regulator", kind: "regulator" as const },
        ],
        agents: [
          { publicKey: keys.sysadmin.publicKeyHex, name: "root", roles: ["system_admin"] },
          {
            publicKey: keys.tracer.publicKeyHex,
            name: "inspector",
            organisationId: "regulator",
            roles: ["auditor"],
          },
          ...names.flatMap((n) => [
            {
              publicKey: keys.admins[n].publicKeyHex,
              name: `${n} admin`,
              organisationId: ORGS[n].id,
              roles: ["org_admin" as const],
            },
            {
              publicKey: keys.operators[n].publicKeyHex,
              name: `${n} operator`,
              organisationId: ORGS[n].id,
              roles: ["operator" as const],
            },
          ]),
        ],
      },
      0,
    ),
  ];
  const seeded = await state.update(state.emptyRoot, genesis);
  await store.write(seeded.operations);
  state.release(seeded);
  const families = builtinFamilies().filter((f) => f.name !== TRACE_FAMILY);
  families.push(
    createTraceFamily(
      options.historyPages !== undefined ? { historyPages: options.historyPages } : {},
    ),
  );
  const executor = createExecutor({
    state,
    families: createFamilyRegistry(families),
    services: createChainServices(),
    logger: silentLogger,
  });

  let root = seeded.root;
  let height = 0;
  const chain: TraceChain = {
    state,
    keys,
    executor,
    get root() {
      return root;
    },
    async submit(signer, payloads, submitOptions = {}) {
      height++;
      const txs = payloads.map((payload) => {
        const addresses = submitOptions.addresses ?? traceAddresses(payload);
        return tx(signer, {
          familyName: TRACE_FAMILY,
          payload: encodeTracePayload(payload),
          inputs: addresses,
          outputs: addresses,
        });
      });
      const result = await executor.execute({
        parentRoot: root,
        height: BigInt(height),
        timestampMs: 1_720_000_000_000 + height * 60_000,
        batches: [parsedBatch(signer, txs)],
        mode: "propose",
        committedAmong: async () => new Set<string>(),
      });
      const outcome = result.outcomes[0];
      const valid = outcome?.status === "valid";
      if (valid) {
        await store.write(result.update.operations);
        root = result.stateRoot;
      }
      state.release(result.update);
      const transactions = (outcome?.transactions ?? []).map((t) => ({
        valid: t.valid,
        id: t.id,
        ...(t.message !== undefined ? { message: t.message } : {}),
      }));
      const failure = transactions.find(
        (t) => !t.valid && t.message !== undefined && !t.message.startsWith("batch rejected"),
      );
      return {
        valid,
        ...(failure?.message !== undefined ? { message: failure.message } : {}),
        transactions,
        events: result.receipts.flatMap((r) => r.events),
        root,
        height,
      };
    },
    async submitBatches(batches) {
      height++;
      const result = await executor.execute({
        parentRoot: root,
        height: BigInt(height),
        timestampMs: 1_720_000_000_000 + height * 60_000,
        batches: batches.map((b) => parseBatch(b, { suite })),
        mode: "propose",
        committedAmong: async () => new Set<string>(),
      });
      await store.write(result.update.operations);
      root = result.stateRoot;
      state.release(result.update);
      return {
        statuses: result.outcomes.map((o) => o.status),
        messages: result.outcomes.flatMap((o) =>
          o.transactions.flatMap((t) => (t.message !== undefined ? [t.message] : [])),
        ),
      };
    },
    async ok(signer, payloads) {
      const result = await chain.submit(signer, payloads);
      if (!result.valid) throw new Error(`expected a valid block, got: ${result.message}`);
      return result;
    },
  };

  if (options.setup !== false) {
    await chain.ok(
      keys.sysadmin,
      names.map((n) => ({
        action: "register_prefix",
        prefix: ORGS[n].prefix,
        organisationId: ORGS[n].id,
      })),
    );
    for (const n of names) {
      await chain.ok(keys.admins[n], [
        {
          action: "register_location",
          gln: ORGS[n].gln,
          name: `${n} site`,
          kind: n === "east" || n === "west" ? "retail" : "warehouse",
        },
      ]);
    }
  }
  return chain;
}

/** Registers a product of `org` (by its administrator). */
export async function createProduct(
  chain: TraceChain,
  org: OrgName,
  item: string,
  productType = "grain",
  name = "Test product",
): Promise<string> {
  const gtin = gtinOf(org, item);
  await chain.ok(chain.keys.admins[org], [{ action: "create_product", gtin, name, productType }]);
  return gtin;
}

/** Creates a lot at the organisation's GLN (by its operator). */
export async function createLot(
  chain: TraceChain,
  org: OrgName,
  gtin: string,
  lot: string,
  quantity: number,
  attributes: Record<string, string | number | boolean> = { harvestDate: "2024-07-01" },
): Promise<void> {
  await chain.ok(chain.keys.operators[org], [
    {
      action: "create_lot",
      gtin,
      lot,
      quantity,
      unit: "kg",
      location: ORGS[org].gln,
      attributes,
    },
  ]);
}

/** Moves a lot from one organisation to another: offer (both) then accept with receipt. */
export async function ship(
  chain: TraceChain,
  from: OrgName,
  to: OrgName,
  gtin: string,
  lot: string,
): Promise<void> {
  await chain.ok(chain.keys.operators[from], [
    { action: "offer", gtin, lot, to: ORGS[to].id, toLocation: ORGS[to].gln, kind: "both" },
  ]);
  await chain.ok(chain.keys.operators[to], [
    { action: "accept_offer", gtin, lot, to: ORGS[to].id, receive: true },
  ]);
}
