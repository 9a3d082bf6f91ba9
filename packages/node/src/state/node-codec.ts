/**
 * The node encoding of the Merkle radix state tree (specified in docs/adr/0003-merkle-state.md).
 * A node's hash is the chain hash of exactly these bytes, and the store keeps exactly these
 * bytes, so this file is the consensus-critical format: changing a byte here forks the chain.
 *
 * Every node names its absolute position (a leaf its full address, a branch its full prefix),
 * so a node never changes when path compression moves it up or down: a delete that collapses
 * a branch re-uses the surviving child as it is. The decoder accepts only canonical bytes,
 * so one state has one encoding and one root.
 *
 * Self-contained apart from the error class, so the standalone proof verifier can use it.
 */
import { GovchainError } from "../common/errors.js";
import { StateErrorCode } from "./errors.js";

/** The first byte of every node. */
export const NodeKind = {
  /** The empty tree; only ever a root, never stored, never a child. */
  EMPTY: 0x00,
  /** One address and its value. */
  LEAF: 0x01,
  /** A branch over one hex digit (nibble): 16 slots. */
  BRANCH_16: 0x02,
  /** A branch over one byte: 256 slots. */
  BRANCH_256: 0x03,
} as const;

/** Number of children a branch can have; fixed per chain. */
export type Radix = 16 | 256;

/** Bytes in a node hash. */
export const HASH_BYTES = 32;

/** Bytes in an address. */
const ADDRESS_BYTES = 35;

/** Hex characters in an address. */
const ADDRESS_HEX = ADDRESS_BYTES * 2;

/** Offset of the value in a leaf: kind byte + address. */
const LEAF_VALUE_OFFSET = 1 + ADDRESS_BYTES;

/** The encoding of the empty tree; its hash is the empty root. */
export const EMPTY_NODE_BYTES: Uint8Array = Uint8Array.of(NodeKind.EMPTY);

/** The empty tree. */
export interface EmptyNode {
  readonly kind: typeof NodeKind.EMPTY;
  readonly bytes: Uint8Array;
}

/** A leaf: `0x01 ‖ address (35 bytes) ‖ value`. */
export interface LeafNode {
  readonly kind: typeof NodeKind.LEAF;
  /** The node's encoding. */
  readonly bytes: Uint8Array;
  /** Lower-case hex of the 35-byte address. */
  readonly address: string;
  /** A view of the value inside `bytes`; copy before handing it out. */
  readonly value: Uint8Array;
}

/**
 * A branch: `kind ‖ n ‖ prefix (⌈n/2⌉ bytes) ‖ bitmap (radix/8 bytes) ‖ child hashes`.
 * Every address below it starts with `prefix`; child slot `s` holds the addresses whose digit
 * right after the prefix is `s`.
 */
export interface BranchNode {
  readonly kind: typeof NodeKind.BRANCH_16 | typeof NodeKind.BRANCH_256;
  /** The node's encoding. */
  readonly bytes: Uint8Array;
  readonly radix: Radix;
  /** Lower-case hex of the prefix, `n` nibbles (even for radix 256). */
  readonly prefix: string;
  /** Occupied slots in ascending order; child `i`'s hash is the `i`-th in `bytes`. */
  readonly slots: Uint8Array;
  /** Offset in `bytes` of the first child hash. */
  readonly childOffset: number;
}

/** Any decoded node. */
export type StateNode = EmptyNode | LeafNode | BranchNode;

/** The empty tree as a decoded node. */
export const EMPTY_NODE: EmptyNode = { kind: NodeKind.EMPTY, bytes: EMPTY_NODE_BYTES };

// Hex digit values by char code; -1 marks a non-hex character.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = 10 + i;
const HEX_CHARS = "0123456789abcdef";

/** Hex characters per digit of a radix: one nibble or one byte. */
export function digitWidth(radix: Radix): 1 | 2 {
  return radix === 16 ? 1 : 2;
}

/** The digit of hex string `s` that starts at character `pos` (lower-case hex assumed). */
export function digitAt(radix: Radix, s: string, pos: number): number {
  const high = HEX_VALUE[s.charCodeAt(pos)] ?? 0;
  return radix === 16 ? high : high * 16 + (HEX_VALUE[s.charCodeAt(pos + 1)] ?? 0);
}

/** Hex characters of slot `slot`. */
export function slotHex(radix: Radix, slot: number): string {
  const low = HEX_CHARS[slot & 15] ?? "0";
  return radix === 16 ? low : (HEX_CHARS[slot >> 4] ?? "0") + low;
}

/** The longest prefix length (in nibbles) a branch can have: it must split on one more digit. */
function maxPrefix(radix: Radix): number {
  return ADDRESS_HEX - digitWidth(radix);
}

/**
 * Hands out zero-filled bytes for a new node. The tree passes a slab allocator: a fresh
 * ArrayBuffer per node costs ~10× a view of a shared one, and a block creates thousands.
 */
export type Allocate<T extends Uint8Array = Uint8Array> = (length: number) => T;

const allocateFresh: Allocate = (length) => new Uint8Array(length);

// Set bits per byte value, for ranking a child in the bitmap.
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + (POPCOUNT[i >> 1] ?? 0);

/** Writes lower-case hex `hex` (even length, validated by the caller) at `offset`. */
function writeHex(bytes: Uint8Array, offset: number, hex: string): void {
  for (let i = 0, j = offset; i < hex.length; i += 2, j++) {
    bytes[j] = ((HEX_VALUE[hex.charCodeAt(i)] ?? 0) << 4) | (HEX_VALUE[hex.charCodeAt(i + 1)] ?? 0);
  }
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The encoding of a leaf for `address` (validated by the caller) holding `value`. */
export function encodeLeaf<T extends Uint8Array = Uint8Array>(
  address: string,
  value: Uint8Array,
  allocate: Allocate<T> = allocateFresh as Allocate<T>,
): T {
  const bytes = allocate(LEAF_VALUE_OFFSET + value.length);
  bytes[0] = NodeKind.LEAF;
  writeHex(bytes, 1, address);
  bytes.set(value, LEAF_VALUE_OFFSET);
  return bytes;
}

/** Marks `slot` occupied in the bitmap at `bitmap`: slot 0 is the most significant bit. */
function setBit(bytes: Uint8Array, bitmap: number, slot: number): void {
  const at = bitmap + (slot >> 3);
  bytes[at] = (bytes[at] ?? 0) | (0x80 >> (slot & 7));
}

/**
 * The encoding of a branch. `slots` ascend, `hashes` are the children's hashes in the same
 * order, and there are at least two; the caller guarantees canonical form (the prefix is the
 * longest common prefix of everything below).
 */
export function encodeBranch<T extends Uint8Array = Uint8Array>(
  radix: Radix,
  prefix: string,
  slots: readonly number[],
  hashes: readonly Uint8Array[],
  allocate: Allocate<T> = allocateFresh as Allocate<T>,
): T {
  const n = prefix.length;
  const packed = (n + 1) >> 1;
  const bitmap = 2 + packed;
  const childOffset = bitmap + radix / 8;
  const bytes = allocate(childOffset + slots.length * HASH_BYTES);
  bytes[0] = radix === 16 ? NodeKind.BRANCH_16 : NodeKind.BRANCH_256;
  bytes[1] = n;
  if (n > 0) writeHex(bytes, 2, n & 1 ? `${prefix}0` : prefix);
  for (let i = 0; i < slots.length; i++) {
    setBit(bytes, bitmap, slots[i] ?? 0);
    bytes.set(hashes[i] ?? EMPTY_NODE_BYTES, childOffset + i * HASH_BYTES);
  }
  return bytes;
}

/** Offset of a branch's bitmap. */
function bitmapOffset(bytes: Uint8Array): number {
  return 2 + (((bytes[1] ?? 0) + 1) >> 1);
}

/** Offset of a branch's first child hash. */
export function childOffsetOf(bytes: Uint8Array): number {
  return bitmapOffset(bytes) + (bytes[0] === NodeKind.BRANCH_16 ? 2 : 32);
}

/** Number of children of a branch. */
export function childCount(bytes: Uint8Array): number {
  return (bytes.length - childOffsetOf(bytes)) / HASH_BYTES;
}

/** Prefix length of a branch, in nibbles. */
export function prefixLength(bytes: Uint8Array): number {
  return bytes[1] ?? 0;
}

/** Nibble `i` of a branch's prefix. */
function prefixNibble(bytes: Uint8Array, i: number): number {
  const byte = bytes[2 + (i >> 1)] ?? 0;
  return i & 1 ? byte & 15 : byte >> 4;
}

/** The digit of a branch's prefix that starts at nibble `at`. */
export function prefixDigit(bytes: Uint8Array, radix: Radix, at: number): number {
  return radix === 16
    ? prefixNibble(bytes, at)
    : (prefixNibble(bytes, at) << 4) | prefixNibble(bytes, at + 1);
}

/** How many leading nibbles a branch's prefix shares with hex `address`, at most the prefix. */
export function prefixCommon(bytes: Uint8Array, address: string): number {
  const n = bytes[1] ?? 0;
  let i = 0;
  while (i < n && prefixNibble(bytes, i) === HEX_VALUE[address.charCodeAt(i)]) i++;
  return i;
}

/**
 * Where hex `address` lies relative to a branch's subtree: negative before every address
 * under the prefix, 0 under it, positive after.
 */
export function comparePrefix(bytes: Uint8Array, address: string): number {
  const n = bytes[1] ?? 0;
  for (let i = 0; i < n; i++) {
    const d = (HEX_VALUE[address.charCodeAt(i)] ?? 0) - prefixNibble(bytes, i);
    if (d !== 0) return d;
  }
  return 0;
}

/** Ordinal of `slot` among a branch's children, or -1 when the slot is empty. */
export function childOrdinal(bytes: Uint8Array, slot: number): number {
  const bitmap = bitmapOffset(bytes);
  const byteIndex = slot >> 3;
  const byte = bytes[bitmap + byteIndex] ?? 0;
  const bit = 0x80 >> (slot & 7);
  if ((byte & bit) === 0) return -1;
  let rank = POPCOUNT[byte & ~((bit << 1) - 1) & 0xff] ?? 0;
  for (let i = 0; i < byteIndex; i++) rank += POPCOUNT[bytes[bitmap + i] ?? 0] ?? 0;
  return rank;
}

/**
 * A branch with some children replaced, added (`hash`) or removed (`null`); `modSlots` ascend.
 * Unchanged runs of child hashes are copied in one move each, which is what keeps rewriting
 * a full 256-slot branch cheap. The result must keep at least two children.
 */
export function rewriteBranch<T extends Uint8Array = Uint8Array>(
  old: Uint8Array,
  modSlots: readonly number[],
  modHashes: readonly (Uint8Array | null)[],
  allocate: Allocate<T> = allocateFresh as Allocate<T>,
): T {
  const bitmap = bitmapOffset(old);
  const bitmapBytes = old[0] === NodeKind.BRANCH_16 ? 2 : 32;
  const childOffset = bitmap + bitmapBytes;
  let oldCount = 0;
  for (let i = 0; i < bitmapBytes; i++) {
    const byte = old[bitmap + i] ?? 0;
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++)
      if (byte & (0x80 >> bit)) scratchOld[oldCount++] = i * 8 + bit;
  }
  // The merged child list: each slot with its source, >= 0 an old ordinal, < 0 a
  // modification (-1 - index).
  let count = 0;
  let i = 0;
  let j = 0;
  while (i < oldCount || j < modSlots.length) {
    const a = i < oldCount ? (scratchOld[i] ?? 0) : 1024;
    const b = j < modSlots.length ? (modSlots[j] ?? 0) : 1024;
    if (a < b) {
      scratchSlots[count] = a;
      scratchSources[count++] = i++;
    } else {
      if (modHashes[j] != null) {
        scratchSlots[count] = b;
        scratchSources[count++] = -1 - j;
      }
      if (a === b) i++;
      j++;
    }
  }
  const bytes = allocate(childOffset + count * HASH_BYTES);
  copyBytes(old, 0, bytes, 0, bitmap);
  // A run of old children that stay adjacent: copied with one `set`.
  let runTo = 0;
  let runFrom = 0;
  let runLength = 0;
  for (let k = 0; k < count; k++) {
    setBit(bytes, bitmap, scratchSlots[k] ?? 0);
    const src = scratchSources[k] ?? 0;
    if (src >= 0 && runLength > 0 && runFrom + runLength === src) {
      runLength++;
      continue;
    }
    if (runLength > 0)
      copyChildren(old, childOffset, runFrom, runLength, bytes, childOffset + runTo * HASH_BYTES);
    if (src >= 0) {
      runTo = k;
      runFrom = src;
      runLength = 1;
    } else {
      runLength = 0;
      bytes.set(modHashes[-1 - src] ?? EMPTY_NODE_BYTES, childOffset + k * HASH_BYTES);
    }
  }
  if (runLength > 0)
    copyChildren(old, childOffset, runFrom, runLength, bytes, childOffset + runTo * HASH_BYTES);
  return bytes;
}

// Scratch for `rewriteBranch`, which runs synchronously and never re-enters itself.
const scratchOld = new Int32Array(256);
const scratchSlots = new Int32Array(256);
const scratchSources = new Int32Array(256);

function copyChildren(
  old: Uint8Array,
  childOffset: number,
  from: number,
  count: number,
  into: Uint8Array,
  at: number,
): void {
  copyBytes(old, childOffset + from * HASH_BYTES, into, at, count * HASH_BYTES);
}

/** Copies `length` bytes; short copies in a loop, since `set` needs a view object per call. */
function copyBytes(
  from: Uint8Array,
  start: number,
  to: Uint8Array,
  at: number,
  length: number,
): void {
  if (length > 96) {
    to.set(from.subarray(start, start + length), at);
    return;
  }
  for (let i = 0; i < length; i++) to[at + i] = from[start + i] ?? 0;
}

/** True when the leaf encoding `leaf` is for hex `address` (compared without decoding). */
export function leafHasAddress(leaf: Uint8Array, address: string): boolean {
  for (let i = 0, j = 1; i < address.length; i += 2, j++) {
    const byte =
      ((HEX_VALUE[address.charCodeAt(i)] ?? 0) << 4) | (HEX_VALUE[address.charCodeAt(i + 1)] ?? 0);
    if (leaf[j] !== byte) return false;
  }
  return true;
}

/** Ordinal of `slot` among the decoded branch's children, or -1 when the slot is empty. */
export function childIndex(node: BranchNode, slot: number): number {
  return childOrdinal(node.bytes, slot);
}

/** A view of the hash of the decoded branch's `ordinal`-th child. */
export function childHash(node: BranchNode, ordinal: number): Uint8Array {
  const from = node.childOffset + ordinal * HASH_BYTES;
  return node.bytes.subarray(from, from + HASH_BYTES);
}

function invalid(reason: string, context: Record<string, unknown> = {}): GovchainError {
  return new GovchainError(
    StateErrorCode.INVALID_STATE_NODE,
    `invalid state node: ${reason}`,
    context,
  );
}

/**
 * Decodes a node, accepting only its canonical encoding (throws `INVALID_STATE_NODE`).
 * The result's views share memory with `bytes`; do not mutate `bytes` afterwards.
 */
export function decodeNode(bytes: Uint8Array): StateNode {
  // A Buffer's `slice` does not copy; normalising to a plain view keeps `value.slice()` a copy.
  const b = Buffer.isBuffer(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : bytes;
  const kind = b[0];
  switch (kind) {
    case NodeKind.EMPTY:
      if (b.length !== 1) throw invalid("an empty node is one byte");
      return EMPTY_NODE;
    case NodeKind.LEAF: {
      if (b.length < LEAF_VALUE_OFFSET)
        throw invalid("a leaf is shorter than its address", { length: b.length });
      const address = view(b).toString("hex", 1, LEAF_VALUE_OFFSET);
      return { kind, bytes: b, address, value: b.subarray(LEAF_VALUE_OFFSET) };
    }
    case NodeKind.BRANCH_16:
    case NodeKind.BRANCH_256:
      return decodeBranch(b, kind);
    default:
      throw invalid("unknown node kind", { kind });
  }
}

function decodeBranch(
  b: Uint8Array,
  kind: typeof NodeKind.BRANCH_16 | typeof NodeKind.BRANCH_256,
): BranchNode {
  const radix: Radix = kind === NodeKind.BRANCH_16 ? 16 : 256;
  if (b.length < 2) throw invalid("a branch has no prefix length");
  const n = b[1] ?? 0;
  if (n > maxPrefix(radix) || (radix === 256 && n % 2 !== 0)) {
    throw invalid("branch prefix length out of range", { radix, length: n });
  }
  const packed = (n + 1) >> 1;
  const bitmap = 2 + packed;
  const childOffset = bitmap + radix / 8;
  if (b.length < childOffset)
    throw invalid("a branch is shorter than its bitmap", { length: b.length });
  if (n & 1 && ((b[bitmap - 1] ?? 0) & 0x0f) !== 0)
    throw invalid("the unused prefix nibble is not zero");
  const found: number[] = [];
  for (let i = 0; i < radix / 8; i++) {
    const byte = b[bitmap + i] ?? 0;
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) found.push(i * 8 + bit);
  }
  if (found.length < 2)
    throw invalid("a branch has fewer than two children", { children: found.length });
  if (b.length !== childOffset + found.length * HASH_BYTES) {
    throw invalid("branch length does not match its bitmap", {
      length: b.length,
      children: found.length,
    });
  }
  const prefixHex = n === 0 ? "" : view(b).toString("hex", 2, bitmap);
  const prefix = n & 1 ? prefixHex.slice(0, n) : prefixHex;
  return { kind, bytes: b, radix, prefix, slots: Uint8Array.from(found), childOffset };
}
