/**
 * Pages of blocks, batches and transactions read from the block store, in Sawtooth's orders:
 * newest block first (batches and transactions in block order within a block), or with
 * `reverse` the exact opposite. Sawtooth's validator builds these lists by walking the whole
 * chain and slicing; here a page reads only the blocks it spans (plus one item to know whether
 * a next page exists), so paging stays cheap on a long chain.
 */
import type { BlockStore, StoredBlock } from "../ledger/block-store.js";
import type { Batch, Transaction } from "../wire/types.js";
import { ApiError } from "./errors.js";
import {
  blockNumToHex,
  effectiveLimit,
  type PageResult,
  type PagingControls,
  paginate,
  parseBlockNumHex,
} from "./paging.js";
import { isResourceId } from "./route-context.js";

/** Most blocks fetched per store read while walking. */
const MAX_WALK_CHUNK = 32;

/**
 * Blocks from `from` towards genesis (or towards `head` when ascending), never above `head`.
 * Reads start with `firstChunk` blocks and double: a page of batches often ends inside the
 * first block (which may be megabytes), a page of small blocks needs many.
 */
async function* walkBlocks(
  blocks: BlockStore,
  from: bigint,
  ascending: boolean,
  headHeight: bigint,
  firstChunk: number,
): AsyncGenerator<StoredBlock> {
  let next = from;
  let chunkSize = Math.max(1, Math.min(firstChunk, MAX_WALK_CHUNK));
  while (next >= 0n && next <= headHeight) {
    const chunk = await blocks.listBlocks({ startHeight: next, limit: chunkSize, ascending });
    if (chunk.length === 0) return;
    for (const block of chunk) {
      if (block.height > headHeight || block.height < 0n) return;
      yield block;
    }
    const last = chunk[chunk.length - 1];
    if (last === undefined) return;
    next = ascending ? last.height + 1n : last.height - 1n;
    chunkSize = Math.min(chunkSize * 2, MAX_WALK_CHUNK);
  }
}

/** A page of `/blocks`, positions being `0x`-prefixed block numbers. */
export async function pageOfBlocks(
  blocks: BlockStore,
  head: StoredBlock,
  controls: PagingControls,
  reversed: boolean,
): Promise<PageResult<StoredBlock>> {
  const limit = effectiveLimit(controls);
  let from = reversed ? 0n : head.height;
  if (controls.start !== undefined) {
    from = parseBlockNumHex(controls.start);
    if (from > head.height)
      throw new ApiError(
        "INVALID_PAGING",
        ` There is no block ${controls.start} at or below the head.`,
      );
  }
  const found: StoredBlock[] = [];
  for await (const block of walkBlocks(blocks, from, reversed, head.height, limit + 1)) {
    found.push(block);
    if (found.length > limit) break;
  }
  const page = found.slice(0, limit);
  const first = page[0];
  const after = found[limit];
  return {
    items: page,
    ...(first !== undefined ? { start: blockNumToHex(first.height) } : {}),
    ...(after !== undefined ? { next: blockNumToHex(after.height) } : {}),
  };
}

/** Where an item sits: its block's height and its index in the block's item order. */
interface ItemLocation {
  readonly height: bigint;
  readonly index: number;
}

interface ItemPageOptions<T> {
  readonly blocks: BlockStore;
  readonly head: StoredBlock;
  readonly controls: PagingControls;
  readonly reversed: boolean;
  /** Items of a block in forward order. */
  readonly itemsOf: (block: StoredBlock) => readonly T[];
  readonly idOf: (item: T) => string;
  /** The location of the item with id `start`, or undefined when it is not committed. */
  readonly locate: (
    start: string,
  ) => Promise<{ readonly blockId: string; readonly index: number } | undefined>;
}

async function pageOfItems<T>(options: ItemPageOptions<T>): Promise<PageResult<T>> {
  const { blocks, head, controls, reversed, itemsOf, idOf } = options;
  const limit = effectiveLimit(controls);
  const ordered = (block: StoredBlock): readonly T[] =>
    reversed ? [...itemsOf(block)].reverse() : itemsOf(block);
  let from: ItemLocation = { height: reversed ? 0n : head.height, index: 0 };
  if (controls.start !== undefined) {
    const start = controls.start;
    const invalid = (): never => {
      throw new ApiError(
        "INVALID_PAGING",
        ` No committed item at or below the head has the id ${start}.`,
        { start },
      );
    };
    if (!isResourceId(start)) invalid();
    const located = await options.locate(start);
    const block = located ? await blocks.getBlock(located.blockId) : undefined;
    if (!located || !block || block.height > head.height) return invalid();
    const forward = itemsOf(block).length;
    from = { height: block.height, index: reversed ? forward - 1 - located.index : located.index };
  }
  const found: T[] = [];
  for await (const block of walkBlocks(blocks, from.height, reversed, head.height, 1)) {
    const items = ordered(block);
    for (let i = block.height === from.height ? from.index : 0; i < items.length; i++) {
      const item = items[i];
      if (item !== undefined) found.push(item);
      if (found.length > limit) break;
    }
    if (found.length > limit) break;
  }
  const page = found.slice(0, limit);
  const first = page[0];
  const after = found[limit];
  return {
    items: page,
    ...(first !== undefined ? { start: idOf(first) } : {}),
    ...(after !== undefined ? { next: idOf(after) } : {}),
  };
}

/** A page of committed batches. */
export function pageOfBatches(
  blocks: BlockStore,
  head: StoredBlock,
  controls: PagingControls,
  reversed: boolean,
): Promise<PageResult<Batch>> {
  return pageOfItems({
    blocks,
    head,
    controls,
    reversed,
    itemsOf: (block) => block.block.batches,
    idOf: (batch) => batch.headerSignature,
    async locate(start) {
      const blockId = await blocks.batchBlockId(start);
      if (blockId === undefined) return undefined;
      const block = await blocks.getBlock(blockId);
      const index = block?.block.batches.findIndex((b) => b.headerSignature === start) ?? -1;
      return index < 0 ? undefined : { blockId, index };
    },
  });
}

function transactionsOf(block: StoredBlock): Transaction[] {
  return block.block.batches.flatMap((batch) => batch.transactions);
}

/** A page of committed transactions. */
export function pageOfTransactions(
  blocks: BlockStore,
  head: StoredBlock,
  controls: PagingControls,
  reversed: boolean,
): Promise<PageResult<Transaction>> {
  return pageOfItems({
    blocks,
    head,
    controls,
    reversed,
    itemsOf: transactionsOf,
    idOf: (tx) => tx.headerSignature,
    async locate(start) {
      const location = await blocks.transactionLocation(start);
      if (!location) return undefined;
      const block = await blocks.getBlock(location.blockId);
      if (!block) return undefined;
      let index = location.transactionIndex;
      for (let b = 0; b < location.batchIndex; b++)
        index += block.block.batches[b]?.transactions.length ?? 0;
      return { blockId: location.blockId, index };
    },
  });
}

/**
 * Resources named by an `id` filter, in the order given, skipping ids that are not committed
 * at or below `head` (Sawtooth omits them rather than failing), then paged like any list.
 */
export async function pageOfIds<T>(
  ids: readonly string[],
  head: StoredBlock,
  fetch: (id: string) => Promise<{ readonly item: T; readonly height: bigint } | undefined>,
  idOf: (item: T) => string,
  controls: PagingControls,
  reversed: boolean,
): Promise<PageResult<T>> {
  const found: T[] = [];
  for (const id of ids) {
    const hit = await fetch(id);
    if (hit && hit.height <= head.height) found.push(hit.item);
  }
  if (reversed) found.reverse();
  return paginate(found, idOf, controls);
}
