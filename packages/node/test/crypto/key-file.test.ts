/**
 * Key files on a real file system in a temporary directory: JSON round trips for every
 * algorithm, mode 0600, no accidental overwrite, Sawtooth `.priv` files, and a clear error code
 * (without key material in it) for every way a file can be wrong.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import { isGovchainError } from "../../src/common/errors.js";
import {
  CryptoErrorCode,
  getSuite,
  KEY_FILE_MODE,
  parseKeyFile,
  readKeyFile,
  suiteIdOf,
  writeKeyFile,
} from "../../src/crypto/index.js";
import type { PrivateKey, SignatureAlgorithm } from "../../src/crypto/interface.js";
import { first, SECP256K1_CASES } from "./vectors.js";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "govchain-key-file-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function freshPath(name = "key"): string {
  counter++;
  return join(dir, `${name}-${counter}`);
}

function keyOf(algorithm: SignatureAlgorithm): PrivateKey {
  return getSuite(suiteIdOf(algorithm)).generateKey(algorithm);
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return isGovchainError(err) ? err.code : `not a GovchainError: ${String(err)}`;
  }
  return undefined;
}

describe("writeKeyFile / readKeyFile", () => {
  it.each(["ed25519", "secp256k1", "sm2"] as const)(
    "round-trips a %s key as JSON with mode 0600",
    async (algorithm) => {
      const key = keyOf(algorithm);
      const path = freshPath();
      await writeKeyFile(path, key);
      expect((await stat(path)).mode & 0o777).toBe(KEY_FILE_MODE);

      const json: unknown = JSON.parse(await readFile(path, "utf8"));
      const publicKeyHex = getSuite(suiteIdOf(algorithm)).createSigner(key).publicKeyHex;
      expect(json).toEqual({ algorithm, privateKey: toHex(key.bytes), publicKey: publicKeyHex });

      const read = await readKeyFile(path);
      expect(read.algorithm).toBe(algorithm);
      expect(toHex(read.bytes)).toBe(toHex(key.bytes));
    },
  );

  it("refuses to overwrite an existing file and leaves it untouched", async () => {
    const path = freshPath();
    const original = keyOf("ed25519");
    await writeKeyFile(path, original);
    const before = await readFile(path, "utf8");
    expect(await codeOf(writeKeyFile(path, keyOf("ed25519")))).toBe(
      CryptoErrorCode.KEY_FILE_EXISTS,
    );
    expect(await readFile(path, "utf8")).toBe(before);
  });

  it("overwrites when asked, resetting a looser mode to 0600", async () => {
    const path = freshPath();
    await writeFile(path, "old content, world-readable\n", { mode: 0o644 });
    await chmod(path, 0o644);
    const key = keyOf("secp256k1");
    await writeKeyFile(path, key, { overwrite: true });
    expect((await stat(path)).mode & 0o777).toBe(KEY_FILE_MODE);
    expect(toHex((await readKeyFile(path)).bytes)).toBe(toHex(key.bytes));
  });

  it("does not write a key no suite can use", async () => {
    const path = freshPath();
    const bad: PrivateKey = { algorithm: "secp256k1", bytes: new Uint8Array(32) };
    expect(await codeOf(writeKeyFile(path, bad))).toBe(CryptoErrorCode.INVALID_PRIVATE_KEY);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("reports KEY_FILE_UNWRITABLE when the directory does not exist", async () => {
    const path = join(dir, "no-such-dir", "key");
    expect(await codeOf(writeKeyFile(path, keyOf("ed25519")))).toBe(
      CryptoErrorCode.KEY_FILE_UNWRITABLE,
    );
  });

  it("reports KEY_FILE_UNREADABLE for a missing file or a directory", async () => {
    expect(await codeOf(readKeyFile(join(dir, "missing")))).toBe(
      CryptoErrorCode.KEY_FILE_UNREADABLE,
    );
    const sub = freshPath("dir");
    await mkdir(sub);
    expect(await codeOf(readKeyFile(sub))).toBe(CryptoErrorCode.KEY_FILE_UNREADABLE);
  });

  it("stops when the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const path = freshPath();
    await expect(
      writeKeyFile(path, keyOf("ed25519"), { signal: controller.signal }),
    ).rejects.toThrow("stop");
    await writeKeyFile(path, keyOf("ed25519"));
    await expect(readKeyFile(path, { signal: controller.signal })).rejects.toThrow();
  });
});

describe("Sawtooth .priv files", () => {
  const c = first(SECP256K1_CASES);
  const hex = toHex(c.privateKey);

  it.each([
    ["with a trailing newline", `${hex}\n`],
    ["without a newline", hex],
    ["with a CRLF", `${hex}\r\n`],
    ["in upper case", `${hex.toUpperCase()}\n`],
  ])("reads a .priv file %s as secp256k1", async (_, text) => {
    const path = freshPath("sawtooth.priv");
    await writeFile(path, text);
    const key = await readKeyFile(path);
    expect(key.algorithm).toBe("secp256k1");
    expect(toHex(key.bytes)).toBe(hex);
    expect(getSuite("standard").createSigner(key).publicKeyHex).toBe(toHex(c.publicKey));
  });
});

describe("invalid key files", () => {
  const c = first(SECP256K1_CASES);
  const hex = toHex(c.privateKey);
  const ed = keyOf("ed25519");
  const edHex = toHex(ed.bytes);
  const edPublic = getSuite("standard").createSigner(ed).publicKeyHex;
  const otherPublic = getSuite("standard").createSigner(keyOf("ed25519")).publicKeyHex;

  const cases: [string, string][] = [
    ["an empty file", ""],
    ["text", "not a key\n"],
    ["63 hex characters", hex.slice(1)],
    ["65 hex characters", `${hex}0`],
    ["two newlines", `${hex}\n\n`],
    ["leading space", ` ${hex}`],
    ["a zero secp256k1 key", `${"0".repeat(64)}\n`],
    [
      "a secp256k1 key equal to n",
      "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n",
    ],
    ["JSON null", "null"],
    ["a JSON array", "[]"],
    ["JSON without publicKey", JSON.stringify({ algorithm: "ed25519", privateKey: edHex })],
    [
      "JSON with an unknown algorithm",
      JSON.stringify({ algorithm: "rsa", privateKey: edHex, publicKey: edPublic }),
    ],
    [
      "JSON with a short privateKey",
      JSON.stringify({ algorithm: "ed25519", privateKey: edHex.slice(2), publicKey: edPublic }),
    ],
    [
      "JSON whose publicKey belongs to another key",
      JSON.stringify({ algorithm: "ed25519", privateKey: edHex, publicKey: otherPublic }),
    ],
    [
      "JSON with an unknown field",
      JSON.stringify({ algorithm: "ed25519", privateKey: edHex, publicKey: edPublic, note: "x" }),
    ],
    [
      "JSON with a zero sm2 key",
      JSON.stringify({
        algorithm: "sm2",
        privateKey: "0".repeat(64),
        publicKey: `02${"0".repeat(64)}`,
      }),
    ],
  ];

  it.each(cases)(
    "rejects %s with KEY_FILE_INVALID, without key material in the error",
    async (_, text) => {
      const path = freshPath();
      await writeFile(path, text);
      let caught: unknown;
      try {
        await readKeyFile(path);
      } catch (err) {
        caught = err;
      }
      expect(isGovchainError(caught, CryptoErrorCode.KEY_FILE_INVALID), String(caught)).toBe(true);
      const shown = isGovchainError(caught)
        ? `${caught.message} ${JSON.stringify(caught.context)}`
        : "";
      expect(shown).toContain(path);
      expect(shown).not.toContain(hex);
      expect(shown).not.toContain(edHex);
    },
  );

  it("accepts the same JSON once it is consistent", () => {
    const text = JSON.stringify({ algorithm: "ed25519", privateKey: edHex, publicKey: edPublic });
    expect(toHex(parseKeyFile(text).bytes)).toBe(edHex);
  });
});
