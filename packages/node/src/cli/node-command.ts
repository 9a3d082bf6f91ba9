/**
 * `govchain node start`: runs one node in the foreground until SIGINT/SIGTERM. Logs go to
 * stdout — pino JSON lines, or readable lines when stdout is a terminal — and once the API
 * listens the command prints `API listening at <url>`, which `up` and the tests wait for
 * (with `--api-port 0` the OS picks the port, so that line is the only way to learn it). A
 * PBFT node prints `P2P listening at <host:port>` just before it: its validator transport
 * listens on its genesis endpoint unless `--p2p-host`/`--p2p-port` override the address it
 * binds (containers bind 0.0.0.0 while peers dial the name in genesis; tests use port 0).
 */
import { mkdir } from "node:fs/promises";
import { type Command, Option } from "commander";
import { isGovchainError } from "../common/errors.js";
import { createPinoLogger, type Logger, type LogLevel } from "../common/logger.js";
import { readKeyFile } from "../crypto/index.js";
import type { GenesisConfig } from "../genesis/genesis.js";
import { parseEndpoint } from "../network/endpoint.js";
import { NetworkErrorCode } from "../network/errors.js";
import { type CliContext, integerIn } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { readGenesisFile } from "./files.js";
import { createReadableLogger } from "./readable-logger.js";
import { exitSoonAfterStop, watchShutdown } from "./shutdown.js";

/** The line `node start` prints when its API is ready (the URL follows). */
export const API_READY_PREFIX = "API listening at ";
/** The line a PBFT node prints when its validator transport listens (`host:port` follows). */
export const P2P_READY_PREFIX = "P2P listening at ";

/** Options of `govchain node start`. */
interface NodeStartOptions {
  readonly dataDir: string;
  readonly genesis: string;
  readonly key: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly nodeId: string;
  readonly logLevel: LogLevel;
  readonly p2pHost?: string;
  readonly p2pPort?: number;
  /** Blocks behind the peers' latest checkpoint from which to catch up by state snapshot. */
  readonly stateSyncMinGap?: number;
  /** False with `--no-state-sync`: always catch up by replaying blocks. */
  readonly stateSync: boolean;
}

function isAddressInUse(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ("code" in e && e.code === "EADDRINUSE") return true;
  }
  return false;
}

/**
 * The address the validator transport binds: the node's genesis endpoint, with `--p2p-host`
 * and `--p2p-port` replacing either part. Undefined when neither flag is given (the node then
 * listens on its genesis endpoint itself).
 */
export function p2pListenAddress(
  genesis: GenesisConfig,
  nodeId: string,
  host: string | undefined,
  port: number | undefined,
): { host: string; port: number } | undefined {
  if (host === undefined && port === undefined) return undefined;
  const endpoint = genesis.validators.find((v) => v.id === nodeId)?.endpoint;
  const fromGenesis = endpoint === undefined ? undefined : parseEndpoint(endpoint);
  return {
    host: host ?? fromGenesis?.host ?? "127.0.0.1",
    port: port ?? fromGenesis?.port ?? 0,
  };
}

async function startNode(ctx: CliContext, opts: NodeStartOptions): Promise<void> {
  const { io, output } = ctx;
  const genesis = await readGenesisFile(ctx.path(opts.genesis));
  const key = await readKeyFile(ctx.path(opts.key));
  const dataDir = ctx.path(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  // pino writes to file descriptor 1 itself, so it is only right when this run owns the
  // process and a program, not a person, reads stdout.
  const logger: Logger =
    io.ownsProcess && io.stdout.isTTY !== true
      ? createPinoLogger({ level: opts.logLevel, base: { node: opts.nodeId } })
      : createReadableLogger({
          stream: io.stdout,
          level: opts.logLevel,
          colour: io.stdout.isTTY === true,
        });

  // Watch for signals before starting, so a Ctrl-C during start-up still stops cleanly.
  const shutdown = watchShutdown(io);
  // Loaded here, not at the top: the node pulls in fastify, LevelDB and metrics, which every
  // other command would otherwise pay for at start-up.
  const { createNode } = await import("../node.js");
  const pbft = genesis.consensus.engine === "pbft";
  if (!pbft && (opts.p2pHost !== undefined || opts.p2pPort !== undefined)) {
    output.warn("--p2p-host and --p2p-port are ignored: this chain's engine has no peers");
  }
  const p2p = pbft ? p2pListenAddress(genesis, opts.nodeId, opts.p2pHost, opts.p2pPort) : undefined;
  const node = createNode({
    nodeId: opts.nodeId,
    dataDir,
    genesis,
    key,
    api: { host: opts.apiHost, port: opts.apiPort },
    logger,
    ...(p2p !== undefined ? { p2p } : {}),
    ...(!opts.stateSync
      ? { stateSync: false as const }
      : opts.stateSyncMinGap !== undefined
        ? { stateSync: { minGapBlocks: opts.stateSyncMinGap } }
        : {}),
  });
  try {
    try {
      await node.start();
    } catch (err) {
      await node.stop().catch(() => {});
      if (isGovchainError(err, NetworkErrorCode.LISTEN_FAILED) && isAddressInUse(err)) {
        const listen =
          p2p ??
          parseEndpoint(genesis.validators.find((v) => v.id === opts.nodeId)?.endpoint ?? "");
        throw cliError(
          CliErrorCode.PORT_IN_USE,
          `P2P port ${listen?.port ?? "?"} on ${listen?.host ?? "?"} is already in use; stop the other process or pass --p2p-port`,
          { port: listen?.port, kind: "p2p" },
          err,
        );
      }
      if (isAddressInUse(err)) {
        throw cliError(
          CliErrorCode.PORT_IN_USE,
          `port ${opts.apiPort} on ${opts.apiHost} is already in use; stop the other process or pass --api-port`,
          { port: opts.apiPort, kind: "api" },
          err,
        );
      }
      throw err;
    }
    const status = node.status();
    const p2pEndpoint = node.p2pEndpoint;
    output.event(
      [
        // Before the API line: whoever waits for the API line has then seen both.
        ...(p2pEndpoint !== undefined ? [`${P2P_READY_PREFIX}${p2pEndpoint}`] : []),
        `${API_READY_PREFIX}${node.apiUrl ?? "(API disabled)"}`,
      ],
      {
        event: "ready",
        url: node.apiUrl,
        ...(p2pEndpoint !== undefined ? { p2p: p2pEndpoint } : {}),
        nodeId: opts.nodeId,
        chainId: status.chainId,
        engine: genesis.consensus.engine,
        height: status.height,
        head: status.head,
      },
    );
    const reason = await shutdown.requested;
    logger.info("stopping", { reason });
    await node.stop();
    output.info(`node ${opts.nodeId} stopped`);
  } finally {
    shutdown.dispose();
  }
  exitSoonAfterStop(io, 0);
}

/** Registers `govchain node …`. */
export function registerNode(program: Command, ctx: CliContext): void {
  const node = program.command("node").summary("run a node");
  node
    .command("start")
    .summary("run one node in the foreground")
    .description(
      "Runs a node until SIGINT/SIGTERM (then stops cleanly and exits 0). Logs are JSON lines on " +
        "stdout (readable lines on a terminal); `API listening at <url>` is printed once the REST API " +
        "answers (after `P2P listening at <host:port>` on a PBFT chain). With --api-port 0 the OS picks " +
        "a free port. A PBFT node listens for peers on its genesis endpoint; --p2p-host/--p2p-port " +
        "change the address it binds (peers still dial the endpoint in genesis).",
    )
    .requiredOption("--data-dir <dir>", "the node's data directory (created if missing)")
    .requiredOption("--genesis <file>", "the chain's genesis.json")
    .requiredOption("--key <file>", "the node's validator key file")
    .option("--api-host <host>", "REST API listen address", "127.0.0.1")
    .option("--api-port <port>", "REST API port (0: any free port)", integerIn(0, 65_535), 8008)
    .option(
      "--node-id <id>",
      "this node's validator id in genesis (names it in logs and status)",
      "node0",
    )
    .option(
      "--p2p-host <host>",
      "PBFT: address the peer transport binds [default: genesis endpoint]",
    )
    .option(
      "--p2p-port <port>",
      "PBFT: port the peer transport binds (0: any free port) [default: genesis endpoint]",
      integerIn(0, 65_535),
    )
    .option(
      "--state-sync-min-gap <blocks>",
      "PBFT: catch up by state snapshot when this many blocks behind the peers' latest checkpoint [default: 4 checkpoint intervals]",
      integerIn(1, 2 ** 31 - 1),
    )
    .option("--no-state-sync", "PBFT: always catch up by replaying blocks, never by snapshot")
    .addOption(
      new Option("--log-level <level>", "minimum log level")
        .choices(["trace", "debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .action(async (opts: NodeStartOptions) => {
      try {
        await startNode(ctx, opts);
      } catch (err) {
        if (isGovchainError(err)) throw err;
        throw cliError(
          CliErrorCode.NODE_FAILED,
          `the node failed: ${err instanceof Error ? err.message : String(err)}`,
          {},
          err,
        );
      }
    });
}
