/**
 * `govchain node start`: runs one node in the foreground until SIGINT/SIGTERM. Logs go to
 * stdout — pino JSON lines, or readable lines when stdout is a terminal — and once the API
 * listens the command prints `API listening at <url>`, which `up` and the tests wait for
 * (with `--api-port 0` the OS picks the port, so that line is the only way to learn it).
 */
import { mkdir } from "node:fs/promises";
import { type Command, Option } from "commander";
import { isGovchainError } from "../common/errors.js";
import { createPinoLogger, type Logger, type LogLevel } from "../common/logger.js";
import { readKeyFile } from "../crypto/index.js";
import { type CliContext, integerIn } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { readGenesisFile } from "./files.js";
import { createReadableLogger } from "./readable-logger.js";
import { exitSoonAfterStop, watchShutdown } from "./shutdown.js";

/** The line `node start` prints when its API is ready (the URL follows). */
export const API_READY_PREFIX = "API listening at ";

/** Options of `govchain node start`. */
interface NodeStartOptions {
  readonly dataDir: string;
  readonly genesis: string;
  readonly key: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly nodeId: string;
  readonly logLevel: LogLevel;
}

function isAddressInUse(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ("code" in e && e.code === "EADDRINUSE") return true;
  }
  return false;
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
  const node = createNode({
    nodeId: opts.nodeId,
    dataDir,
    genesis,
    key,
    api: { host: opts.apiHost, port: opts.apiPort },
    logger,
  });
  try {
    try {
      await node.start();
    } catch (err) {
      await node.stop().catch(() => {});
      if (isAddressInUse(err)) {
        throw cliError(
          CliErrorCode.PORT_IN_USE,
          `port ${opts.apiPort} on ${opts.apiHost} is already in use; stop the other process or pass --api-port`,
          { port: opts.apiPort },
          err,
        );
      }
      throw err;
    }
    const status = node.status();
    output.event(`${API_READY_PREFIX}${node.apiUrl ?? "(API disabled)"}`, {
      event: "ready",
      url: node.apiUrl,
      nodeId: opts.nodeId,
      chainId: status.chainId,
      height: status.height,
      head: status.head,
    });
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
        "answers. With --api-port 0 the OS picks a free port.",
    )
    .requiredOption("--data-dir <dir>", "the node's data directory (created if missing)")
    .requiredOption("--genesis <file>", "the chain's genesis.json")
    .requiredOption("--key <file>", "the node's validator key file")
    .option("--api-host <host>", "REST API listen address", "127.0.0.1")
    .option("--api-port <port>", "REST API port (0: any free port)", integerIn(0, 65_535), 8008)
    .option("--node-id <id>", "name of this node in logs and status", "node0")
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
