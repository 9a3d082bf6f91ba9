/**
 * Where the state tree keeps nodes in memory (ADR 0003, "Update"): node encodings live in
 * shared slabs (`SlabRegistry`), and `NodeTable`s map a node's 32-byte hash to its place in a
 * slab (slab id, offset, length), as integers in one Int32Array.
 *
 * Why not a `Map` of `Uint8Array`s: a Map needs a key object, so every lookup first built a
 * string from the hash bytes in the parent node, then followed pointers through the Map's
 * bucket, entry, key string and value object; at ~500k entries each is a cache miss. And every
 * cached node was a JS object the garbage collector copied and marked. Here a lookup reads the
 * key straight from the bytes that hold it (a parent's child slot, a store key), compares it in
 * one 48-byte slot, allocates nothing, and the tables hold no JS objects per node at all. The
 * native rebuild (`merkleRebuild` in @govchain/gm-native) probes the same tables.
 *
 * Open addressing with linear probing, at most half full; no deletion (the tree drops whole
 * tables instead). The slot comes from the key's first 4 bytes mixed with a random per-process
 * seed, so crafted nodes cannot aim their hashes at one run of slots.
 *
 * The layout is an interface with the native code: 12 int32 words per slot, `2^(32 - shift)`
 * slots; words 0–7 the key as little-endian words, word 8 the slab id + 1 (0 marks an empty
 * slot), word 9 the offset, word 10 the length; slot = `imul(word0 ^ seed, 0x9e3779b1) >>>
 * shift`, then linear probing.
 */

import { createRequire } from "node:module";
import type * as GmNative from "@govchain/gm-native";
import { systemRandom } from "../common/random.js";

/** Int32 words per slot: the key, then slab id + 1, offset, length, and one unused. */
export const SLOT_WORDS = 12;
const SLAB_WORD = 8;
const OFFSET_WORD = 9;
const LENGTH_WORD = 10;

// Moving a table's entries into another is native (gm-native's src/state_native.c).
const { nodeTableCopy } = createRequire(import.meta.url)("@govchain/gm-native") as typeof GmNative;
const STATS = new Int32Array(2);

/**
 * The slot hash's seed, an unsigned 32-bit integer (the native rebuild probes with it too).
 * Random per process so peers cannot aim node hashes at one probe chain; it changes only where
 * nodes sit in the cache, never a root.
 */
export const NODE_TABLE_SEED = systemRandom.int(0x100000000) >>> 0;
const SEED = NODE_TABLE_SEED | 0;

/** The little-endian 32-bit word at `at` in `bytes`. */
function wordAt(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) |
    ((bytes[at + 1] as number) << 8) |
    ((bytes[at + 2] as number) << 16) |
    ((bytes[at + 3] as number) << 24)
  );
}

/**
 * The buffers node encodings live in, by id, with a count of the tables holding entries in
 * each: a buffer is forgotten (left to the garbage collector) when its count drops to zero.
 */
export class SlabRegistry {
  /** Buffers by id; undefined for a free id. Handed to the native rebuild as is. */
  readonly buffers: (ArrayBuffer | undefined)[] = [];
  private readonly counts: number[] = [];
  private readonly free: number[] = [];
  private readonly ids = new Map<ArrayBuffer, number>();

  /** Registers `buffer` with a count of zero; returns its id. */
  add(buffer: ArrayBuffer): number {
    const id = this.free.pop() ?? this.buffers.length;
    this.buffers[id] = buffer;
    this.counts[id] = 0;
    this.ids.set(buffer, id);
    return id;
  }

  /** The id of a registered buffer. */
  idOf(buffer: ArrayBufferLike): number | undefined {
    return this.ids.get(buffer as ArrayBuffer);
  }

  retain(id: number): void {
    this.counts[id] = (this.counts[id] as number) + 1;
  }

  release(id: number): void {
    const count = (this.counts[id] as number) - 1;
    this.counts[id] = count;
    if (count === 0) {
      this.ids.delete(this.buffers[id] as ArrayBuffer);
      this.buffers[id] = undefined;
      this.free.push(id);
    }
  }

  /** A view of `length` bytes at `offset` in buffer `id`. */
  view(id: number, offset: number, length: number): Uint8Array {
    return new Uint8Array(this.buffers[id] as ArrayBuffer, offset, length);
  }
}

/** A table from 32-byte node hashes to places in a `SlabRegistry`'s buffers. */
export class NodeTable {
  /** Entries held. */
  size = 0;
  /** Bytes of node encodings the entries point at. */
  bytes = 0;
  private words: Int32Array;
  private shift: number;
  private mask: number;
  /** Entries per buffer id, and the ids with entries: the table holds one count on each. */
  private perSlab = new Int32Array(64);
  private readonly slabIds: number[] = [];

  /**
   * A table sized for `expected` entries without growing. The table holds a count in `slabs`
   * on every buffer its entries point into until it is dropped with `clear`, which therefore
   * costs one step per buffer, not per entry.
   */
  constructor(
    private readonly slabs: SlabRegistry,
    expected = 512,
  ) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.words = new Int32Array(capacity * SLOT_WORDS);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
  }

  /** The slot holding the hash at `at` in `key`, or -1. */
  find(key: Uint8Array, at: number): number {
    const w0 = wordAt(key, at);
    const words = this.words;
    for (let slot = this.slotOf(w0); ; slot = (slot + 1) & this.mask) {
      const k = slot * SLOT_WORDS;
      if (words[k + SLAB_WORD] === 0) return -1;
      if (words[k] === w0 && this.rest(k, key, at)) return slot;
    }
  }

  /** A view of the encoding in `slot` (from `find`). */
  view(slot: number): Uint8Array {
    const k = slot * SLOT_WORDS;
    const words = this.words;
    return this.slabs.view(
      (words[k + SLAB_WORD] as number) - 1,
      words[k + OFFSET_WORD] as number,
      words[k + LENGTH_WORD] as number,
    );
  }

  /** The buffer id, offset and length of the encoding in `slot`. */
  slabAt(slot: number): number {
    return (this.words[slot * SLOT_WORDS + SLAB_WORD] as number) - 1;
  }

  offsetAt(slot: number): number {
    return this.words[slot * SLOT_WORDS + OFFSET_WORD] as number;
  }

  lengthAt(slot: number): number {
    return this.words[slot * SLOT_WORDS + LENGTH_WORD] as number;
  }

  /** The encoding stored under the hash at `at` in `key`, if any, as a fresh view. */
  get(key: Uint8Array, at: number): Uint8Array | undefined {
    const slot = this.find(key, at);
    return slot < 0 ? undefined : this.view(slot);
  }

  /**
   * Stores the place of the encoding of the hash at `at` in `key`. Returns false, changing
   * nothing, when the hash is already present (the encoding under a hash never changes).
   */
  set(key: Uint8Array, at: number, slab: number, offset: number, length: number): boolean {
    if ((this.size + 1) * 2 > this.capacity()) this.grow();
    const w0 = wordAt(key, at);
    const words = this.words;
    let slot = this.slotOf(w0);
    for (; words[slot * SLOT_WORDS + SLAB_WORD] !== 0; slot = (slot + 1) & this.mask) {
      const k = slot * SLOT_WORDS;
      if (words[k] === w0 && this.rest(k, key, at)) return false;
    }
    const k = slot * SLOT_WORDS;
    words[k] = w0;
    for (let w = 1; w < 8; w++) words[k + w] = wordAt(key, at + 4 * w);
    this.fill(k, slab, offset, length);
    return true;
  }

  /**
   * Adds every entry of this table to `target` (skipping hashes it holds already), in one
   * native call: thousands of inserts at random places in a large table are cache misses that
   * the native loop overlaps by prefetching.
   */
  copyInto(target: NodeTable): void {
    target.reserve(this.size);
    if (target.perSlab.length < this.perSlab.length) target.growPerSlab(this.perSlab.length - 1);
    // The buffers `target` has no entries in yet: it takes a count on those it now has.
    const ids = this.slabIds;
    const fresh: number[] = [];
    for (const id of ids) if (target.perSlab[id] === 0) fresh.push(id);
    STATS[0] = 0;
    STATS[1] = 0;
    nodeTableCopy(this.words, target.words, target.shift, NODE_TABLE_SEED, target.perSlab, STATS);
    target.size += STATS[0] as number;
    target.bytes += STATS[1] as number;
    for (const id of fresh) {
      if ((target.perSlab[id] as number) > 0) {
        target.slabIds.push(id);
        target.slabs.retain(id);
      }
    }
  }

  /**
   * Drops every entry, giving back its count on its buffer. With `keepCapacity` the table
   * keeps its storage, zeroed, to be filled again.
   */
  clear(keepCapacity = false): void {
    for (const id of this.slabIds) {
      this.perSlab[id] = 0;
      this.slabs.release(id);
    }
    this.slabIds.length = 0;
    if (keepCapacity) {
      this.words.fill(0);
    } else {
      this.words = new Int32Array(16 * SLOT_WORDS);
      this.mask = 15;
      this.shift = 28;
    }
    this.size = 0;
    this.bytes = 0;
  }

  /**
   * True when the table can take `expected` entries without growing and is not much larger
   * than that needs (clearing and copying it cost in proportion to its capacity).
   */
  fits(expected: number): boolean {
    return expected * 2 <= this.capacity() && this.capacity() <= Math.max(expected * 8, 1024);
  }

  /** The table's storage for the native rebuild: `[words, shift]`. */
  storage(): [Int32Array, number] {
    return [this.words, this.shift];
  }

  private capacity(): number {
    return this.mask + 1;
  }

  private slotOf(w0: number): number {
    return Math.imul(w0 ^ SEED, 0x9e3779b1) >>> this.shift;
  }

  /** True when words 1..7 of the key in the slot at word `k` equal the hash at `at` in `key`. */
  private rest(k: number, key: Uint8Array, at: number): boolean {
    const words = this.words;
    for (let w = 1; w < 8; w++) {
      if (words[k + w] !== wordAt(key, at + 4 * w)) return false;
    }
    return true;
  }

  private fill(k: number, slab: number, offset: number, length: number): void {
    const words = this.words;
    words[k + SLAB_WORD] = slab + 1;
    words[k + OFFSET_WORD] = offset;
    words[k + LENGTH_WORD] = length;
    if (slab >= this.perSlab.length) this.growPerSlab(slab);
    const entries = (this.perSlab[slab] as number) + 1;
    this.perSlab[slab] = entries;
    if (entries === 1) {
      this.slabIds.push(slab);
      this.slabs.retain(slab);
    }
    this.size++;
    this.bytes += length;
  }

  /** Grows, if need be, so that `more` entries fit with the table at most half full. */
  private reserve(more: number): void {
    let capacity = this.capacity();
    while ((this.size + more) * 2 > capacity) capacity *= 2;
    if (capacity > this.capacity()) this.grow(capacity);
  }

  private growPerSlab(slab: number): void {
    const grown = new Int32Array(Math.max(slab + 1, this.perSlab.length * 2));
    grown.set(this.perSlab);
    this.perSlab = grown;
  }

  private grow(capacity = this.capacity() * 2): void {
    const old = this.words;
    const words = new Int32Array(capacity * SLOT_WORDS);
    this.words = words;
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    for (let from = 0; from < old.length; from += SLOT_WORDS) {
      if (old[from + SLAB_WORD] === 0) continue;
      let slot = this.slotOf(old[from] as number);
      while (words[slot * SLOT_WORDS + SLAB_WORD] !== 0) slot = (slot + 1) & this.mask;
      const to = slot * SLOT_WORDS;
      for (let w = 0; w < SLOT_WORDS; w++) words[to + w] = old[from + w] as number;
    }
  }
}
