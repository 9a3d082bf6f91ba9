/**
 * The public test vectors the crypto tests use, loaded once and typed: RFC 8032 Ed25519,
 * GB/T SM3 and SM2, and Hyperledger Sawtooth's secp256k1 signing vectors.
 */
import { readFileSync } from "node:fs";
import { fromHex, utf8 } from "../../src/common/bytes.js";

const VECTORS = new URL("../vectors/", import.meta.url);

function load(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, VECTORS), "utf8"));
}

/** One RFC 8032 Ed25519 case, bytes decoded. */
export interface Ed25519Case {
  readonly name: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** One SM2 signing case (GB/T 32918.5 Annex A), bytes decoded. */
export interface Sm2Case {
  readonly userId: Uint8Array;
  readonly message: Uint8Array;
  readonly privateKey: Uint8Array;
  /** Uncompressed, 04 || x || y. */
  readonly publicKey: Uint8Array;
  readonly za: Uint8Array;
  readonly e: Uint8Array;
  /** r || s. */
  readonly signature: Uint8Array;
}

/** One Sawtooth secp256k1 case, bytes decoded. */
export interface Secp256k1Case {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

interface PublicVectorsFile {
  sm3: { input_ascii: string; digest: string }[];
  sm2_sign: {
    user_id_ascii: string;
    message_ascii: string;
    private_key: string;
    public_key_x: string;
    public_key_y: string;
    za: string;
    e: string;
    r: string;
    s: string;
  }[];
  sawtooth_secp256k1: {
    cases: { private_key: string; public_key: string; message_ascii: string; signature: string }[];
  };
  sawtooth_addressing: { namespaces: Record<string, string> };
}

interface Rfc8032File {
  source: string;
  cases: {
    name: string;
    secret_key: string;
    public_key: string;
    message: string;
    signature: string;
  }[];
}

const publicVectors = load("public-vectors.json") as PublicVectorsFile;
const rfc8032 = load("rfc8032-ed25519.json") as Rfc8032File;

const hex = (text: string): Uint8Array => fromHex(text.toLowerCase());

/** RFC 8032 section 7.1: TEST 1, 2, 3, 1024 and SHA(abc). */
export const ED25519_CASES: readonly Ed25519Case[] = rfc8032.cases.map((c) => ({
  name: c.name,
  seed: hex(c.secret_key),
  publicKey: hex(c.public_key),
  message: hex(c.message),
  signature: hex(c.signature),
}));

/** SM3 digests of ASCII inputs (GB/T 32905-2016 Appendix A). */
export const SM3_CASES = publicVectors.sm3.map((c) => ({
  input: utf8(c.input_ascii),
  digest: c.digest,
}));

/** SM2 signing cases. */
export const SM2_CASES: readonly Sm2Case[] = publicVectors.sm2_sign.map((c) => ({
  userId: utf8(c.user_id_ascii),
  message: utf8(c.message_ascii),
  privateKey: hex(c.private_key),
  publicKey: hex(`04${c.public_key_x}${c.public_key_y}`),
  za: hex(c.za),
  e: hex(c.e),
  signature: hex(`${c.r}${c.s}`),
}));

/** Sawtooth's secp256k1 signing vectors (sawtooth-sdk-javascript). */
export const SECP256K1_CASES: readonly Secp256k1Case[] = publicVectors.sawtooth_secp256k1.cases.map(
  (c) => ({
    privateKey: hex(c.private_key),
    publicKey: hex(c.public_key),
    message: utf8(c.message_ascii),
    signature: hex(c.signature),
  }),
);

/** Sawtooth namespace prefixes: the first 6 hex characters of SHA-512(family name). */
export const SAWTOOTH_NAMESPACES: Readonly<Record<string, string>> =
  publicVectors.sawtooth_addressing.namespaces;

/** The first element, asserting the vector file is not empty. */
export function first<T>(items: readonly T[]): T {
  const item = items[0];
  if (item === undefined) throw new Error("vector file has no cases");
  return item;
}
