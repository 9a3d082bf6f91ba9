/**
 * `govchain trace`: the supply-chain trace of a lot (seed 004, S4.7) — upstream to the origin
 * and downstream to every destination — printed as a tree, from a GTIN and lot or from the
 * GS1 Digital Link a QR code holds. A thin wrapper over `GET /v1/trace/…`; `--all` follows
 * the pages of a large graph; `--qr` saves the lot's QR code.
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { mergeTracePages, renderTraceTree } from "../trace/render-tree.js";
import type { TraceResult } from "../trace/trace-query.js";
import { type CliContext, integerIn, withApi } from "./context.js";
import { CliErrorCode, cliError } from "./errors.js";

interface TraceOptions {
  readonly lot?: string;
  readonly uri?: string;
  readonly direction: "up" | "down" | "both";
  readonly maxNodes?: number;
  readonly head?: string;
  readonly all?: boolean;
  readonly steps: "all" | "last" | "none";
  readonly ascii?: boolean;
  readonly qr?: string;
  readonly size?: number;
}

type TracePage = TraceResult & { page: TraceResult["page"] & { nextUrl?: string } };

function queryString(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text.length === 0 ? "" : `?${text}`;
}

/** Registers `govchain trace`. */
export function registerTrace(program: Command, ctx: CliContext): void {
  withApi(
    program
      .command("trace")
      .summary("trace a lot upstream to its origin and downstream to every destination")
      .argument("[gtin]", "GTIN-8/12/13/14 of the product")
      .option("--lot <lot>", "the lot (batch) number")
      .option(
        "--uri <uri>",
        "a GS1 Digital Link URI instead of GTIN and lot (what the QR code holds)",
      )
      .option("--direction <direction>", "up, down or both", "both")
      .option("--max-nodes <n>", "lots per page", integerIn(1, 10_000))
      .option("--head <blockId>", "trace at this block instead of the head")
      .option("--all", "follow every page of a large graph")
      .option("--steps <which>", "stages shown per lot: all, last or none", "all")
      .option("--ascii", "draw the tree with ASCII characters")
      .option("--qr <file>", "also save the lot's QR code (.svg or .png)")
      .option("--size <pixels>", "QR code size", integerIn(64, 2_048)),
  ).action(async (gtin: string | undefined, opts: TraceOptions, command: Command) => {
    if (!["up", "down", "both"].includes(opts.direction)) {
      throw cliError(CliErrorCode.INVALID_ARGUMENT, "--direction must be up, down or both");
    }
    if (!["all", "last", "none"].includes(opts.steps)) {
      throw cliError(CliErrorCode.INVALID_ARGUMENT, "--steps must be all, last or none");
    }
    if (opts.uri === undefined && (gtin === undefined || opts.lot === undefined)) {
      throw cliError(
        CliErrorCode.INVALID_ARGUMENT,
        "give a GTIN with --lot, or --uri with a GS1 Digital Link",
      );
    }
    const client = ctx.client(command);
    const common = { direction: opts.direction, maxNodes: opts.maxNodes, head: opts.head };
    const first =
      opts.uri !== undefined
        ? `/v1/trace/resolve${queryString({ uri: opts.uri, ...common })}`
        : `/v1/trace/${encodeURIComponent(gtin as string)}${queryString({ lot: opts.lot, ...common })}`;
    const pages: TracePage[] = [];
    let next: string | undefined = first;
    while (next !== undefined) {
      const page = (await client.getJson(next)) as TracePage;
      pages.push(page);
      next = opts.all ? page.page.nextUrl : undefined;
    }
    const result = pages.length === 1 ? (pages[0] as TracePage) : mergeTracePages(pages);
    if (opts.qr !== undefined) {
      const format = opts.qr.endsWith(".png") ? "png" : "svg";
      const origin = result.origin;
      const url = `${client.url}/v1/trace/${origin.gtin}/qr${queryString({ lot: origin.lot, format, size: opts.size })}`;
      const response = await fetch(url);
      if (!response.ok)
        throw cliError(CliErrorCode.API_ERROR, `QR code request failed: HTTP ${response.status}`);
      await writeFile(opts.qr, new Uint8Array(await response.arrayBuffer()));
      ctx.output.info(
        `QR code (${response.headers.get("x-digital-link") ?? "GS1 Digital Link"}) saved to ${opts.qr}`,
      );
    }
    const more =
      !result.page.complete && !opts.all ? ["(more lots: use --all, or raise --max-nodes)"] : [];
    ctx.output.result(
      [
        renderTraceTree(result, { steps: opts.steps, ...(opts.ascii ? { ascii: true } : {}) }),
        ...more,
      ],
      result,
    );
  });
}
