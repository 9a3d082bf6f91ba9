/**
 * The output layer: results as text or one JSON document, progress only on a terminal and
 * never with --json, errors as one line with their code, and the readable log format.
 */
import { describe, expect, it } from "vitest";
import { type CliIo, createOutput } from "../../src/cli/output.js";
import { createReadableLogger } from "../../src/cli/readable-logger.js";
import { printableText, viewValue } from "../../src/cli/values.js";
import { encodeCbor } from "../../src/common/cbor.js";
import { GovchainError } from "../../src/common/errors.js";
import { intkeyAddress } from "../../src/families/index.js";

function fakeIo(tty: boolean): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { isTTY: tty, write: (s: string) => (out += s) },
    stderr: { isTTY: tty, write: (s: string) => (err += s) },
    env: {},
    cwd: "/",
    ownsProcess: false,
    out: () => out,
    err: () => err,
  };
}

describe("output", () => {
  it("prints results as lines, or as one JSON document with --json", () => {
    const io = fakeIo(false);
    createOutput(io, { json: false, verbose: false }).result(["a", "b"], { big: 1n });
    expect(io.out()).toBe("a\nb\n");
    const json = fakeIo(false);
    const output = createOutput(json, { json: true, verbose: false });
    output.result("ignored", { big: 12n, bytes: new Uint8Array([1, 255]) });
    output.info("hint");
    expect(JSON.parse(json.out())).toEqual({ big: "12", bytes: "01ff" });
  });

  it("shows progress on a terminal only, and clears it", () => {
    const tty = fakeIo(true);
    const progress = createOutput(tty, { json: false, verbose: false }).progress("waiting");
    progress.update("1/2");
    progress.done("done");
    expect(tty.err()).toContain("waiting 1/2");
    expect(tty.err().endsWith("\r\u001b[2Kdone\n")).toBe(true);

    for (const [io, json] of [
      [fakeIo(false), false],
      [fakeIo(true), true],
    ] as const) {
      const quiet = createOutput(io, { json, verbose: false }).progress("waiting");
      quiet.update("1/2");
      quiet.done("done");
      expect(io.err()).toBe("");
    }
  });

  it("prints an error as one line with its code, the stack only with --verbose", () => {
    const err = new GovchainError("SOME_CODE", "it failed", {}, { cause: new Error("root cause") });
    const plain = fakeIo(false);
    createOutput(plain, { json: false, verbose: false }).error(err);
    expect(plain.err()).toBe("error [SOME_CODE]: it failed\n");
    const verbose = fakeIo(false);
    createOutput(verbose, { json: false, verbose: true }).error(err);
    expect(verbose.err()).toMatch(/^error \[SOME_CODE\]: it failed\n.*\n\s+at /s);
    expect(verbose.err()).toContain("caused by:");
    const json = fakeIo(false);
    createOutput(json, { json: true, verbose: false }).error(new Error("plain"));
    expect(JSON.parse(json.out())).toEqual({ error: { code: "INTERNAL_ERROR", message: "plain" } });
  });
});

describe("readable logger", () => {
  it("writes one line per record with module and fields, above the level", () => {
    let text = "";
    const logger = createReadableLogger({
      stream: { write: (s: string) => (text += s) },
      level: "info",
      now: () => new Date(2024, 0, 2, 3, 4, 5, 6),
    }).child("chain");
    logger.debug("hidden");
    logger.info("block committed", { height: 5n, id: "ab cd", txs: 3 });
    expect(text).toBe('03:04:05.006 INFO  chain: block committed height=5 id="ab cd" txs=3\n');
  });
});

describe("value views", () => {
  it("decodes family records and printable text, and keeps base64", () => {
    const address = intkeyAddress("apples");
    const view = viewValue(address, encodeCbor(new Map([["apples", 3]])));
    expect(view).toMatchObject({ kind: "intkey", decoded: { apples: 3 } });
    expect(viewValue("ff".repeat(35), new TextEncoder().encode("hello"))).toMatchObject({
      text: "hello",
      base64: "aGVsbG8=",
    });
    expect(printableText(new Uint8Array([0, 1, 2]))).toBeUndefined();
    expect(printableText(new Uint8Array([0xff]))).toBeUndefined();
  });
});
