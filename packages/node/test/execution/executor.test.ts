import { describe, expect, it } from "vitest";
import { ExecutionError } from "../../src/execution/executor.js";
import { InvalidTransaction, type TransactionFamily } from "../../src/execution/family.js";
import { decodeIntkeyState, intkeyAddress } from "../../src/families/index.js";
import type { ParsedBatch } from "../../src/wire/types.js";
import { createExecutionFixture, type ExecutionFixture } from "../support/chain-fixture.js";
import { intkeyTx, newSigner, parsedBatch, tx } from "../support/fixtures.js";

const never = async (): Promise<boolean> => false;
const signer = newSigner();

async function run(
  fixture: ExecutionFixture,
  batches: readonly ParsedBatch[],
  options: {
    mode?: "propose" | "validate";
    committed?: (id: string) => Promise<boolean>;
    root?: string;
  } = {},
) {
  return fixture.executor.execute({
    parentRoot: options.root ?? fixture.root,
    height: 1n,
    timestampMs: 1_700_000_000_000,
    batches,
    mode: options.mode ?? "propose",
    committedAmong: async (ids) =>
      new Set(
        (
          await Promise.all(
            ids.map(async (id) => ((await (options.committed ?? never)(id)) ? id : undefined)),
          )
        ).filter((x): x is string => x !== undefined),
      ),
  });
}

async function intkeyValue(
  fixture: ExecutionFixture,
  root: string,
  name: string,
): Promise<number | undefined> {
  const bytes = await fixture.state.get(root, intkeyAddress(name));
  return bytes ? decodeIntkeyState(bytes).get(name) : undefined;
}

// A family that does what a buggy or malicious family might: read or write what it did not declare.
const probeFamily: TransactionFamily = {
  name: "probe",
  versions: ["1.0"],
  namespaces: ["abcdef"],
  async apply(request, context) {
    const action = new TextDecoder().decode(request.payload);
    const address = `abcdef${"0".repeat(64)}`;
    if (action === "read-undeclared") await context.getState([`abcdef${"1".repeat(64)}`]);
    if (action === "write-undeclared")
      await context.setState([[`abcdef${"2".repeat(64)}`, new Uint8Array([1])]]);
    if (action === "write") {
      await context.setState([[address, new Uint8Array([7])]]);
      context.addEvent("probe/wrote", [["address", address]], new Uint8Array([9]));
      context.addReceiptData(new Uint8Array([1, 2, 3]));
    }
    if (action === "crash") throw new Error("disk on fire");
    if (action === "reject")
      throw new InvalidTransaction("no thanks", { extendedData: new Uint8Array([4]) });
  },
};
const probeAddress = `abcdef${"0".repeat(64)}`;
const probe = (action: string) =>
  tx(signer, {
    familyName: "probe",
    payload: new TextEncoder().encode(action),
    inputs: [probeAddress],
    outputs: [probeAddress],
  });

describe("executor", () => {
  it("applies intkey set, inc and dec in order within one block", async () => {
    const f = await createExecutionFixture();
    const result = await run(f, [
      parsedBatch(signer, [intkeyTx(signer, "set", "a", 10)]),
      parsedBatch(signer, [intkeyTx(signer, "inc", "a", 5), intkeyTx(signer, "dec", "a", 3)]),
    ]);
    expect(result.outcomes.map((o) => o.status)).toEqual(["valid", "valid"]);
    expect(await intkeyValue(f, result.stateRoot, "a")).toBe(12);
    expect(result.receipts).toHaveLength(3);
    expect(result.receipts[0]?.stateChanges[0]).toMatchObject({
      address: intkeyAddress("a"),
      type: "SET",
    });
  });

  it("keeps batches atomic: a failing transaction undoes its batch and no other", async () => {
    const f = await createExecutionFixture();
    const result = await run(f, [
      parsedBatch(signer, [intkeyTx(signer, "set", "x", 1), intkeyTx(signer, "inc", "missing", 1)]),
      parsedBatch(signer, [intkeyTx(signer, "set", "y", 2)]),
    ]);
    expect(result.outcomes.map((o) => o.status)).toEqual(["invalid", "valid"]);
    const [first] = result.outcomes;
    expect(first?.transactions[1]?.message).toMatch(/does not exist/);
    expect(first?.transactions[0]?.valid).toBe(false);
    expect(await intkeyValue(f, result.stateRoot, "x")).toBeUndefined();
    expect(await intkeyValue(f, result.stateRoot, "y")).toBe(2);
    expect(result.validBatches).toHaveLength(1);
  });

  it("rejects intkey's invalid operations with Sawtooth's reasons", async () => {
    const f = await createExecutionFixture();
    const seeded = await run(f, [
      parsedBatch(signer, [intkeyTx(signer, "set", "max", 2 ** 32 - 1)]),
    ]);
    const cases: [ReturnType<typeof intkeyTx>, RegExp][] = [
      [intkeyTx(signer, "set", "max", 1), /already exists/],
      [intkeyTx(signer, "inc", "max", 1), /greater than 4294967295/],
      [intkeyTx(signer, "dec", "nothing", 1), /does not exist/],
    ];
    for (const [transaction, reason] of cases) {
      const result = await run(f, [parsedBatch(signer, [transaction])], { root: seeded.stateRoot });
      expect(result.outcomes[0]?.status).toBe("invalid");
      expect(result.outcomes[0]?.transactions[0]?.message).toMatch(reason);
      expect(result.stateRoot).toBe(seeded.stateRoot);
    }
  });

  it("is deterministic: the same block gives the same root and receipts", async () => {
    const f = await createExecutionFixture();
    const batches = [
      parsedBatch(signer, [intkeyTx(signer, "set", "d", 1)]),
      parsedBatch(signer, [intkeyTx(signer, "inc", "d", 2)]),
    ];
    const a = await run(f, batches);
    const b = await run(f, batches, { mode: "validate" });
    expect(b.stateRoot).toBe(a.stateRoot);
    expect(b.receipts).toEqual(a.receipts);
    expect(a.stateRoot).not.toBe(f.root);
  });

  it("refuses reads and writes outside the declared inputs and outputs", async () => {
    const f = await createExecutionFixture({
      settings: { "govchain.family.probe.policy": "any" },
      extraFamilies: [probeFamily],
    });
    const result = await run(f, [
      parsedBatch(signer, [probe("read-undeclared")]),
      parsedBatch(signer, [probe("write-undeclared")]),
    ]);
    expect(result.outcomes.map((o) => o.status)).toEqual(["invalid", "invalid"]);
    expect(result.outcomes[0]?.transactions[0]?.message).toMatch(
      /not in the transaction's declared inputs/,
    );
    expect(result.outcomes[1]?.transactions[0]?.message).toMatch(
      /not in the transaction's declared outputs/,
    );
    expect(result.stateRoot).toBe(f.root);
  });

  it("records events, receipt data and extended data", async () => {
    const f = await createExecutionFixture({
      settings: { "govchain.family.probe.policy": "any" },
      extraFamilies: [probeFamily],
    });
    const result = await run(f, [
      parsedBatch(signer, [probe("write")]),
      parsedBatch(signer, [probe("reject")]),
    ]);
    const receipt = result.receipts[0];
    expect(receipt?.events[0]).toMatchObject({
      eventType: "probe/wrote",
      attributes: [{ key: "address", value: probeAddress }],
    });
    expect(receipt?.data).toEqual([new Uint8Array([1, 2, 3])]);
    expect(result.outcomes[1]?.transactions[0]).toMatchObject({
      valid: false,
      message: "no thanks",
      extendedData: new Uint8Array([4]),
    });
  });

  it("treats a family's internal error as a rejected batch when proposing and a failure when validating", async () => {
    const f = await createExecutionFixture({
      settings: { "govchain.family.probe.policy": "any" },
      extraFamilies: [probeFamily],
    });
    const proposed = await run(f, [parsedBatch(signer, [probe("crash")])]);
    expect(proposed.outcomes[0]?.status).toBe("invalid");
    expect(proposed.outcomes[0]?.transactions[0]?.message).toMatch(/internal error: disk on fire/);
    await expect(
      run(f, [parsedBatch(signer, [probe("crash")])], { mode: "validate" }),
    ).rejects.toBeInstanceOf(ExecutionError);
  });

  it("refuses replays of committed transactions and of transactions earlier in the block", async () => {
    const f = await createExecutionFixture();
    const t = intkeyTx(signer, "set", "r", 1);
    const committed = await run(f, [parsedBatch(signer, [t])], {
      committed: async (id) => id === t.headerSignature,
    });
    expect(committed.outcomes[0]?.transactions[0]?.message).toBe("transaction already committed");
    const twice = await run(f, [
      parsedBatch(signer, [t]),
      parsedBatch(signer, [intkeyTx(signer, "set", "s", 1), t]),
    ]);
    expect(twice.outcomes.map((o) => o.status)).toEqual(["valid", "invalid"]);
    expect(twice.outcomes[1]?.transactions[1]?.message).toBe("transaction already committed");
  });

  it("defers a batch whose dependency is not committed when proposing, and rejects it when validating", async () => {
    const f = await createExecutionFixture();
    const first = intkeyTx(signer, "set", "dep", 1);
    const second = intkeyTx(signer, "inc", "dep", 1, { dependencies: [first.headerSignature] });
    const onlySecond = [parsedBatch(signer, [second])];
    expect((await run(f, onlySecond)).outcomes[0]?.status).toBe("deferred");
    expect((await run(f, onlySecond, { mode: "validate" })).outcomes[0]?.status).toBe("invalid");
    // Satisfied by an earlier batch in the same block.
    const both = await run(f, [parsedBatch(signer, [first]), parsedBatch(signer, [second])]);
    expect(both.outcomes.map((o) => o.status)).toEqual(["valid", "valid"]);
    expect(await intkeyValue(f, both.stateRoot, "dep")).toBe(2);
  });

  it("checks the family's access policy at execution", async () => {
    const f = await createExecutionFixture({
      settings: { "govchain.family.intkey.policy": "registered" },
    });
    const result = await run(f, [parsedBatch(signer, [intkeyTx(signer, "set", "p", 1)])]);
    expect(result.outcomes[0]?.status).toBe("invalid");
    expect(result.outcomes[0]?.transactions[0]?.message).toMatch(
      /signer not permitted: the key is not a registered agent/,
    );
  });

  it("rejects transactions of unknown families", async () => {
    const f = await createExecutionFixture();
    const unknown = tx(signer, {
      familyName: "nope",
      payload: new Uint8Array([1]),
      inputs: [],
      outputs: [],
    });
    const result = await run(f, [parsedBatch(signer, [unknown])]);
    expect(result.outcomes[0]?.transactions[0]?.message).toMatch(/unknown transaction family nope/);
  });
});
