/**
 * `govchain intkey set|inc|dec|show|list`: Sawtooth's IntegerKey family from the command line,
 * with Sawtooth's payload (CBOR `{Verb, Name, Value}`) and addressing (`1cf126` + the last 64
 * hex characters of SHA-512(name)), so values written here read the same in Sawtooth tools.
 */
import type { Command } from "commander";
import {
  decodeIntkeyState,
  encodeIntkeyPayload,
  INTKEY_FAMILY,
  INTKEY_MAX_NAME_LENGTH,
  INTKEY_MAX_VALUE,
  INTKEY_NAMESPACE,
  INTKEY_VERSION,
  type IntkeyVerb,
  intkeyAddress,
} from "../families/index.js";
import type { ApiClient } from "./client.js";
import { type CliContext, integerIn, withApi, withKey, withWait } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { collectState } from "./state.js";
import {
  buildBatch,
  describeSubmission,
  submissionJson,
  submitAndWait,
  type TransactionSpec,
} from "./submit.js";

/** The transaction of one intkey operation. */
export function intkeyTransaction(verb: IntkeyVerb, name: string, value: number): TransactionSpec {
  const address = intkeyAddress(name);
  return {
    familyName: INTKEY_FAMILY,
    familyVersion: INTKEY_VERSION,
    inputs: [address],
    outputs: [address],
    payload: encodeIntkeyPayload({ verb, name, value }),
  };
}

function checkName(name: string): string {
  if (name.length === 0 || name.length > INTKEY_MAX_NAME_LENGTH) {
    throw cliError(
      CliErrorCode.INVALID_ARGUMENT,
      `intkey names are 1 to ${INTKEY_MAX_NAME_LENGTH} characters`,
    );
  }
  return name;
}

/** The current value of an intkey name, or undefined. */
export async function readIntkey(
  client: ApiClient,
  name: string,
  head?: string,
): Promise<number | undefined> {
  const found = await client.getState(intkeyAddress(name), head);
  return found === undefined ? undefined : decodeIntkeyState(found.value).get(name);
}

/** Registers `govchain intkey …`. */
export function registerIntkey(program: Command, ctx: CliContext): void {
  const intkey = program
    .command("intkey")
    .summary("Sawtooth's IntegerKey family: named counters")
    .description(
      "Named unsigned 32-bit counters: `set` creates a name, `inc`/`dec` change it. Transactions are " +
        "signed with --key, submitted, and (unless --no-wait) followed until committed.",
    );

  const verbs: readonly [IntkeyVerb, string][] = [
    ["set", "create a name with a value (fails if it exists)"],
    ["inc", "add to a name's value"],
    ["dec", "subtract from a name's value"],
  ];
  for (const [verb, summary] of verbs) {
    withWait(
      withKey(
        withApi(
          intkey
            .command(verb)
            .summary(summary)
            .argument("<name>", `name, 1 to ${INTKEY_MAX_NAME_LENGTH} characters`)
            .argument(
              "<value>",
              `integer from 0 to ${INTKEY_MAX_VALUE}`,
              integerIn(0, INTKEY_MAX_VALUE),
            ),
        ),
      ),
    ).action(
      async (name: string, value: number, opts: { wait: number | false }, command: Command) => {
        checkName(name);
        const key = await ctx.signingKey(command);
        const client = ctx.client(command);
        const batch = buildBatch(key, [intkeyTransaction(verb, name, value)]);
        const result = await submitAndWait(
          client,
          [batch],
          opts.wait,
          ctx.output,
          `intkey ${verb} ${name}`,
        );
        const now = result.statuses === undefined ? undefined : await readIntkey(client, name);
        ctx.output.result(
          [...describeSubmission(result), ...(now !== undefined ? [`${name} = ${now}`] : [])],
          {
            ...(submissionJson(result) as object),
            name,
            ...(now !== undefined ? { value: now } : {}),
          },
        );
      },
    );
  }

  withApi(
    intkey
      .command("show")
      .summary("show a name's value")
      .argument("<name>", "the name")
      .option("--head <blockId>", "read at this block instead of the head"),
  ).action(async (name: string, opts: { head?: string }, command: Command) => {
    checkName(name);
    const value = await readIntkey(ctx.client(command), name, opts.head);
    if (value === undefined)
      throw cliError(CliErrorCode.NOT_FOUND, `intkey name ${JSON.stringify(name)} is not set`, {
        name,
      });
    ctx.output.result(`${name} = ${value}`, { name, value, address: intkeyAddress(name) });
  });

  withApi(
    intkey
      .command("list")
      .summary("list every name and value")
      .option("--limit <n>", "at most this many addresses", integerIn(1, 100_000), 1_000),
  ).action(async (opts: { limit: number }, command: Command) => {
    const { entries, more } = await collectState(ctx.client(command), INTKEY_NAMESPACE, opts.limit);
    const values = entries
      .flatMap((e) => [...decodeIntkeyState(e.value)].map(([name, value]) => ({ name, value })))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    ctx.output.result(
      values.length === 0
        ? ["no intkey names yet"]
        : [
            ...values.map((v) => `${v.name} = ${v.value}`),
            ...(more ? ["(more exist; raise --limit)"] : []),
          ],
      { values, more },
    );
  });
}
