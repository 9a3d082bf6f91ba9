/**
 * What every command shares: the I/O of the run, the output chosen by `--json`/`--verbose`,
 * the API client for `--url`, the signing key for `--key`, and parsers for option values.
 * Commands receive it instead of reaching for `process`, so the whole CLI runs in-process in
 * tests with captured streams.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { getSuite, readKeyFile, suiteIdOf } from "../crypto/index.js";
import type { CryptoSuite, PrivateKey, Signer } from "../crypto/interface.js";
import { type ApiClient, createApiClient, DEFAULT_API_URL } from "./client.js";
import { CliErrorCode, cliError } from "./errors.js";
import { type CliIo, createOutput, type Output } from "./output.js";

/** Where `govchain up` keeps its networks, relative to the working directory. */
export const DEFAULT_HOME = ".govchain";
/** The network `govchain up` runs by default. */
export const DEFAULT_NETWORK = "local";

/** Options every command accepts (defined on the program, usable after the subcommand). */
export interface GlobalOptions {
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly url?: string;
  readonly key?: string;
}

/** A key loaded from a key file, with the suite its algorithm belongs to. */
export interface LoadedKey {
  readonly path: string;
  readonly key: PrivateKey;
  readonly suite: CryptoSuite;
  readonly signer: Signer;
}

/** The shared context of one CLI run. */
export interface CliContext {
  readonly io: CliIo;
  /** The output of the running command (plain text until its options are parsed). */
  readonly output: Output;
  /**
   * Exit code of a command that printed its result but did not succeed (e.g. some batches
   * INVALID); 0 unless a command sets it.
   */
  exitCode: number;
  /** Chooses the output from the running command's options; called before each action. */
  useOptions(command: Command): Output;
  /** An absolute path for a user-given (possibly relative) path. */
  path(path: string): string;
  /** The API client for the command's `--url` (default `$GOVCHAIN_URL`, then 127.0.0.1:8008). */
  client(command: Command): ApiClient;
  /**
   * The signing key: `--key`, else `$GOVCHAIN_KEY`, else the admin key of the local network
   * made by `govchain up` (`.govchain/local/keys/admin.key`) when it exists.
   */
  signingKey(command: Command): Promise<LoadedKey>;
}

/** Reads a key file and prepares its signer and suite (secp256k1/Ed25519 → standard, SM2 → gm). */
export async function loadKey(path: string): Promise<LoadedKey> {
  const key = await readKeyFile(path);
  const suite = getSuite(suiteIdOf(key.algorithm));
  return { path, key, suite, signer: suite.createSigner(key) };
}

/** Creates the context of one run. */
export function createCliContext(io: CliIo): CliContext {
  let output = createOutput(io, { json: false, verbose: false });
  const path = (p: string): string => resolve(io.cwd, p);
  const globals = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

  return {
    io,
    exitCode: 0,
    get output() {
      return output;
    },
    useOptions(command) {
      const opts = globals(command);
      output = createOutput(io, { json: opts.json === true, verbose: opts.verbose === true });
      return output;
    },
    path,
    client(command) {
      const url = globals(command).url ?? io.env.GOVCHAIN_URL ?? DEFAULT_API_URL;
      if (!/^https?:\/\/[^\s/]+/.test(url)) {
        throw cliError(CliErrorCode.INVALID_ARGUMENT, `--url must be an http(s) URL, not ${url}`);
      }
      return createApiClient({ url, ...(io.signal ? { signal: io.signal } : {}) });
    },
    async signingKey(command) {
      const given = globals(command).key ?? io.env.GOVCHAIN_KEY;
      if (given !== undefined && given !== "") return loadKey(path(given));
      const fallback = path(`${DEFAULT_HOME}/${DEFAULT_NETWORK}/keys/admin.key`);
      if (existsSync(fallback)) return loadKey(fallback);
      throw cliError(
        CliErrorCode.KEY_REQUIRED,
        "this command signs a transaction: pass --key <file> (create one with `govchain keygen`)",
      );
    },
  };
}

/** Adds `--url` to a command that talks to a node. */
export function withApi(command: Command): Command {
  return command.addOption(
    new Option("--url <url>", `REST API of a node [default: $GOVCHAIN_URL or ${DEFAULT_API_URL}]`),
  );
}

/** Adds `--key` to a command that signs. */
export function withKey(command: Command): Command {
  return command.addOption(
    new Option(
      "--key <file>",
      `key file that signs [default: $GOVCHAIN_KEY, else ${DEFAULT_HOME}/${DEFAULT_NETWORK}/keys/admin.key]`,
    ),
  );
}

/** Adds `--wait <seconds>` / `--no-wait` to a command that submits batches. */
export function withWait(command: Command, defaultSeconds = 30): Command {
  return command
    .addOption(
      new Option("--wait <seconds>", "wait up to this long for the batch to be committed")
        .default(defaultSeconds)
        .argParser(parseSeconds),
    )
    .addOption(new Option("--no-wait", "return once the node has accepted the batch"));
}

/** Parses a non-negative number of seconds. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === "") {
    throw new InvalidArgumentError("expected a number of seconds (0 or more)");
  }
  return n;
}

/** A parser of integers within [min, max], for commander options and arguments. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim()))
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Short form of a long hex id for tables: first 16 characters and an ellipsis. */
export function short(id: string, length = 16): string {
  return id.length > length ? `${id.slice(0, length)}…` : id;
}
