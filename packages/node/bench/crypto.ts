/**
 * Micro-benchmark of the crypto suites on one core: verify/s and sign/s per algorithm and
 * backend (the one govchain uses and the alternatives it was chosen over), key parsing, and
 * hashing of 1 KB. Prints a table and rewrites the results section of docs/benchmarks/crypto.md
 * (between its `bench:start` / `bench:end` markers), with the machine, Node, OpenSSL and date.
 * Run: `npx tsx packages/node/bench/crypto.ts [--print-only]`.
 * A benchmark, not a test: it reports numbers and asserts only that what it times is valid.
 */
import {
  createPublicKey,
  ECDH,
  generateKeyPairSync,
  hash,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sm2 as smCrypto } from "sm-crypto-v2";
import { toHex } from "../src/common/bytes.js";
import { systemClock } from "../src/common/clock.js";
import { createSeededRandom } from "../src/common/random.js";
import { getSuite } from "../src/crypto/index.js";
import type { SignatureAlgorithm, Signer } from "../src/crypto/interface.js";
import { parseSecp256k1PublicKey } from "../src/crypto/secp256k1.js";
import { loadGmNative, sm2Digest, sm2Za } from "../src/crypto/sm2.js";

const loadAtStart = loadavg()
  .map((n) => n.toFixed(2))
  .join(" ");
const ROUNDS = 7;
const ROUND_MS = 300;
const MESSAGE_COUNT = 64;
const MESSAGE_BYTES = 256;

const random = createSeededRandom(2026);
const messages = Array.from({ length: MESSAGE_COUNT }, () => random.bytes(MESSAGE_BYTES));
const kilobyte = random.bytes(1024);

interface Row {
  readonly subject: string;
  readonly operation: string;
  readonly backend: string;
  readonly opsPerSecond: number;
  readonly note: string;
}

const rows: Row[] = [];

/** One timed case: an operation on one backend. */
interface Case {
  readonly operation: string;
  readonly backend: string;
  /** Called with a running index, so a case can cycle through its inputs. */
  readonly op: (i: number) => unknown;
  readonly note?: string;
}

/** Operations of `op` done in about `ms` milliseconds, per second, starting at index `from`. */
function rate(op: (i: number) => unknown, ms: number, from: number): number {
  let count = 0;
  const start = systemClock.monotonic();
  let now = start;
  while (now - start < ms) {
    // Read the clock every 16 operations so timing stays out of the measured cost.
    for (let k = 0; k < 16; k++) op(from + count + k);
    count += 16;
    now = systemClock.monotonic();
  }
  return (count * 1000) / (now - start);
}

/**
 * Times the cases of one comparison with their rounds interleaved (A, B, A, B, ...), so load
 * from other processes on this shared machine hits every alternative alike and the ratios
 * hold even when absolute figures move. Records the median rate of each case.
 */
function compare(subject: string, cases: readonly Case[]): void {
  for (const c of cases) rate(c.op, 200, 0);
  const rates: number[][] = cases.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, c] of cases.entries()) rates[k]?.push(rate(c.op, ROUND_MS, r * 1_000_000));
  }
  for (const [k, c] of cases.entries()) {
    const sorted = (rates[k] ?? []).sort((a, b) => a - b);
    const opsPerSecond = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    rows.push({
      subject,
      operation: c.operation,
      backend: c.backend,
      opsPerSecond,
      note: c.note ?? "",
    });
    process.stdout.write(
      `${subject.padEnd(10)} ${c.operation.padEnd(10)} ${c.backend.padEnd(46)} ${format(opsPerSecond).padStart(10)}/s\n`,
    );
  }
}

function format(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark set-up is wrong: ${what}`);
}

function message(i: number): Uint8Array {
  return messages[i % MESSAGE_COUNT] as Uint8Array;
}

function presign(signer: Signer): Uint8Array[] {
  return messages.map((m) => signer.sign(m));
}

function signatureOf(signatures: readonly Uint8Array[], i: number): Uint8Array {
  return signatures[i % MESSAGE_COUNT] as Uint8Array;
}

/** SPKI DER prefix of an uncompressed secp256k1 point: id-ecPublicKey, secp256k1, BIT STRING header. */
const SPKI_PREFIX = Buffer.from("3056301006072a8648ce3d020106052b8104000a034200", "hex");

const standard = getSuite("standard");
const gm = getSuite("gm");

function signerOf(algorithm: SignatureAlgorithm): Signer {
  const suite = algorithm === "sm2" ? gm : standard;
  return suite.createSigner(suite.generateKey(algorithm));
}

// --- Ed25519 ---------------------------------------------------------------------------------
{
  const signer = signerOf("ed25519");
  const signatures = presign(signer);
  check(
    standard.verify(signer.publicKey, message(0), signatureOf(signatures, 0)),
    "ed25519 signature",
  );
  // The same key as a node:crypto KeyObject pair, built once (the "cached KeyObject" case).
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(signer.publicKey).toString("base64url") },
    format: "jwk",
  });
  const { privateKey: nodePrivate } = generateKeyPairSync("ed25519");
  check(nodeVerify(null, message(0), publicKey, signatureOf(signatures, 0)), "ed25519 KeyObject");

  compare("Ed25519", [
    {
      operation: "verify",
      backend: "libsodium (sodium-native) — used",
      op: (i) => standard.verify(signer.publicKey, message(i), signatureOf(signatures, i)),
    },
    {
      operation: "verify",
      backend: "node:crypto, cached KeyObject",
      op: (i) => nodeVerify(null, message(i), publicKey, signatureOf(signatures, i)),
    },
  ]);
  compare("Ed25519", [
    {
      operation: "sign",
      backend: "libsodium (sodium-native) — used",
      op: (i) => signer.sign(message(i)),
    },
    {
      operation: "sign",
      backend: "node:crypto, cached KeyObject",
      op: (i) => nodeSign(null, message(i), nodePrivate),
    },
  ]);
}

// --- secp256k1 -------------------------------------------------------------------------------
{
  const signer = signerOf("secp256k1");
  const signatures = presign(signer);
  check(
    standard.verify(signer.publicKey, message(0), signatureOf(signatures, 0)),
    "secp256k1 signature",
  );
  const digests = messages.map((m) => new Uint8Array(hash("sha256", m, "buffer")));
  check(
    secp256k1.verify(signatureOf(signatures, 0), digests[0] as Uint8Array, signer.publicKey, {
      prehash: false,
    }),
    "noble verify",
  );
  const { privateKey: nodeKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });

  compare("secp256k1", [
    {
      operation: "verify",
      backend: "node:crypto, cached KeyObject — used",
      op: (i) => standard.verify(signer.publicKey, message(i), signatureOf(signatures, i)),
    },
    {
      operation: "verify",
      backend: "@noble/curves (SHA-256 by node:crypto)",
      op: (i) =>
        secp256k1.verify(
          signatureOf(signatures, i),
          digests[i % MESSAGE_COUNT] as Uint8Array,
          signer.publicKey,
          {
            prehash: false,
          },
        ),
    },
  ]);
  compare("secp256k1", [
    {
      operation: "sign",
      backend: "@noble/curves, RFC 6979 — used",
      op: (i) => signer.sign(message(i)),
    },
    {
      operation: "sign",
      backend: "node:crypto (random k, not Sawtooth-exact)",
      op: (i) => nodeSign("sha256", message(i), { key: nodeKey, dsaEncoding: "ieee-p1363" }),
      note: "reference only",
    },
  ]);
  compare("secp256k1", [
    {
      operation: "parse key",
      backend: "compressed point in DER SPKI — used",
      op: () => parseSecp256k1PublicKey(signer.publicKey),
    },
    {
      operation: "parse key",
      backend: "decompress, then uncompressed DER SPKI",
      op: () => {
        const point = ECDH.convertKey(
          signer.publicKey,
          "secp256k1",
          undefined,
          undefined,
          "uncompressed",
        );
        return createPublicKey({
          key: Buffer.concat([SPKI_PREFIX, point as Buffer]),
          format: "der",
          type: "spki",
        });
      },
    },
    {
      operation: "parse key",
      backend: "decompress, then JWK",
      op: () => {
        const point = ECDH.convertKey(
          signer.publicKey,
          "secp256k1",
          undefined,
          undefined,
          "uncompressed",
        ) as Buffer;
        const x = point.subarray(1, 33).toString("base64url");
        const y = point.subarray(33).toString("base64url");
        return createPublicKey({ key: { kty: "EC", crv: "secp256k1", x, y }, format: "jwk" });
      },
    },
  ]);
}

// --- SM2 -------------------------------------------------------------------------------------
{
  const native = loadGmNative();
  const signer = signerOf("sm2");
  const signatures = presign(signer);
  check(gm.verify(signer.publicKey, message(0), signatureOf(signatures, 0)), "sm2 signature");
  const uncompressed = ECDH.convertKey(
    signer.publicKey,
    "SM2",
    undefined,
    undefined,
    "uncompressed",
  ) as Buffer;
  const point = new Uint8Array(uncompressed);
  const handle = native.parsePublicKey(point);
  const za = sm2Za(point);
  const es = messages.map((m) => sm2Digest(za, m));
  const smPublicKey = toHex(point);
  check(
    smCrypto.doVerifySignature(message(0), toHex(signatureOf(signatures, 0)), smPublicKey, {
      hash: true,
    }),
    "sm-crypto-v2 verify",
  );

  compare("SM2", [
    {
      operation: "verify",
      backend: "gm suite (SM3 e + addon, cached key) — used",
      op: (i) => gm.verify(signer.publicKey, message(i), signatureOf(signatures, i)),
    },
    {
      operation: "verify",
      backend: "addon alone, e precomputed",
      op: (i) =>
        native.verifyDigest(
          handle,
          es[i % MESSAGE_COUNT] as Uint8Array,
          signatureOf(signatures, i),
        ),
    },
    {
      operation: "verify",
      backend: "sm-crypto-v2 (pure JS)",
      op: (i) =>
        smCrypto.doVerifySignature(message(i), toHex(signatureOf(signatures, i)), smPublicKey, {
          hash: true,
        }),
      note: "independent check only",
    },
  ]);
  compare("SM2", [
    {
      operation: "sign",
      backend: "gm suite (SM3 e + addon) — used",
      op: (i) => signer.sign(message(i)),
    },
    {
      operation: "parse key",
      backend: "decompress + addon key + Z_A — used",
      op: () => {
        const p = ECDH.convertKey(
          signer.publicKey,
          "SM2",
          undefined,
          undefined,
          "uncompressed",
        ) as Buffer;
        const u = new Uint8Array(p);
        return [native.parsePublicKey(u), sm2Za(u)];
      },
    },
  ]);
}

// --- Hashes ----------------------------------------------------------------------------------
compare("hash", [
  {
    operation: "1 KB",
    backend: "SHA-256, node:crypto (standard `hash`)",
    op: () => standard.hash(kilobyte),
  },
  {
    operation: "1 KB",
    backend: "SHA-512 hex, node:crypto (standard `payloadDigest`)",
    op: () => standard.payloadDigest(kilobyte),
  },
  { operation: "1 KB", backend: "SM3, node:crypto (gm `hash`)", op: () => gm.hash(kilobyte) },
]);

// --- Report ----------------------------------------------------------------------------------
const conditions = [
  `- Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores; one core used (single-threaded loop); load average at start ${loadAtStart}.`,
  `- Node ${process.version}, OpenSSL ${process.versions.openssl} (inside Node, also used by the SM2 addon), V8 ${process.versions.v8}.`,
  `- Date: ${new Date().toISOString().slice(0, 10)}. Method: median of ${ROUNDS} rounds of ${ROUND_MS} ms after a 200 ms warm-up; ${MESSAGE_COUNT} pre-signed ${MESSAGE_BYTES}-byte messages, cycled; one signer per algorithm, so key caches are warm.`,
];
const table = [
  "| algorithm | operation | backend | ops/s (one core) | note |",
  "|---|---|---|---:|---|",
  ...rows.map(
    (r) =>
      `| ${r.subject} | ${r.operation} | ${r.backend} | ${format(r.opsPerSecond)} | ${r.note} |`,
  ),
];
const section = ["<!-- bench:start -->", ...conditions, "", ...table, "<!-- bench:end -->"].join(
  "\n",
);

process.stdout.write(`\n${conditions.join("\n")}\n`);

if (!process.argv.includes("--print-only")) {
  const doc = new URL("../../../docs/benchmarks/crypto.md", import.meta.url);
  const before = existsSync(doc)
    ? readFileSync(doc, "utf8")
    : "# Crypto micro-benchmark\n\n<!-- bench:start -->\n<!-- bench:end -->\n";
  const updated = before.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, section);
  writeFileSync(doc, updated);
  process.stdout.write(`\nwrote ${doc.pathname}\n`);
}
