/**
 * Key files. govchain writes JSON `{"algorithm","privateKey","publicKey"}` (lower-case hex) with
 * mode 0600 and never replaces an existing file unless asked. It also reads Hyperledger Sawtooth
 * `.priv` files (64 hex characters and an optional newline, as `sawtooth keygen` writes them) as
 * secp256k1 keys, so operators can bring their Sawtooth identities along.
 *
 * Reading checks the whole file: a JSON file's `publicKey` must be the one its private key
 * derives, so a corrupted or hand-edited file fails at start-up instead of signing as a stranger.
 * Errors carry the path and a reason, never the file's content.
 */
import { open, readFile } from "node:fs/promises";
import { z } from "zod";
import { fromHex, toHex } from "../common/bytes.js";
import { type GovchainError, isGovchainError } from "../common/errors.js";
import { CryptoErrorCode, cryptoError } from "./errors.js";
import { getSuite, suiteIdOf } from "./get-suite.js";
import type { PrivateKey, SignatureAlgorithm } from "./interface.js";

/** Mode of key files: readable and writable by the owner only. */
export const KEY_FILE_MODE = 0o600;

/** Options of `readKeyFile`. */
export interface ReadKeyFileOptions {
  /** Aborts the read. */
  readonly signal?: AbortSignal;
}

/** Options of `writeKeyFile`. */
export interface WriteKeyFileOptions {
  /** Replace an existing file (its mode is reset to 0600 before the key is written). Default false. */
  readonly overwrite?: boolean;
  /** Aborts the write. */
  readonly signal?: AbortSignal;
}

/** The JSON form of a key file. */
export interface KeyFileContent {
  readonly algorithm: SignatureAlgorithm;
  /** Lower-case hex of the 32-byte private key (Ed25519 seed or curve scalar). */
  readonly privateKey: string;
  /** Lower-case hex of the public key in its suite's wire encoding. */
  readonly publicKey: string;
}

/** A Sawtooth private key file: 64 hex characters, then at most one line ending. */
const SAWTOOTH_PRIV = /^([0-9a-fA-F]{64})\r?\n?$/;
const HEX_32 = /^[0-9a-fA-F]{64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

// Strict, like every schema in govchain (ADR 0001): an unknown field is an error, not ignored.
const keyFileSchema = z.strictObject({
  algorithm: z.enum(["ed25519", "secp256k1", "sm2"]),
  privateKey: z.string().regex(HEX_32, "64 hex characters"),
  publicKey: z.string().regex(HEX, "hex"),
});

/** The JSON key file content for `key`; throws as `createSigner` does for an unusable key. */
export function keyFileContent(key: PrivateKey): KeyFileContent {
  const signer = getSuite(suiteIdOf(key.algorithm)).createSigner(key);
  return {
    algorithm: key.algorithm,
    privateKey: toHex(key.bytes),
    publicKey: signer.publicKeyHex,
  };
}

/**
 * Writes `key` to `path` as a JSON key file with mode 0600. Throws `KEY_FILE_EXISTS` when the
 * file exists and `overwrite` is not set, `KEY_FILE_UNWRITABLE` when it cannot be written, and
 * `INVALID_PRIVATE_KEY` / `UNSUPPORTED_ALGORITHM` for a key no suite can use.
 */
export async function writeKeyFile(
  path: string,
  key: PrivateKey,
  options: WriteKeyFileOptions = {},
): Promise<void> {
  const { overwrite = false, signal } = options;
  signal?.throwIfAborted();
  const text = `${JSON.stringify(keyFileContent(key))}\n`;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // "wx" creates the file or fails: no window in which another file is replaced by accident.
    handle = await open(path, overwrite ? "w" : "wx", KEY_FILE_MODE);
  } catch (err) {
    if (errnoCode(err) === "EEXIST") {
      throw cryptoError(
        CryptoErrorCode.KEY_FILE_EXISTS,
        `key file ${path} already exists; refusing to overwrite it`,
        { path },
        err,
      );
    }
    throw unwritable(path, err);
  }
  try {
    // An existing file keeps its old mode when opened with "w"; tighten it before the key lands.
    await handle.chmod(KEY_FILE_MODE);
    await handle.writeFile(text, { encoding: "utf8", signal });
    await handle.sync();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw unwritable(path, err);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a private key from a govchain JSON key file or a Sawtooth `.priv` file (secp256k1).
 * Throws `KEY_FILE_UNREADABLE` when the file cannot be read and `KEY_FILE_INVALID` when its
 * content is not a usable key.
 */
export async function readKeyFile(
  path: string,
  options: ReadKeyFileOptions = {},
): Promise<PrivateKey> {
  const { signal } = options;
  let text: string;
  try {
    text = await readFile(path, { encoding: "utf8", signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw cryptoError(
      CryptoErrorCode.KEY_FILE_UNREADABLE,
      `cannot read key file ${path}: ${errnoCode(err) ?? "read failed"}`,
      { path, reason: errnoCode(err) ?? "READ_FAILED" },
      err,
    );
  }
  return parseKeyFile(text, path);
}

/**
 * The private key in a key file's text (JSON or Sawtooth `.priv`); `source` names the file in
 * errors. Throws `KEY_FILE_INVALID` when the text is not a usable key.
 */
export function parseKeyFile(text: string, source = "key file"): PrivateKey {
  const sawtooth = SAWTOOTH_PRIV.exec(text);
  if (sawtooth?.[1] !== undefined) {
    const key: PrivateKey = { algorithm: "secp256k1", bytes: fromHex(sawtooth[1]) };
    checkUsable(key, source);
    return key;
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(source, "neither JSON nor a Sawtooth .priv file (64 hex characters)", err);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : `${issue.path.join(".") || "file"}: `;
    throw invalid(source, `${where}${issue?.message ?? "not a key file"}`);
  }
  const key: PrivateKey = {
    algorithm: parsed.data.algorithm,
    bytes: fromHex(parsed.data.privateKey),
  };
  const publicKeyHex = checkUsable(key, source);
  if (publicKeyHex !== parsed.data.publicKey.toLowerCase()) {
    throw invalid(source, "publicKey is not the public key of privateKey");
  }
  return key;
}

/** The public key hex of `key`, or `KEY_FILE_INVALID` when no suite can use it. */
function checkUsable(key: PrivateKey, source: string): string {
  try {
    return getSuite(suiteIdOf(key.algorithm)).createSigner(key).publicKeyHex;
  } catch (err) {
    if (isGovchainError(err, CryptoErrorCode.INVALID_PRIVATE_KEY)) {
      throw invalid(source, `privateKey is not a valid ${key.algorithm} key`, err);
    }
    throw err;
  }
}

function invalid(source: string, reason: string, cause?: unknown): GovchainError {
  return cryptoError(
    CryptoErrorCode.KEY_FILE_INVALID,
    `${source} is not a valid key file: ${reason}`,
    { path: source, reason },
    cause,
  );
}

function unwritable(path: string, err: unknown): GovchainError {
  return cryptoError(
    CryptoErrorCode.KEY_FILE_UNWRITABLE,
    `cannot write key file ${path}: ${errnoCode(err) ?? "write failed"}`,
    { path, reason: errnoCode(err) ?? "WRITE_FAILED" },
    err,
  );
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}
