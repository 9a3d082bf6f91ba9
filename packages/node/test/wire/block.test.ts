/**
 * Blocks: building and signing, parsing with decoded `ConsensusFields`, and each block-level
 * fault with its code.
 */
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/common/bytes.js";
import {
  assembleParsedBlock,
  type Block,
  type BlockHeader,
  createBlock,
  createBlockHeader,
  decodeBlock,
  encodeBatch,
  encodeBlock,
  encodeBlockHeader,
  isWireValidationError,
  NULL_BLOCK_ID,
  parseBatch,
  parseBlock,
  verifyBlockSignatures,
  type WireErrorCode,
} from "../../src/wire/index.js";
import { fixedSigner, gm, signBatch, standard, validBatch } from "./fixtures.js";

const proposer = fixedSigner(standard, "ed25519", 7);
const client = fixedSigner(standard, "secp256k1", 8);
const batches = [validBatch(standard, client, 2, 1), validBatch(standard, client, 1, 2)];
const consensus = {
  engine: "pbft",
  timestampMs: 1_750_000_000_000n,
  data: new Uint8Array([1, 2, 3]),
};

function header(overrides: Partial<BlockHeader> = {}): BlockHeader {
  return {
    ...createBlockHeader({
      blockNum: 5n,
      previousBlockId: "e".repeat(128),
      signerPublicKey: proposer.publicKeyHex,
      batchIds: batches.map((b) => b.headerSignature),
      consensus,
      stateRootHash: "0".repeat(64),
    }),
    ...overrides,
  };
}

/** Signs a header as given, bypassing createBlock's checks. */
function signed(h: BlockHeader, blockBatches = batches): Block {
  const bytes = encodeBlockHeader(h);
  return { header: bytes, headerSignature: toHex(proposer.sign(bytes)), batches: blockBatches };
}

function codeOf(fn: () => unknown): WireErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (isWireValidationError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe("blocks", () => {
  it("build, encode and parse with decoded ConsensusFields and batch sizes from the input", () => {
    const block = createBlock(proposer, header(), batches);
    const bytes = encodeBlock(block);
    const parsed = parseBlock(bytes, { suite: standard });
    expect(parsed.id).toBe(block.headerSignature);
    expect(parsed.header.blockNum).toBe(5n);
    expect(parsed.consensus).toEqual(consensus);
    expect(parsed.batches.map((b) => b.id)).toEqual(batches.map((b) => b.headerSignature));
    expect(parsed.batches.map((b) => b.size)).toEqual(batches.map((b) => encodeBatch(b).length));
    expect(decodeBlock(bytes)).toEqual(block);
    expect(parseBlock(block, { suite: standard }).batches[0]?.size).toBe(parsed.batches[0]?.size);
  });

  it("accepts a genesis block whose previous id is NULL_BLOCK_ID", () => {
    const genesis = createBlock(
      proposer,
      header({ blockNum: 0n, previousBlockId: NULL_BLOCK_ID }),
      batches,
    );
    expect(parseBlock(genesis, { suite: standard }).header.previousBlockId).toBe(NULL_BLOCK_ID);
    expect(codeOf(() => createBlockHeader({ ...header(), consensus, blockNum: 0n }))).toBe(
      "INVALID_PREVIOUS_BLOCK_ID",
    );
  });

  it("rejects each block-level fault with its code", () => {
    const good = createBlock(proposer, header(), batches);
    expect(
      codeOf(() =>
        parseBlock(
          { ...good, headerSignature: good.headerSignature.toUpperCase() },
          { suite: standard },
        ),
      ),
    ).toBe("INVALID_BLOCK_ID");
    expect(
      codeOf(() => parseBlock(signed(header({ previousBlockId: "ab" })), { suite: standard })),
    ).toBe("INVALID_PREVIOUS_BLOCK_ID");
    expect(codeOf(() => parseBlock(signed(header({ blockNum: 0n })), { suite: standard }))).toBe(
      "INVALID_PREVIOUS_BLOCK_ID",
    );
    expect(
      codeOf(() =>
        parseBlock(signed(header({ stateRootHash: "0".repeat(63) })), { suite: standard }),
      ),
    ).toBe("INVALID_STATE_ROOT");
    expect(
      codeOf(() => parseBlock(signed(header({ signerPublicKey: "00" })), { suite: standard })),
    ).toBe("UNSUPPORTED_KEY");
    expect(
      codeOf(() => parseBlock(signed(header(), [...batches].reverse()), { suite: standard })),
    ).toBe("BATCH_IDS_MISMATCH");
    expect(codeOf(() => parseBlock(signed(header(), batches.slice(1)), { suite: standard }))).toBe(
      "BATCH_IDS_MISMATCH",
    );
    const [first] = batches;
    if (first === undefined) throw new Error("no batch");
    const twice = header({ batchIds: [first.headerSignature, first.headerSignature] });
    expect(codeOf(() => parseBlock(signed(twice, [first, first]), { suite: standard }))).toBe(
      "DUPLICATE_BATCH",
    );
    expect(
      codeOf(() =>
        parseBlock(signed(header({ consensus: new Uint8Array([0x0a, 0x09]) })), {
          suite: standard,
        }),
      ),
    ).toBe("UNDECODABLE");
    expect(
      codeOf(() => parseBlock({ ...good, header: new Uint8Array([0x08]) }, { suite: standard })),
    ).toBe("UNDECODABLE");
    // A transaction repeated in two batches of one block.
    const [tx] = first.transactions;
    if (tx === undefined) throw new Error("no transaction");
    const copy = signBatch(client, [tx]);
    const dupTx = header({ batchIds: [first.headerSignature, copy.headerSignature] });
    expect(codeOf(() => parseBlock(signed(dupTx, [first, copy]), { suite: standard }))).toBe(
      "DUPLICATE_TRANSACTION",
    );
  });

  it("verifies the block signature over the original header bytes, separably", () => {
    const good = createBlock(proposer, header(), batches);
    const forged = { ...good, headerSignature: toHex(client.sign(good.header)) };
    expect(codeOf(() => parseBlock(forged, { suite: standard }))).toBe("INVALID_BLOCK_SIGNATURE");
    const parsed = parseBlock(forged, { suite: standard, verifySignatures: false });
    expect(codeOf(() => verifyBlockSignatures(parsed, standard))).toBe("INVALID_BLOCK_SIGNATURE");
    const [first, ...rest] = batches;
    if (first === undefined) throw new Error("no batch");
    // The proposer's signature over the client's batch header: a valid signature by the wrong key.
    const withBad = [{ ...first, headerSignature: toHex(proposer.sign(first.header)) }, ...rest];
    const block = createBlock(
      proposer,
      header({ batchIds: withBad.map((b) => b.headerSignature) }),
      withBad,
    );
    expect(codeOf(() => parseBlock(block, { suite: standard }))).toBe("INVALID_BATCH_SIGNATURE");
  });

  it("assembles a block from batches parsed before, with the same result and header checks", () => {
    const block = createBlock(proposer, header(), batches);
    const parsedBatches = batches.map((b) => parseBatch(b, { suite: standard }));
    const assembled = assembleParsedBlock(block.header, block.headerSignature, parsedBatches, {
      suite: standard,
    });
    expect(assembled).toEqual(parseBlock(block, { suite: standard }));
    const assemble =
      (b: Block, parsed = parsedBatches) =>
      () =>
        assembleParsedBlock(b.header, b.headerSignature, parsed, { suite: standard });
    expect(codeOf(assemble({ ...block, headerSignature: "ab" }))).toBe("INVALID_BLOCK_ID");
    expect(codeOf(assemble(signed(header({ stateRootHash: "0" }))))).toBe("INVALID_STATE_ROOT");
    expect(codeOf(assemble(block, [...parsedBatches].reverse()))).toBe("BATCH_IDS_MISMATCH");
    expect(codeOf(assemble(block, parsedBatches.slice(1)))).toBe("BATCH_IDS_MISMATCH");
    const [first] = batches;
    const [tx] = first?.transactions ?? [];
    if (first === undefined || tx === undefined) throw new Error("no batch");
    const copy = signBatch(client, [tx]);
    const dupTx = signed(header({ batchIds: [first.headerSignature, copy.headerSignature] }));
    const both = [first, copy].map((b) => parseBatch(b, { suite: standard }));
    expect(codeOf(assemble(dupTx, both))).toBe("DUPLICATE_TRANSACTION");
  });

  it("createBlock checks the signer and the batches against the header", () => {
    expect(codeOf(() => createBlock(client, header(), batches))).toBe("UNSUPPORTED_KEY");
    expect(codeOf(() => createBlock(proposer, header(), batches.slice(1)))).toBe(
      "BATCH_IDS_MISMATCH",
    );
  });

  it("works with the gm suite", () => {
    const sm2 = fixedSigner(gm, "sm2", 9);
    const gmBatches = [validBatch(gm, sm2, 2)];
    const h = createBlockHeader({
      blockNum: 1n,
      previousBlockId: "1".repeat(128),
      signerPublicKey: sm2.publicKeyHex,
      batchIds: gmBatches.map((b) => b.headerSignature),
      consensus,
      stateRootHash: "2".repeat(64),
    });
    const parsed = parseBlock(encodeBlock(createBlock(sm2, h, gmBatches)), { suite: gm });
    expect(parsed.batches[0]?.transactions).toHaveLength(2);
  });
});
