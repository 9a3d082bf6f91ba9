/**
 * `govchain network init`: lays out a network directory — validator keys, an administrator,
 * a demo organisation with its administrator and operator, and a signed genesis file:
 *
 * ```
 * <dir>/genesis.json
 * <dir>/keys/admin.key            system_admin, settings administrator, signs genesis
 * <dir>/keys/org-admin.key        org_admin of the demo organisation
 * <dir>/keys/operator.key         operator of the demo organisation
 * <dir>/nodes/node<i>/validator.key
 * <dir>/nodes/node<i>/data/       the node's database (created by the node)
 * ```
 *
 * The layout is a pure function of the directory (`networkLayout`), so `up` and the tests find
 * every file without reading anything back.
 */
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { type Command, Option } from "commander";
import { systemClock } from "../common/clock.js";
import type { SuiteId } from "../crypto/interface.js";
import {
  AUTHORIZED_KEYS_SETTING,
  familyPolicyKey,
  IDENTITY_FAMILY,
  INTKEY_FAMILY,
} from "../families/index.js";
import { type GenesisConfig, signGenesis } from "../genesis/genesis.js";
import { createStateTree } from "../state/index.js";
import { createMemoryStore } from "../storage/index.js";
import { type CliContext, DEFAULT_HOME, DEFAULT_NETWORK, integerIn, loadKey } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { generateKeyFile } from "./keygen.js";

/** Id of the organisation every new network starts with. */
export const DEMO_ORGANISATION_ID = "demo-dept";

/** Paths of one node of a network directory. */
export interface NodeLayout {
  readonly id: string;
  readonly dir: string;
  readonly keyPath: string;
  readonly dataDir: string;
  readonly logPath: string;
}

/** Paths of a network directory. */
export interface NetworkLayout {
  readonly dir: string;
  readonly genesisPath: string;
  /** Written by `up`: the running nodes and how to restart them. */
  readonly networkPath: string;
  readonly keysDir: string;
  readonly adminKeyPath: string;
  readonly orgAdminKeyPath: string;
  readonly operatorKeyPath: string;
  readonly nodes: readonly NodeLayout[];
}

/** The paths of a network directory with `nodes` validators. */
export function networkLayout(dir: string, nodes = 1): NetworkLayout {
  const keysDir = join(dir, "keys");
  return {
    dir,
    genesisPath: join(dir, "genesis.json"),
    networkPath: join(dir, "network.json"),
    keysDir,
    adminKeyPath: join(keysDir, "admin.key"),
    orgAdminKeyPath: join(keysDir, "org-admin.key"),
    operatorKeyPath: join(keysDir, "operator.key"),
    nodes: Array.from({ length: nodes }, (_, i) => {
      const id = `node${i}`;
      const nodeDir = join(dir, "nodes", id);
      return {
        id,
        dir: nodeDir,
        keyPath: join(nodeDir, "validator.key"),
        dataDir: join(nodeDir, "data"),
        logPath: join(nodeDir, "node.log"),
      };
    }),
  };
}

/** Options of `initNetwork`. */
export interface InitNetworkOptions {
  readonly dir: string;
  readonly nodes: number;
  readonly suite: SuiteId;
  readonly chainId: string;
  readonly engine: "devmode";
  /** Replace an existing network (its keys and node data are deleted). */
  readonly force?: boolean;
  /** Genesis time; default now. */
  readonly timestampMs?: number;
}

/** What `initNetwork` made. */
export interface InitNetworkResult {
  readonly layout: NetworkLayout;
  readonly genesis: GenesisConfig;
  readonly publicKeys: Readonly<Record<string, string>>;
}

const CHAIN_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Creates a network directory: keys, and a genesis signed by the admin key. Throws
 * `NETWORK_EXISTS` when `dir` already holds a genesis file or keys and `force` is unset.
 */
export async function initNetwork(options: InitNetworkOptions): Promise<InitNetworkResult> {
  const { dir, nodes, suite: suiteId, chainId, engine } = options;
  if (!CHAIN_ID.test(chainId)) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `chain id ${JSON.stringify(chainId)} must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'`,
    );
  }
  if (engine === "devmode" && nodes !== 1) {
    throw cliError(
      CliErrorCode.UNSUPPORTED,
      "the devmode engine runs exactly one validator (--nodes 1); multi-validator PBFT networks are not available yet",
    );
  }
  const layout = networkLayout(dir, nodes);
  const existing = [
    layout.genesisPath,
    layout.keysDir,
    join(dir, "nodes"),
    layout.networkPath,
  ].filter((p) => existsSync(p));
  if (existing.length > 0) {
    if (!options.force) {
      throw cliError(
        CliErrorCode.NETWORK_EXISTS,
        `a network already exists in ${dir}; pass --force to replace it (its keys and chain data are deleted)`,
        { dir },
      );
    }
    // Only what init itself creates is removed: anything else a user keeps there survives.
    for (const path of existing) await rm(path, { recursive: true, force: true });
  }

  await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });
  const admin = await generateKeyFile({ path: layout.adminKeyPath, suite: suiteId });
  const orgAdmin = await generateKeyFile({ path: layout.orgAdminKeyPath, suite: suiteId });
  const operator = await generateKeyFile({ path: layout.operatorKeyPath, suite: suiteId });
  const validators: { id: string; publicKey: string }[] = [];
  for (const node of layout.nodes) {
    await mkdir(node.dir, { recursive: true, mode: 0o700 });
    const key = await generateKeyFile({ path: node.keyPath, suite: suiteId });
    validators.push({ id: node.id, publicKey: key.publicKey });
  }

  const adminKey = await loadKey(layout.adminKeyPath);
  const store = createMemoryStore();
  await store.open();
  const state = createStateTree({
    store,
    hash: adminKey.suite.hash,
    hashName: adminKey.suite.hashName,
  });
  const genesis = await signGenesis(
    {
      format: "govchain-genesis/1",
      chainId,
      suite: suiteId,
      timestampMs: options.timestampMs ?? systemClock.now(),
      consensus: { engine },
      validators,
      settings: {
        [AUTHORIZED_KEYS_SETTING]: admin.publicKey,
        [familyPolicyKey(INTKEY_FAMILY)]: "any",
        [familyPolicyKey(IDENTITY_FAMILY)]: "roles:system_admin,org_admin",
        "govchain.chain.name": `${chainId} (local)`,
      },
      identity: {
        organisations: [{ id: DEMO_ORGANISATION_ID, name: "Demo Department", kind: "department" }],
        agents: [
          { publicKey: admin.publicKey, name: "Network administrator", roles: ["system_admin"] },
          {
            publicKey: orgAdmin.publicKey,
            name: "Demo Department administrator",
            organisationId: DEMO_ORGANISATION_ID,
            roles: ["org_admin"],
          },
          {
            publicKey: operator.publicKey,
            name: "Demo Department operator",
            organisationId: DEMO_ORGANISATION_ID,
            roles: ["operator"],
          },
        ],
      },
    },
    adminKey.signer,
    adminKey.suite,
    state,
  );
  await store.close();
  await writeFile(layout.genesisPath, `${JSON.stringify(genesis, null, 2)}\n`, { flag: "wx" });
  return {
    layout,
    genesis,
    publicKeys: {
      admin: admin.publicKey,
      orgAdmin: orgAdmin.publicKey,
      operator: operator.publicKey,
      ...Object.fromEntries(validators.map((v) => [v.id, v.publicKey])),
    },
  };
}

/** Registers `govchain network …`. */
export function registerNetwork(program: Command, ctx: CliContext): void {
  const network = program.command("network").summary("create and inspect network directories");
  network
    .command("init")
    .summary("create keys and a signed genesis for a new network")
    .description(
      "Creates validator keys (nodes/node<i>/validator.key), an administrator (keys/admin.key: " +
        "system_admin and settings administrator), a demo organisation with an administrator and an " +
        "operator (keys/org-admin.key, keys/operator.key), and genesis.json signed by the admin key.",
    )
    .option("--name <name>", "network name (default directory and chain id)", DEFAULT_NETWORK)
    .option("--dir <dir>", `network directory [default: ${DEFAULT_HOME}/<name>]`)
    .option("--nodes <n>", "number of validators", integerIn(1, 64), 1)
    .addOption(
      new Option("--suite <suite>", "crypto suite").choices(["standard", "gm"]).default("standard"),
    )
    .option("--chain-id <id>", "chain id [default: govchain-<name>]")
    .addOption(
      new Option("--engine <engine>", "consensus engine").choices(["devmode"]).default("devmode"),
    )
    .option("--force", "replace an existing network (deletes its keys and chain data)")
    .action(
      async (opts: {
        name: string;
        dir?: string;
        nodes: number;
        suite: SuiteId;
        chainId?: string;
        engine: "devmode";
        force?: boolean;
      }) => {
        const dir = ctx.path(opts.dir ?? join(DEFAULT_HOME, opts.name));
        const result = await initNetwork({
          dir,
          nodes: opts.nodes,
          suite: opts.suite,
          chainId: opts.chainId ?? `govchain-${opts.name}`,
          engine: opts.engine,
          force: opts.force === true,
        });
        ctx.output.result(describeNetwork(result, ctx.io.cwd), {
          dir,
          chainId: result.genesis.chainId,
          suite: result.genesis.suite,
          genesis: result.layout.genesisPath,
          keys: {
            admin: result.layout.adminKeyPath,
            orgAdmin: result.layout.orgAdminKeyPath,
            operator: result.layout.operatorKeyPath,
          },
          nodes: result.layout.nodes.map((n) => ({ id: n.id, key: n.keyPath, dataDir: n.dataDir })),
          publicKeys: result.publicKeys,
        });
      },
    );
}

function describeNetwork(result: InitNetworkResult, cwd: string): string[] {
  const rel = (p: string): string => relative(cwd, p) || ".";
  const { layout, genesis } = result;
  const node = layout.nodes[0];
  return [
    `created network ${genesis.chainId} (${genesis.suite} suite, ${genesis.consensus.engine}) in ${rel(layout.dir)}`,
    `  genesis     ${rel(layout.genesisPath)}`,
    `  admin       ${rel(layout.adminKeyPath)}  ${result.publicKeys.admin}`,
    `  org admin   ${rel(layout.orgAdminKeyPath)}  (${DEMO_ORGANISATION_ID})`,
    `  operator    ${rel(layout.operatorKeyPath)}  (${DEMO_ORGANISATION_ID})`,
    ...layout.nodes.map(
      (n) => `  ${n.id.padEnd(11)} ${rel(n.keyPath)}  ${result.publicKeys[n.id] ?? ""}`,
    ),
    node === undefined
      ? ""
      : `start it: govchain node start --data-dir ${rel(node.dataDir)} --genesis ${rel(layout.genesisPath)} --key ${rel(node.keyPath)}` +
        (basename(layout.dir) === DEFAULT_NETWORK ? "   (or simply: govchain up)" : ""),
  ].filter((l) => l !== "");
}
