/**
 * A real execution stack over an in-memory store: state tree, built-in families, chain
 * services and executor, with state seeded from genesis-style entries.
 */
import { silentLogger } from "../../src/common/logger.js";
import { getSuite } from "../../src/crypto/index.js";
import type { SuiteId } from "../../src/crypto/interface.js";
import { createExecutor, type Executor } from "../../src/execution/executor.js";
import type { TransactionFamily } from "../../src/execution/family.js";
import { createFamilyRegistry } from "../../src/execution/registry.js";
import {
  builtinFamilies,
  createChainServices,
  type IdentityGenesis,
  identityGenesisEntries,
  settingsGenesisEntries,
} from "../../src/families/index.js";
import { createStateTree } from "../../src/state/index.js";
import type { StateRoot, StateTree } from "../../src/state/interface.js";
import { createMemoryStore } from "../../src/storage/index.js";
import type { KvStore } from "../../src/storage/interface.js";

/** What `createExecutionFixture` returns. */
export interface ExecutionFixture {
  readonly store: KvStore;
  readonly state: StateTree;
  readonly executor: Executor;
  /** Root of the seeded state. */
  readonly root: StateRoot;
}

/** Options of the fixture. */
export interface ExecutionFixtureOptions {
  readonly suite?: SuiteId;
  readonly settings?: Readonly<Record<string, string>>;
  readonly identity?: IdentityGenesis;
  /** Families in addition to the built-in ones. */
  readonly extraFamilies?: readonly TransactionFamily[];
}

/** Builds the stack and seeds state; the store is opened. */
export async function createExecutionFixture(
  options: ExecutionFixtureOptions = {},
): Promise<ExecutionFixture> {
  const suite = getSuite(options.suite ?? "standard");
  const store = createMemoryStore();
  await store.open();
  const state = createStateTree({ store, hash: suite.hash, hashName: suite.hashName });
  const entries = [
    ...settingsGenesisEntries(options.settings ?? { "govchain.family.intkey.policy": "any" }),
    ...identityGenesisEntries(options.identity ?? {}, 0),
  ];
  const update = await state.update(state.emptyRoot, entries);
  await store.write(update.operations);
  state.release(update);
  const executor = createExecutor({
    state,
    families: createFamilyRegistry([...builtinFamilies(), ...(options.extraFamilies ?? [])]),
    services: createChainServices(),
    logger: silentLogger,
  });
  return { store, state, executor, root: update.root };
}

/** Executes batches on `root` (proposing) and returns the result; a tiny chain without blocks. */
export async function executeOn(
  fixture: ExecutionFixture,
  root: StateRoot,
  batches: Parameters<Executor["execute"]>[0]["batches"],
  timestampMs = 1_700_000_000_000,
) {
  const result = await fixture.executor.execute({
    parentRoot: root,
    height: 1n,
    timestampMs,
    batches,
    mode: "propose",
    committedAmong: async () => new Set<string>(),
  });
  // Persist so later reads do not depend on staged nodes.
  await fixture.store.write(result.update.operations);
  fixture.state.release(result.update);
  return result;
}
