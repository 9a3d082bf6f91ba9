/**
 * The node encoding is consensus-critical: these vectors are built by hand from the spec in
 * docs/adr/0003-merkle-state.md, not with the encoder, so a change to the format fails here.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import { createStateTree, stateHash } from "../../src/state/index.js";
import {
  childOrdinal,
  decodeNode,
  EMPTY_NODE_BYTES,
  encodeBranch,
  encodeLeaf,
  NodeKind,
  rewriteBranch,
} from "../../src/state/node-codec.js";
import { createMemoryStore } from "../../src/storage/memory-store.js";

const sha256 = (hex: string): string =>
  createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
const zeros = (n: number): string => "0".repeat(n);

function tree(radix: 16 | 256 = 16) {
  const store = createMemoryStore();
  return {
    store,
    tree: createStateTree({ store, hash: stateHash("sha256"), hashName: "sha256", radix }),
  };
}

function expectInvalidNode(hex: string): void {
  let caught: unknown;
  try {
    decodeNode(new Uint8Array(Buffer.from(hex, "hex")));
  } catch (err) {
    caught = err;
  }
  expect(
    isGovchainError(caught, "INVALID_STATE_NODE"),
    `expected ${hex.slice(0, 20)}… to be rejected`,
  ).toBe(true);
}

describe("node encoding vectors", () => {
  const x = `ab${zeros(68)}`;
  const y = `ab1${zeros(67)}`;
  const leafX = `01${x}01`;
  const leafY = `01${y}0202`;

  it("the empty root is the hash of the single byte 00", async () => {
    const { store, tree: t } = tree();
    await store.open();
    expect(toHexString(EMPTY_NODE_BYTES)).toBe("00");
    expect(t.emptyRoot).toBe(sha256("00"));
    expect(t.emptyRoot).toBe("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    const sm3 = createStateTree({ store, hash: stateHash("sm3"), hashName: "sm3" });
    expect(sm3.emptyRoot).toBe(createHash("sm3").update(Buffer.of(0)).digest("hex"));
  });

  it("a single leaf is the root: 01 ‖ address ‖ value", async () => {
    const { store, tree: t } = tree();
    await store.open();
    const update = await t.update(t.emptyRoot, [[x, Uint8Array.of(1)]]);
    expect(update.root).toBe(sha256(leafX));
    expect(update.operations).toHaveLength(1);
    const op = update.operations[0];
    expect(op?.type).toBe("put");
    expect(toHexString(op?.key ?? new Uint8Array())).toBe(`02${sha256(leafX)}`);
    expect(op?.type === "put" ? toHexString(op.value) : "").toBe(leafX);
  });

  it("a 16-ary branch: 02 ‖ n ‖ prefix ‖ 2-byte bitmap ‖ child hashes", async () => {
    const { store, tree: t } = tree(16);
    await store.open();
    const update = await t.update(t.emptyRoot, [
      [y, Uint8Array.of(2, 2)],
      [x, Uint8Array.of(1)],
    ]);
    // prefix "ab" (2 nibbles); slots 0 (x) and 1 (y): bits 0x80 and 0x40 of the first byte.
    const branch = `0202abc000${sha256(leafX)}${sha256(leafY)}`;
    expect(update.root).toBe(sha256(branch));
  });

  it("an odd prefix is padded with a zero nibble", async () => {
    const { store, tree: t } = tree(16);
    await store.open();
    const a = `abc${zeros(67)}`;
    const b = `abc5${zeros(66)}`;
    const update = await t.update(t.emptyRoot, [
      [a, new Uint8Array()],
      [b, new Uint8Array()],
    ]);
    // slots 0 and 5: 0x80 and 0x04 of the first bitmap byte.
    const branch = `0203abc08400${sha256(`01${a}`)}${sha256(`01${b}`)}`;
    expect(update.root).toBe(sha256(branch));
  });

  it("a 256-ary branch: 03 ‖ n ‖ prefix ‖ 32-byte bitmap ‖ child hashes", async () => {
    const { store, tree: t } = tree(256);
    await store.open();
    const update = await t.update(t.emptyRoot, [
      [x, Uint8Array.of(1)],
      [y, Uint8Array.of(2, 2)],
    ]);
    // prefix "ab" (2 nibbles, one byte); slots 0x00 and 0x10: bit 0x80 of bytes 0 and 2.
    const bitmap = `80008000${zeros(56)}`;
    const branch = `0302ab${bitmap}${sha256(leafX)}${sha256(leafY)}`;
    expect(update.root).toBe(sha256(branch));
  });
});

describe("decodeNode", () => {
  const address = `12${zeros(68)}`;
  const h = "11".repeat(32);

  it("round-trips what the encoder makes, and rewrites branches in place", () => {
    const decodedLeaf = decodeNode(encodeLeaf(address, Uint8Array.of(9, 8)));
    expect(decodedLeaf.kind).toBe(NodeKind.LEAF);
    if (decodedLeaf.kind !== NodeKind.LEAF) return;
    expect(decodedLeaf.address).toBe(address);
    expect([...decodedLeaf.value]).toEqual([9, 8]);

    const hashes = [0, 1, 2, 3].map((i) => new Uint8Array(32).fill(i));
    const [h0, h1, h2, h3] = hashes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    for (const radix of [16, 256] as const) {
      const prefix = radix === 16 ? "7" : "7a";
      const slots = radix === 16 ? [0, 9, 15] : [0, 9, 200];
      const branch = encodeBranch(radix, prefix, slots, [h0, h1, h2]);
      const decoded = decodeNode(branch);
      expect(decoded.kind).toBe(radix === 16 ? NodeKind.BRANCH_16 : NodeKind.BRANCH_256);
      if (decoded.kind !== NodeKind.BRANCH_16 && decoded.kind !== NodeKind.BRANCH_256) return;
      expect(decoded.prefix).toBe(prefix);
      expect([...decoded.slots]).toEqual(slots);
      expect(slots.map((slot) => childOrdinal(branch, slot))).toEqual([0, 1, 2]);
      expect(childOrdinal(branch, 1)).toBe(-1);

      // Add slot 1, drop the middle child, replace the last; a removal-only and an add-only too.
      const last = slots[2] ?? 0;
      const rewritten = rewriteBranch(branch, [1, slots[1] ?? 0, last], [h3, null, h0]);
      expect(toHexString(rewritten)).toBe(
        toHexString(encodeBranch(radix, prefix, [0, 1, last], [h0, h3, h0])),
      );
      expect(toHexString(rewriteBranch(branch, [0], [null]))).toBe(
        toHexString(encodeBranch(radix, prefix, slots.slice(1), [h1, h2])),
      );
      expect(toHexString(rewriteBranch(branch, [4, 5], [h3, h3]))).toBe(
        toHexString(
          encodeBranch(radix, prefix, [0, 4, 5, ...slots.slice(1)], [h0, h3, h3, h1, h2]),
        ),
      );
    }
  });

  it("rejects every non-canonical or malformed encoding", () => {
    expectInvalidNode("");
    expectInvalidNode("0000");
    expectInvalidNode(`01${zeros(68)}`); // leaf shorter than its address
    expectInvalidNode("04"); // unknown kind
    expectInvalidNode("02"); // no prefix length
    expectInvalidNode(`0200${"8000"}${h}`); // one child
    expectInvalidNode(`0200c000${h}`); // bitmap says two, one hash present
    expectInvalidNode(`0200c000${h}${h}00`); // trailing byte
    expectInvalidNode(`0201abc000${h}${h}`); // odd prefix with a non-zero pad nibble
    expectInvalidNode(`0246${zeros(70)}c000${h}${h}`); // prefix of 70 nibbles leaves no digit
    expectInvalidNode(`0301a0${"c0"}${zeros(62)}${h}${h}`); // radix 256 with an odd prefix
    expectInvalidNode(`0346${zeros(70)}c0${zeros(62)}${h}${h}`); // radix 256, a 70-nibble prefix
    // …while the same shapes, made canonical, decode.
    expect(decodeNode(new Uint8Array(Buffer.from(`0201a0c000${h}${h}`, "hex"))).kind).toBe(
      NodeKind.BRANCH_16,
    );
    expect(
      decodeNode(new Uint8Array(Buffer.from(`0302a0c0${zeros(62)}${h}${h}`, "hex"))).kind,
    ).toBe(NodeKind.BRANCH_256);
  });
});

function toHexString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
