/**
 * The `govchain` command: `main(argv)` parses the command line with commander, runs one
 * command and resolves with the process exit code (0 success, 1 failure, 2 usage error). It
 * never throws and never exits the process itself, so tests run it in-process with captured
 * streams (`main(argv, io)`); `bin/govchain.js` passes the process's own.
 *
 * Each command group lives in its own module and registers itself on the program; they share
 * a `CliContext` (output, API client, signing key). Failures print one line,
 * `error [CODE]: message` (the stack too with `--verbose`).
 */
import { Command, CommanderError } from "commander";
import packageJson from "../../package.json" with { type: "json" };
import { registerBatch } from "./batch.js";
import { registerBench } from "./bench.js";
import { registerBlock } from "./block.js";
import { type CliContext, createCliContext } from "./context.js";
import { CliErrorCode, cliError, exitCodeOf, USAGE_EXIT_CODE } from "./errors.js";
import { registerIdentity } from "./identity.js";
import { registerIntkey } from "./intkey.js";
import { registerKeygen } from "./keygen.js";
import { registerNetwork } from "./network.js";
import { registerNode } from "./node-command.js";
import { type CliIo, createOutput, processIo } from "./output.js";
import { registerProof } from "./proof.js";
import { registerSettings } from "./settings.js";
import { registerState } from "./state.js";
import { registerTrace } from "./trace.js";
import { registerUp } from "./up.js";

const EXAMPLES = `
Examples:
  $ govchain up --demo                      local network with demo data on http://127.0.0.1:8008
  $ govchain intkey set apples 10           write (signed with .govchain/local/keys/admin.key)
  $ govchain intkey show apples
  $ govchain block list
  $ govchain proof get <address> --out p.json && govchain proof verify p.json

Every command takes --help, and --json for output that scripts can parse.`;

/** Builds the command tree for one run. */
export function buildProgram(ctx: CliContext, jsonErrors: boolean): Command {
  const program = new Command("govchain")
    .description("govchain: a permissioned blockchain for cross-department government work")
    .version(packageJson.version, "-V, --version", "print the version")
    .option("--json", "print results as JSON for scripts (no progress output)")
    .option("-v, --verbose", "print stack traces with errors")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText("after", EXAMPLES)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: (text, write) => {
        const message = text.replace(/^error:\s*/, "").trim();
        if (jsonErrors) {
          ctx.io.stdout.write(
            `${JSON.stringify({ error: { code: CliErrorCode.USAGE_ERROR, message } })}\n`,
          );
        } else {
          write(`error [${CliErrorCode.USAGE_ERROR}]: ${message}\n`);
        }
      },
    });
  program.hook("preAction", (_program, action) => {
    ctx.useOptions(action);
  });

  registerUp(program, ctx);
  registerBench(program, ctx);
  registerNode(program, ctx);
  registerNetwork(program, ctx);
  registerKeygen(program, ctx);
  registerIntkey(program, ctx);
  registerIdentity(program, ctx);
  registerSettings(program, ctx);
  registerState(program, ctx);
  registerTrace(program, ctx);
  registerBlock(program, ctx);
  registerBatch(program, ctx);
  registerProof(program, ctx);

  // Every command, at every depth, reports errors through our output and never exits.
  const configure = (command: Command): void => {
    for (const sub of command.commands) {
      sub
        .exitOverride()
        .showHelpAfterError("(add --help for usage)")
        .configureHelp({ showGlobalOptions: true });
      configure(sub);
    }
  };
  configure(program);
  return program;
}

/**
 * Runs the CLI with `argv` as `process.argv` (node, script, arguments…) and resolves with the
 * exit code. `io` defaults to the process's streams, environment and working directory.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const jsonErrors = argv.includes("--json");
  const ctx = createCliContext(io);
  try {
    const program = buildProgram(ctx, jsonErrors);
    await program.parseAsync([...argv], { from: "node" });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander has already printed everything else.
      if (err.exitCode === 0) return 0;
      return USAGE_EXIT_CODE;
    }
    const output =
      ctx.output.json || !jsonErrors
        ? ctx.output
        : createOutput(io, { json: true, verbose: false });
    output.error(err instanceof Error ? err : cliError(CliErrorCode.INTERNAL_ERROR, String(err)));
    return exitCodeOf(err);
  }
}
