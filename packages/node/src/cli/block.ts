/**
 * `govchain block list|show`: the committed chain, newest first. A block is shown by id, or by
 * height (the REST API indexes blocks by id, so a height is found by walking the list from the
 * head: `/blocks` pages are ordered by height).
 */
import type { Command } from "commander";
import { isGovchainError } from "../common/errors.js";
import type { ApiClient, BlockView } from "./client.js";
import { type CliContext, integerIn, short, withApi } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";

const BLOCK_ID = /^[0-9a-f]{128}$/;
const PAGE_SIZE = 100;

function blockJson(block: BlockView): unknown {
  return {
    id: block.id,
    height: block.height.toString(),
    previousId: block.previousId,
    signerPublicKey: block.signerPublicKey,
    stateRoot: block.stateRoot,
    batchIds: block.batchIds,
    transactions: block.transactionCount,
  };
}

/** Lists up to `limit` blocks from the head down. */
export async function collectBlocks(client: ApiClient, limit: number): Promise<BlockView[]> {
  const blocks: BlockView[] = [];
  let start: string | undefined;
  for (;;) {
    const page = await client.listBlocks({
      limit: Math.min(PAGE_SIZE, limit - blocks.length),
      ...(start !== undefined ? { start } : {}),
    });
    blocks.push(...page.items);
    if (blocks.length >= limit || page.next === undefined || page.items.length === 0)
      return blocks.slice(0, limit);
    start = page.next;
  }
}

/** Sawtooth's paging position of a block: `0x` and the height in 16 hex digits. */
export function blockPosition(height: bigint): string {
  return `0x${height.toString(16).padStart(16, "0")}`;
}

/**
 * The block at `height`, or undefined above the head. Sawtooth's `/blocks` accepts a block
 * number as the page start; a node that does not is walked from the head instead.
 */
export async function blockAtHeight(
  client: ApiClient,
  height: bigint,
): Promise<BlockView | undefined> {
  try {
    const page = await client.listBlocks({ start: blockPosition(height), limit: 1 });
    const first = page.items[0];
    if (first?.height === height) return first;
  } catch (err) {
    // INVALID_PAGING: no block has that number (above the head).
    if (isGovchainError(err, "INVALID_PAGING")) return undefined;
    if (!isGovchainError(err)) throw err;
  }
  let start: string | undefined;
  for (;;) {
    const page = await client.listBlocks({
      limit: PAGE_SIZE,
      ...(start !== undefined ? { start } : {}),
    });
    const found = page.items.find((b) => b.height === height);
    if (found) return found;
    const lowest = page.items.at(-1);
    if (lowest === undefined || lowest.height < height || page.next === undefined) return undefined;
    start = page.next;
  }
}

/** Registers `govchain block …`. */
export function registerBlock(program: Command, ctx: CliContext): void {
  const block = program.command("block").summary("inspect committed blocks");

  withApi(
    block
      .command("list")
      .summary("list the newest blocks")
      .option("--limit <n>", "number of blocks", integerIn(1, 10_000), 20),
  ).action(async (opts: { limit: number }, command: Command) => {
    const blocks = await collectBlocks(ctx.client(command), opts.limit);
    ctx.output.result(
      [
        `${"HEIGHT".padStart(8)}  ${"BLOCK ID".padEnd(17)}  ${"BATCHES".padStart(7)}  ${"TXNS".padStart(5)}  STATE ROOT`,
        ...blocks.map(
          (b) =>
            `${b.height.toString().padStart(8)}  ${short(b.id).padEnd(17)}  ${String(b.batchIds.length).padStart(7)}  ${String(b.transactionCount).padStart(5)}  ${short(b.stateRoot)}`,
        ),
      ],
      { blocks: blocks.map(blockJson) },
    );
  });

  withApi(
    block
      .command("show")
      .summary("show one block by id or height")
      .argument("<block>", "block id (128 hex characters) or height"),
  ).action(async (ref: string, _opts: unknown, command: Command) => {
    const client = ctx.client(command);
    let found: BlockView | undefined;
    if (BLOCK_ID.test(ref)) found = await client.getBlock(ref);
    else if (/^\d+$/.test(ref)) found = await blockAtHeight(client, BigInt(ref));
    else
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        "give a block id (128 lower-case hex characters) or a height",
      );
    if (found === undefined)
      throw cliError(CliErrorCode.NOT_FOUND, `no block ${ref}`, { block: ref });
    ctx.output.result(
      [
        `height       ${found.height}`,
        `id           ${found.id}`,
        `previous     ${found.previousId}`,
        `signer       ${found.signerPublicKey}`,
        `state root   ${found.stateRoot}`,
        `transactions ${found.transactionCount}`,
        `batches      ${found.batchIds.length}`,
        ...found.batchIds.map((id) => `  ${id}`),
      ],
      blockJson(found),
    );
  });
}
