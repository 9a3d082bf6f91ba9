/**
 * `govchain batch submit|status`: posts a BatchList file (from any Sawtooth client or
 * `sawtooth batch`-style tool) and follows batches until they are committed or rejected.
 */
import type { Command } from "commander";
import { decodeBatchList } from "../wire/index.js";
import type { BatchStatusView } from "./client.js";
import { type CliContext, parseSeconds, withApi, withWait } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";
import { readBytes } from "./files.js";
import { assertCommitted, waitForBatches } from "./submit.js";

const BATCH_ID = /^[0-9a-f]{128}$/;

function statusLines(statuses: readonly BatchStatusView[]): string[] {
  return statuses.flatMap((s) => [
    `${s.id}  ${s.status}`,
    ...s.invalidTransactions.map((t) => `  transaction ${t.id.slice(0, 16)}…: ${t.message}`),
  ]);
}

/** Registers `govchain batch …`. */
export function registerBatch(program: Command, ctx: CliContext): void {
  const batch = program.command("batch").summary("submit batch lists and follow batches");

  withWait(
    withApi(
      batch
        .command("submit")
        .summary("submit a BatchList file")
        .description(
          "Posts the bytes of an encoded BatchList (Sawtooth batch.proto) to POST /batches, prints " +
            "the batch ids and waits for their final statuses. Exits 1 unless all are COMMITTED.",
        )
        .argument("<file>", "file holding an encoded BatchList"),
    ),
  ).action(async (file: string, opts: { wait: number | false }, command: Command) => {
    const bytes = await readBytes(ctx.path(file), "batch list");
    let ids: string[];
    try {
      ids = decodeBatchList(bytes).batches.map((b) => b.headerSignature);
    } catch (err) {
      throw cliError(
        CliErrorCode.FILE_INVALID,
        `${file} is not an encoded BatchList`,
        { path: file },
        err,
      );
    }
    if (ids.length === 0) throw cliError(CliErrorCode.FILE_INVALID, `${file} holds no batches`);
    const client = ctx.client(command);
    await client.submitBatches(bytes);
    if (opts.wait === false) {
      ctx.output.result(
        ids.map((id) => `${id}  SUBMITTED`),
        { batches: ids.map((id) => ({ id, status: "SUBMITTED" })) },
      );
      return;
    }
    const statuses = await waitForBatches(client, ids, opts.wait, ctx.output);
    ctx.output.result(statusLines(statuses), { batches: statuses });
    try {
      assertCommitted(statuses, opts.wait);
    } catch (err) {
      // The statuses are the result (already printed, also in JSON); the failure is the exit code.
      if (!ctx.output.json) ctx.output.error(err);
      ctx.exitCode = 1;
    }
  });

  withApi(
    batch
      .command("status")
      .summary("show the statuses of batches")
      .argument("<ids...>", "batch ids")
      .option(
        "--wait <seconds>",
        "wait up to this long for them to leave PENDING",
        parseSeconds,
        0,
      ),
  ).action(async (ids: string[], opts: { wait: number }, command: Command) => {
    const bad = ids.find((id) => !BATCH_ID.test(id));
    if (bad !== undefined)
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        `${bad} is not a batch id (128 hex characters)`,
      );
    const statuses = await waitForBatches(
      ctx.client(command),
      ids,
      opts.wait,
      ctx.output,
      "waiting",
    );
    ctx.output.result(statusLines(statuses), { batches: statuses });
  });
}
