/**
 * Reading the files the CLI is handed (genesis, proofs, batch lists) with errors that name the
 * file and the problem, never the file's content.
 */
import { readFile, writeFile } from "node:fs/promises";
import { type GenesisConfig, parseGenesis } from "../genesis/genesis.js";
import { CliErrorCode, cliError } from "./errors.js";

/** Reads a file's bytes; `FILE_UNREADABLE` when it cannot. */
export async function readBytes(path: string, what = "file"): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "read failed";
    throw cliError(
      CliErrorCode.FILE_UNREADABLE,
      `cannot read ${what} ${path}: ${code}`,
      { path },
      err,
    );
  }
}

/** Reads and parses a JSON file; `FILE_UNREADABLE` or `FILE_INVALID`. */
export async function readJson(path: string, what = "file"): Promise<unknown> {
  const bytes = await readBytes(path, what);
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw cliError(CliErrorCode.FILE_INVALID, `${what} ${path} is not valid JSON`, { path }, err);
  }
}

/** Reads and validates a genesis file; `INVALID_GENESIS` names the first problem. */
export async function readGenesisFile(path: string): Promise<GenesisConfig> {
  return parseGenesis(await readJson(path, "genesis file"));
}

/** Writes a file, refusing to replace one unless `force`; `FILE_EXISTS` otherwise. */
export async function writeNewFile(
  path: string,
  data: string | Uint8Array,
  force = false,
): Promise<void> {
  try {
    await writeFile(path, data, { flag: force ? "w" : "wx" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw cliError(
        CliErrorCode.FILE_EXISTS,
        `${path} already exists; pass --force to replace it`,
        { path },
      );
    }
    throw cliError(
      CliErrorCode.FILE_UNREADABLE,
      `cannot write ${path}: ${code ?? "write failed"}`,
      { path },
      err,
    );
  }
}
