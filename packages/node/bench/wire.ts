/**
 * Benchmark of the wire layer's admission path, per transaction: decoding a `BatchList`, then
 * decoding plus structural validation (`verifySignatures: false`, which includes the payload
 * digest), then full validation with signatures, for each suite and signature algorithm.
 * Run: `npx tsx packages/node/bench/wire.ts [transactionsPerBatch] [batches]`.
 * A benchmark, not a test: it reports numbers and asserts nothing.
 */
import { utf8 } from "../src/common/bytes.js";
import { systemClock } from "../src/common/clock.js";
import { createSeededRandom } from "../src/common/random.js";
import { getSuite } from "../src/crypto/index.js";
import type { CryptoSuite, SignatureAlgorithm } from "../src/crypto/interface.js";
import {
  createBatch,
  createTransaction,
  decodeBatchList,
  encodeBatchList,
  parseBatchList,
} from "../src/wire/index.js";

const txPerBatch = Number(process.argv[2] ?? 100);
const batchCount = Number(process.argv[3] ?? 10);
const txCount = txPerBatch * batchCount;

/** A batch list of intkey-like transactions (one signer per batch, 32-byte-ish payloads). */
function buildList(suite: CryptoSuite, algorithm: SignatureAlgorithm): Uint8Array {
  const random = createSeededRandom(1);
  const batches = Array.from({ length: batchCount }, (_, b) => {
    const signer = suite.createSigner(suite.generateKey(algorithm));
    const txs = Array.from({ length: txPerBatch }, (_, i) =>
      createTransaction(
        signer,
        {
          familyName: "intkey",
          familyVersion: "1.0",
          inputs: ["1cf126"],
          outputs: ["1cf126"],
          payload: utf8(`{"Verb":"set","Name":"k${b}-${i}","Value":${i}}`),
          random,
        },
        suite,
      ),
    );
    return createBatch(signer, txs);
  });
  return encodeBatchList(batches);
}

/** Median microseconds per transaction of `fn` over `rounds` timed runs after a warm-up. */
function measure(fn: () => void, rounds: number): number {
  fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = systemClock.monotonic();
    fn();
    samples.push(((systemClock.monotonic() - start) * 1000) / txCount);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

const configs: [CryptoSuite, SignatureAlgorithm][] = [
  [getSuite("standard"), "ed25519"],
  [getSuite("standard"), "secp256k1"],
  [getSuite("gm"), "sm2"],
];

const rows: string[] = [];
for (const [suite, algorithm] of configs) {
  const bytes = buildList(suite, algorithm);
  const decode = measure(() => void decodeBatchList(bytes), 15);
  const structure = measure(
    () => void parseBatchList(bytes, { suite, verifySignatures: false }),
    15,
  );
  const full = measure(() => void parseBatchList(bytes, { suite }), 5);
  rows.push(
    `| ${suite.id} | ${algorithm} | ${bytes.length} | ${decode.toFixed(2)} | ${structure.toFixed(2)} | ${full.toFixed(1)} | ${Math.round(1e6 / full)} |`,
  );
}

process.stdout.write(
  [
    `wire: ${batchCount} batches × ${txPerBatch} transactions, Node ${process.version}, median µs per transaction`,
    "",
    "| suite | algorithm | list bytes | decode | decode + structure | + signatures | tx/s (1 core) |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...rows,
    "",
  ].join("\n"),
);
