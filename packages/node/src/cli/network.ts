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
 *
 * A PBFT network (the default for more than one node) also fixes in genesis where each
 * validator accepts peer connections (`endpoint: "host:port"`): peers find each other only
 * through genesis, so the endpoints are chosen here, once, for the life of the network.
 */
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { type Command, Option } from "commander";
import { systemClock } from "../common/clock.js";
import { createPbftConfig } from "../consensus/pbft/config.js";
import type { SuiteId } from "../crypto/interface.js";
import {
  AUTHORIZED_KEYS_SETTING,
  familyPolicyKey,
  IDENTITY_FAMILY,
  INTKEY_FAMILY,
} from "../families/index.js";
import { type GenesisConfig, signGenesis } from "../genesis/genesis.js";
import { formatEndpoint, parseEndpoint } from "../network/endpoint.js";
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

/** Consensus engines a network can be created with. */
export type EngineName = "devmode" | "pbft";

/** First P2P port of a PBFT network: node `i` listens on `DEFAULT_P2P_BASE_PORT + i`. */
export const DEFAULT_P2P_BASE_PORT = 8800;

/** PBFT parameters `network init` writes into genesis (the node's defaults apply to the rest). */
export interface PbftInitOptions {
  /** First view-change timeout in ms (node default 1,000). */
  readonly viewChangeTimeoutMs?: number;
  /** Blocks between checkpoints (node default 50). */
  readonly checkpointInterval?: number;
}

/** Options of `initNetwork`. */
export interface InitNetworkOptions {
  readonly dir: string;
  readonly nodes: number;
  readonly suite: SuiteId;
  readonly chainId: string;
  /** Default: `pbft` for more than one node, `devmode` for one. */
  readonly engine?: EngineName;
  /**
   * Where each validator accepts peer connections (PBFT only): one entry per node, `host` (the
   * port is then `p2pBasePort + i`) or `host:port`. Default `127.0.0.1` for every node.
   */
  readonly hosts?: readonly string[];
  /** Port of node 0 when a host entry has none; default 8800. */
  readonly p2pBasePort?: number;
  readonly pbft?: PbftInitOptions;
  /** Replace an existing network (its keys and node data are deleted). */
  readonly force?: boolean;
  /** Genesis time; default now. */
  readonly timestampMs?: number;
}

/** The engine a network of `nodes` validators gets when none is asked for. */
export function defaultEngine(nodes: number): EngineName {
  return nodes > 1 ? "pbft" : "devmode";
}

/** Loopback hosts: a network whose endpoints are all loopback runs on this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The `host:port` endpoint of each of `nodes` validators from `--hosts` entries (`host` or
 * `host:port`) and a base port. Throws `INVALID_ARGUMENT` for a wrong count, a malformed entry,
 * a port out of range or two validators on one endpoint.
 */
export function validatorEndpoints(
  nodes: number,
  hosts: readonly string[] | undefined,
  basePort: number,
): string[] {
  const entries = hosts ?? Array.from({ length: nodes }, () => "127.0.0.1");
  if (entries.length !== nodes) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `--hosts lists ${entries.length} host${entries.length === 1 ? "" : "s"} for ${nodes} node${nodes === 1 ? "" : "s"}: give one per node, in node order`,
    );
  }
  const endpoints = entries.map((raw, i) => {
    const entry = raw.trim();
    // `host:port` (or `[v6]:port`) keeps its port; a bare host (or a bare IPv6 address, which
    // has colons but no brackets) gets the base port plus the node's index.
    const hasPort = /^\[.*\]:\d+$|^[^:]+:\d+$/.test(entry);
    const explicit = hasPort ? parseEndpoint(entry) : undefined;
    const host = entry.replace(/^\[(.*)\]$/, "$1");
    if (!hasPort && basePort + i > 65_535) {
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        `--p2p-base-port ${basePort} leaves no port for node${i} (base + ${i} > 65535)`,
      );
    }
    const endpoint = hasPort
      ? explicit
      : parseEndpoint(formatEndpoint({ host, port: basePort + i }));
    if (endpoint === undefined || entry === "") {
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        `--hosts entry ${i + 1} (${JSON.stringify(raw)}) is not a host name, an IP address or host:port with a port from 1 to 65535`,
      );
    }
    return formatEndpoint(endpoint);
  });
  const seen = new Set<string>();
  for (const endpoint of endpoints) {
    if (seen.has(endpoint)) {
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        `two validators would listen on ${endpoint}; give each node its own host or port`,
      );
    }
    seen.add(endpoint);
  }
  return endpoints;
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
  const { dir, nodes, suite: suiteId, chainId } = options;
  const engine = options.engine ?? defaultEngine(nodes);
  if (!CHAIN_ID.test(chainId)) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `chain id ${JSON.stringify(chainId)} must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'`,
    );
  }
  if (engine === "devmode" && nodes !== 1) {
    throw cliError(
      CliErrorCode.UNSUPPORTED,
      "the devmode engine runs exactly one validator; use --engine pbft (the default for --nodes > 1)",
    );
  }
  if (engine === "devmode" && (options.hosts !== undefined || options.pbft !== undefined)) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      "--hosts, --p2p-base-port and the consensus options apply to PBFT networks (--engine pbft)",
    );
  }
  const endpoints =
    engine === "pbft"
      ? validatorEndpoints(nodes, options.hosts, options.p2pBasePort ?? DEFAULT_P2P_BASE_PORT)
      : undefined;
  const consensus = engine === "pbft" ? pbftConsensus(chainId, nodes, options.pbft) : { engine };
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
  const validators: { id: string; publicKey: string; endpoint?: string }[] = [];
  for (const [i, node] of layout.nodes.entries()) {
    await mkdir(node.dir, { recursive: true, mode: 0o700 });
    const key = await generateKeyFile({ path: node.keyPath, suite: suiteId });
    const endpoint = endpoints?.[i];
    validators.push({
      id: node.id,
      publicKey: key.publicKey,
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
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
      consensus,
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

/**
 * The genesis `consensus` section of a PBFT network, checked with the node's own validation so
 * a bad combination fails here rather than when every node refuses to start.
 */
function pbftConsensus(
  chainId: string,
  nodes: number,
  pbft: PbftInitOptions | undefined,
): { engine: "pbft"; [key: string]: unknown } {
  const viewChangeTimeoutMs = pbft?.viewChangeTimeoutMs;
  const section = {
    engine: "pbft" as const,
    ...(viewChangeTimeoutMs !== undefined ? { viewChangeTimeoutMs } : {}),
    // The backoff cap defaults to 8 s; a longer first timeout needs a cap at least as long.
    ...(viewChangeTimeoutMs !== undefined && viewChangeTimeoutMs > 8_000
      ? { maxViewChangeTimeoutMs: viewChangeTimeoutMs }
      : {}),
    ...(pbft?.checkpointInterval !== undefined
      ? { checkpointInterval: pbft.checkpointInterval }
      : {}),
  };
  const { engine: _engine, ...parameters } = section;
  try {
    createPbftConfig({
      chainId,
      validators: Array.from({ length: nodes }, (_, i) => ({ id: `node${i}`, publicKey: "" })),
      ...parameters,
    });
  } catch (err) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `invalid consensus options: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return section;
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
        "operator (keys/org-admin.key, keys/operator.key), and genesis.json signed by the admin key. " +
        "With more than one node the engine is PBFT: each validator's peer endpoint (host:port) is " +
        "written into genesis from --hosts and --p2p-base-port.",
    )
    .option("--name <name>", "network name (default directory and chain id)", DEFAULT_NETWORK)
    .option("--dir <dir>", `network directory [default: ${DEFAULT_HOME}/<name>]`)
    .option("--nodes <n>", "number of validators", integerIn(1, 64), 1)
    .addOption(
      new Option("--suite <suite>", "crypto suite").choices(["standard", "gm"]).default("standard"),
    )
    .option("--chain-id <id>", "chain id [default: govchain-<name>]")
    .addOption(
      new Option(
        "--engine <engine>",
        "consensus engine [default: pbft for --nodes > 1, else devmode]",
      ).choices(["devmode", "pbft"]),
    )
    .option(
      "--hosts <list>",
      "comma-separated peer host of each node, in node order: host (port = base + i) or host:port [default: 127.0.0.1 for all]",
    )
    .option(
      "--p2p-base-port <port>",
      "P2P port of node0; node i listens on base + i",
      integerIn(1, 65_535),
      DEFAULT_P2P_BASE_PORT,
    )
    .option(
      "--view-change-timeout-ms <ms>",
      "PBFT: first view-change timeout [node default: 1000]",
      integerIn(1, 3_600_000),
    )
    .option(
      "--checkpoint-interval <blocks>",
      "PBFT: blocks between checkpoints [node default: 50]",
      integerIn(1, 1_000_000),
    )
    .option("--force", "replace an existing network (deletes its keys and chain data)")
    .action(
      async (
        opts: {
          name: string;
          dir?: string;
          nodes: number;
          suite: SuiteId;
          chainId?: string;
          engine?: EngineName;
          hosts?: string;
          p2pBasePort: number;
          viewChangeTimeoutMs?: number;
          checkpointInterval?: number;
          force?: boolean;
        },
        command: Command,
      ) => {
        const dir = ctx.path(opts.dir ?? join(DEFAULT_HOME, opts.name));
        const engine = opts.engine ?? defaultEngine(opts.nodes);
        const pbftGiven =
          opts.viewChangeTimeoutMs !== undefined || opts.checkpointInterval !== undefined;
        if (engine === "devmode" && command.getOptionValueSource("p2pBasePort") === "cli") {
          throw cliError(
            CliErrorCode.INVALID_ARGUMENT,
            "--p2p-base-port applies to PBFT networks (--engine pbft)",
          );
        }
        const result = await initNetwork({
          dir,
          nodes: opts.nodes,
          suite: opts.suite,
          chainId: opts.chainId ?? `govchain-${opts.name}`,
          engine,
          ...(opts.hosts !== undefined ? { hosts: opts.hosts.split(",") } : {}),
          p2pBasePort: opts.p2pBasePort,
          ...(pbftGiven
            ? {
                pbft: {
                  ...(opts.viewChangeTimeoutMs !== undefined
                    ? { viewChangeTimeoutMs: opts.viewChangeTimeoutMs }
                    : {}),
                  ...(opts.checkpointInterval !== undefined
                    ? { checkpointInterval: opts.checkpointInterval }
                    : {}),
                },
              }
            : {}),
          force: opts.force === true,
        });
        ctx.output.result(describeNetwork(result, ctx.io.cwd), {
          dir,
          chainId: result.genesis.chainId,
          suite: result.genesis.suite,
          engine: result.genesis.consensus.engine,
          genesis: result.layout.genesisPath,
          keys: {
            admin: result.layout.adminKeyPath,
            orgAdmin: result.layout.orgAdminKeyPath,
            operator: result.layout.operatorKeyPath,
          },
          nodes: result.layout.nodes.map((n, i) => ({
            id: n.id,
            key: n.keyPath,
            dataDir: n.dataDir,
            ...(result.genesis.validators[i]?.endpoint !== undefined
              ? { endpoint: result.genesis.validators[i]?.endpoint }
              : {}),
          })),
          publicKeys: result.publicKeys,
        });
      },
    );
}

function describeNetwork(result: InitNetworkResult, cwd: string): string[] {
  const rel = (p: string): string => relative(cwd, p) || ".";
  const { layout, genesis } = result;
  const endpointOf = (id: string): string | undefined =>
    genesis.validators.find((v) => v.id === id)?.endpoint;
  const lines = [
    `created network ${genesis.chainId} (${genesis.suite} suite, ${genesis.consensus.engine}) in ${rel(layout.dir)}`,
    `  genesis     ${rel(layout.genesisPath)}`,
    `  admin       ${rel(layout.adminKeyPath)}  ${result.publicKeys.admin}`,
    `  org admin   ${rel(layout.orgAdminKeyPath)}  (${DEMO_ORGANISATION_ID})`,
    `  operator    ${rel(layout.operatorKeyPath)}  (${DEMO_ORGANISATION_ID})`,
    ...layout.nodes.map((n) => {
      const endpoint = endpointOf(n.id);
      return `  ${n.id.padEnd(11)} ${rel(n.keyPath)}  ${result.publicKeys[n.id] ?? ""}${endpoint ? `  p2p ${endpoint}` : ""}`;
    }),
  ];
  const hosts = layout.nodes.map((n) => parseEndpoint(endpointOf(n.id) ?? "")?.host);
  const remote = hosts.some((h) => h !== undefined && !isLoopbackHost(h));
  if (remote) {
    // Several machines: say what goes where. Keys are the secret part — each node's key goes to
    // its own host only, and the administrator keys stay with the administrator.
    lines.push(
      "",
      "To run it on several hosts:",
      `  copy ${rel(layout.genesisPath)} to every host (it is public: ids, public keys, endpoints)`,
      ...layout.nodes.map(
        (n, i) =>
          `  copy ${rel(n.keyPath)} to ${hosts[i] ?? "?"} only, and there run:\n` +
          `      govchain node start --node-id ${n.id} --genesis genesis.json --key validator.key --data-dir data --api-host 0.0.0.0 --p2p-host 0.0.0.0`,
      ),
      `  keep ${rel(layout.keysDir)}/ (administrator and demo keys) off the validator hosts`,
      `  open each node's P2P port to the other validators, and its REST port (8008) to clients`,
    );
  } else {
    const node = layout.nodes[0];
    if (node !== undefined) {
      const isDefault = basename(layout.dir) === DEFAULT_NETWORK;
      if (layout.nodes.length === 1) {
        lines.push(
          `start it: govchain node start --data-dir ${rel(node.dataDir)} --genesis ${rel(layout.genesisPath)} --key ${rel(node.keyPath)}` +
            (isDefault ? "   (or simply: govchain up)" : ""),
        );
      } else {
        lines.push(
          `start each node i (REST port 8008 + i): govchain node start --node-id node<i> --data-dir ${rel(join(layout.dir, "nodes"))}/node<i>/data --genesis ${rel(layout.genesisPath)} --key ${rel(join(layout.dir, "nodes"))}/node<i>/validator.key --api-port <port>` +
            (isDefault ? `   (or simply: govchain up --nodes ${layout.nodes.length})` : ""),
        );
      }
    }
  }
  return lines;
}
