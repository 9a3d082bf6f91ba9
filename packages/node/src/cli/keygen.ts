/**
 * `govchain keygen`: creates a key file (and a `.pub` file beside it, as Sawtooth's keygen
 * does) and prints the public key. It never replaces an existing key unless `--force`, because
 * a lost private key is a lost identity.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { getSuite, isSuiteId, writeKeyFile } from "../crypto/index.js";
import type { SignatureAlgorithm, SuiteId } from "../crypto/interface.js";
import { type CliContext, DEFAULT_HOME } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";

/** Options of `generateKeyFile`. */
export interface GenerateKeyFileOptions {
  /** Path of the key file. */
  readonly path: string;
  readonly suite: SuiteId;
  /** Default: the suite's first algorithm (Ed25519 for `standard`, SM2 for `gm`). */
  readonly algorithm?: SignatureAlgorithm;
  /** Replace existing files. */
  readonly force?: boolean;
}

/** A key file that was written. */
export interface GeneratedKey {
  readonly path: string;
  readonly publicKeyPath: string;
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: string;
}

/**
 * Generates a key and writes it to `path` (mode 0600) and its public key to `path` with `.pub`
 * instead of `.key`. Throws `KEY_FILE_EXISTS` when the key file exists and `force` is unset.
 */
export async function generateKeyFile(options: GenerateKeyFileOptions): Promise<GeneratedKey> {
  const suite = getSuite(options.suite);
  const algorithm = options.algorithm ?? suite.algorithms[0];
  if (algorithm === undefined || !suite.algorithms.includes(algorithm)) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `the ${options.suite} suite has no ${String(algorithm)} keys (it accepts ${suite.algorithms.join(", ")})`,
    );
  }
  const key = suite.generateKey(algorithm);
  const publicKey = suite.createSigner(key).publicKeyHex;
  const publicKeyPath = options.path.endsWith(".key")
    ? `${options.path.slice(0, -4)}.pub`
    : `${options.path}.pub`;
  await writeKeyFile(options.path, key, { overwrite: options.force === true });
  try {
    await writeFile(publicKeyPath, `${publicKey}\n`, { flag: options.force === true ? "w" : "wx" });
  } catch (err) {
    // Keep the pair consistent: a key file without its .pub is fine, a stale .pub is not.
    if (!options.force) await rm(options.path, { force: true });
    throw cliError(
      CliErrorCode.FILE_EXISTS,
      `cannot write ${publicKeyPath}: ${(err as NodeJS.ErrnoException).code ?? "failed"}`,
      {
        path: publicKeyPath,
      },
    );
  }
  return { path: options.path, publicKeyPath, algorithm, publicKey };
}

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Registers `govchain keygen`. */
export function registerKeygen(program: Command, ctx: CliContext): void {
  program
    .command("keygen")
    .summary("create a key file and print its public key")
    .description(
      "Creates <dir>/<name>.key (JSON, mode 0600) and <dir>/<name>.pub, and prints the public key. " +
        "The algorithm follows the suite: Ed25519 for standard (secp256k1 on request), SM2 for gm.",
    )
    .argument("[name]", "name of the key", "default")
    .option("--dir <dir>", "directory of the key files", `${DEFAULT_HOME}/keys`)
    .addOption(
      new Option("--suite <suite>", "crypto suite of the chain").choices(["standard", "gm"]),
    )
    .addOption(
      new Option("--algorithm <algorithm>", "signature algorithm").choices([
        "ed25519",
        "secp256k1",
        "sm2",
      ]),
    )
    .option("--force", "replace an existing key file (the old key is lost)")
    .action(
      async (
        name: string,
        opts: { dir: string; suite?: string; algorithm?: SignatureAlgorithm; force?: boolean },
      ) => {
        if (!KEY_NAME.test(name)) {
          throw cliError(
            CliErrorCode.INVALID_ARGUMENT,
            `key name ${JSON.stringify(name)} must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'`,
          );
        }
        const suite: SuiteId =
          opts.suite !== undefined && isSuiteId(opts.suite)
            ? opts.suite
            : opts.algorithm === "sm2"
              ? "gm"
              : "standard";
        const dir = ctx.path(opts.dir);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const generated = await generateKeyFile({
          path: join(dir, `${name}.key`),
          suite,
          ...(opts.algorithm !== undefined ? { algorithm: opts.algorithm } : {}),
          force: opts.force === true,
        });
        ctx.output.result(
          [
            `wrote ${generated.path} (${generated.algorithm})`,
            `public key: ${generated.publicKey}`,
          ],
          { ...generated, suite },
        );
      },
    );
}
