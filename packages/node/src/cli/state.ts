/**
 * `govchain state get|list`: reads Merkle state through the REST API, at the head or at a
 * given block (`--head <block id>`), showing values in base64 and decoded where possible.
 */
import type { Command } from "commander";
import type { ApiClient, StateEntry } from "./client.js";
import { type CliContext, integerIn, withApi } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { summariseValue, viewValue } from "./values.js";

const ADDRESS = /^[0-9a-f]{70}$/;
const PREFIX = /^[0-9a-f]{0,70}$/;
/** Entries per request; Sawtooth's REST API caps a page at 1,000. */
const PAGE_SIZE = 100;

/** Throws `INVALID_ARGUMENT` unless `address` is 70 lower-case hex characters. */
export function checkAddress(address: string): string {
  if (!ADDRESS.test(address)) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `address must be 70 lower-case hex characters, got ${JSON.stringify(address)}`,
    );
  }
  return address;
}

/** Reads up to `limit` entries under `prefix`, following pages. */
export async function collectState(
  client: ApiClient,
  prefix: string,
  limit: number,
  head?: string,
): Promise<{ entries: StateEntry[]; head: string | undefined; more: boolean }> {
  const entries: StateEntry[] = [];
  let start: string | undefined;
  let at = head;
  for (;;) {
    const page = await client.listState(prefix, {
      limit: Math.min(PAGE_SIZE, limit - entries.length),
      ...(at !== undefined ? { head: at } : {}),
      ...(start !== undefined ? { start } : {}),
    });
    // Later pages must read the same block as the first, or the listing could mix two states.
    at ??= page.head;
    entries.push(...page.items);
    if (page.next === undefined || page.items.length === 0)
      return { entries, head: at, more: false };
    if (entries.length >= limit) return { entries: entries.slice(0, limit), head: at, more: true };
    start = page.next;
  }
}

/** Registers `govchain state …`. */
export function registerState(program: Command, ctx: CliContext): void {
  const state = program.command("state").summary("read chain state");

  withApi(
    state
      .command("get")
      .summary("show the value at an address")
      .argument("<address>", "70-hex-character state address")
      .option("--head <blockId>", "read at this block instead of the head"),
  ).action(async (address: string, opts: { head?: string }, command: Command) => {
    checkAddress(address);
    const found = await ctx.client(command).getState(address, opts.head);
    if (found === undefined) {
      throw cliError(
        CliErrorCode.NOT_FOUND,
        `no value at ${address}${opts.head ? ` at block ${opts.head}` : ""}`,
        { address },
      );
    }
    const view = viewValue(address, found.value);
    ctx.output.result(
      [
        `address  ${address}`,
        ...(found.head ? [`head     ${found.head}`] : []),
        `base64   ${view.base64}`,
        ...(view.text !== undefined ? [`text     ${JSON.stringify(view.text)}`] : []),
        ...(view.decoded !== undefined
          ? [`${view.kind ?? "decoded"}`.padEnd(9) + JSON.stringify(view.decoded, null, 2)]
          : []),
      ],
      { address, head: found.head, ...view },
    );
  });

  withApi(
    state
      .command("list")
      .summary("list entries under an address prefix")
      .argument("[prefix]", "hex address prefix (e.g. 1cf126 for intkey)", "")
      .option("--limit <n>", "at most this many entries", integerIn(1, 100_000), 100)
      .option("--head <blockId>", "read at this block instead of the head"),
  ).action(async (prefix: string, opts: { limit: number; head?: string }, command: Command) => {
    if (!PREFIX.test(prefix)) {
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        `prefix must be lower-case hex of at most 70 characters`,
      );
    }
    const { entries, head, more } = await collectState(
      ctx.client(command),
      prefix,
      opts.limit,
      opts.head,
    );
    const views = entries.map((e) => ({ address: e.address, ...viewValue(e.address, e.value) }));
    ctx.output.result(
      [
        ...views.map((v) => `${v.address}  ${summariseValue(v)}`),
        `${entries.length} entr${entries.length === 1 ? "y" : "ies"}${more ? ` (more exist; raise --limit)` : ""}${head ? ` at block ${head.slice(0, 16)}…` : ""}`,
      ],
      { head, entries: views, more },
    );
  });
}
