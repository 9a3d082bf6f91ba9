/**
 * Decoder fuzzing with fast-check: random bytes and mutations of valid encodings must never make
 * a decoder or validator throw anything but a `GovchainError` (no TypeError, RangeError or
 * stack overflow escapes). The seed is fixed for reproducible CI runs; set `WIRE_FUZZ_SEED` to
 * explore others (fast-check prints the failing seed and path).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GovchainError } from "../../src/common/errors.js";
import {
  createBlock,
  createBlockHeader,
  decodeBatch,
  decodeBatchHeader,
  decodeBatchList,
  decodeBlock,
  decodeBlockHeader,
  decodeConsensusFields,
  decodeEventList,
  decodeSetting,
  decodeSettingCandidates,
  decodeSettingsPayload,
  decodeSettingVote,
  decodeStateChangeList,
  decodeTransactionHeader,
  decodeTransactionList,
  decodeTransactionReceipt,
  encodeBatchList,
  encodeBlock,
  parseBatch,
  parseBatchList,
  parseBlock,
} from "../../src/wire/index.js";
import { fixedSigner, standard, validBatch } from "./fixtures.js";

const seed = Number(process.env.WIRE_FUZZ_SEED ?? 20_240_901);
const numRuns = Number(process.env.WIRE_FUZZ_RUNS ?? 1500);

/** Runs `fn`; passes when it returns or throws a GovchainError. */
function onlyGovchainErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof GovchainError) return true;
    throw err;
  }
}

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ["TransactionHeader", decodeTransactionHeader],
  ["TransactionList", decodeTransactionList],
  ["BatchHeader", decodeBatchHeader],
  ["Batch", decodeBatch],
  ["BatchList", decodeBatchList],
  ["BlockHeader", decodeBlockHeader],
  ["Block", decodeBlock],
  ["ConsensusFields", decodeConsensusFields],
  ["TransactionReceipt", decodeTransactionReceipt],
  ["StateChangeList", decodeStateChangeList],
  ["EventList", decodeEventList],
  ["Setting", decodeSetting],
  ["SettingsPayload", decodeSettingsPayload],
  ["SettingVote", decodeSettingVote],
  ["SettingCandidates", decodeSettingCandidates],
];

const signer = fixedSigner(standard, "ed25519", 5);
const batches = [validBatch(standard, signer, 2, 1), validBatch(standard, signer, 1, 2)];
const validList = encodeBatchList(batches);
const validBlock = encodeBlock(
  createBlock(
    signer,
    createBlockHeader({
      blockNum: 3n,
      previousBlockId: "a".repeat(128),
      signerPublicKey: signer.publicKeyHex,
      batchIds: batches.map((b) => b.headerSignature),
      consensus: { engine: "pbft", timestampMs: 1n, data: new Uint8Array([1]) },
      stateRootHash: "b".repeat(64),
    }),
    batches,
  ),
);

/** A mutation of `base`: flipped, overwritten, inserted or deleted bytes, or a truncation. */
function mutated(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({
      kind: fc.constant("flip" as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({
      kind: fc.constant("set" as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let bytes = Array.from(base);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === "flip") bytes[at] = (bytes[at] ?? 0) ^ (1 << e.bit);
      else if (e.kind === "set") bytes[at] = e.value;
      else if (e.kind === "insert") bytes.splice(at, 0, e.value);
      else if (e.kind === "delete") bytes.splice(at, 1);
      else bytes = bytes.slice(0, at);
    }
    return new Uint8Array(bytes);
  });
}

describe("decoder fuzzing", () => {
  it("random bytes: every decoder throws only GovchainErrors", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) =>
        decoders.every(([, decode]) => onlyGovchainErrors(() => decode(bytes))),
      ),
      { seed, numRuns },
    );
  });

  it("random bytes: parseBatchList, parseBatch and parseBlock throw only GovchainErrors", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) =>
        [parseBatchList, parseBatch, parseBlock].every((parse) =>
          onlyGovchainErrors(() => parse(bytes, { suite: standard })),
        ),
      ),
      { seed, numRuns },
    );
  });

  it("mutated valid batch lists and blocks: validation throws only GovchainErrors", () => {
    expect(parseBatchList(validList, { suite: standard })).toHaveLength(2);
    fc.assert(
      fc.property(mutated(validList), (bytes) =>
        onlyGovchainErrors(() => parseBatchList(bytes, { suite: standard })),
      ),
      { seed, numRuns },
    );
    fc.assert(
      fc.property(mutated(validBlock), (bytes) =>
        onlyGovchainErrors(() => parseBlock(bytes, { suite: standard })),
      ),
      { seed, numRuns },
    );
  });

  it("mutated encodings never validate with a changed signed header", () => {
    // A mutation that still validates must have left every signed header byte unchanged.
    const headers = batches
      .flatMap((b) => [b.header, ...b.transactions.map((t) => t.header)])
      .map((h) => Buffer.from(h).toString("hex"));
    fc.assert(
      fc.property(mutated(validList), (bytes) => {
        let parsed: ReturnType<typeof parseBatchList>;
        try {
          parsed = parseBatchList(bytes, { suite: standard });
        } catch (err) {
          if (err instanceof GovchainError) return true;
          throw err;
        }
        const seen = parsed
          .flatMap((b) => [b.raw.header, ...b.transactions.map((t) => t.raw.header)])
          .map((h) => Buffer.from(h).toString("hex"));
        return seen.every((h) => headers.includes(h));
      }),
      { seed, numRuns },
    );
  });

  it("deeply nested unknown groups do not overflow the stack", () => {
    const depth = 100_000;
    const bytes = new Uint8Array(depth * 2);
    bytes.fill(0x5b, 0, depth); // field 11, wire type 3 (start group), repeated
    bytes.fill(0x5c, depth); // matching end groups
    for (const [, decode] of decoders) expect(onlyGovchainErrors(() => decode(bytes))).toBe(true);
  });
});
