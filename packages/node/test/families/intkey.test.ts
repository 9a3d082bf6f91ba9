import { encode } from "cborg";
import { describe, expect, it } from "vitest";
import { InvalidTransaction } from "../../src/execution/family.js";
import { decodeIntkeyPayload, INTKEY_NAMESPACE, intkeyAddress } from "../../src/families/index.js";
import { createExecutionFixture, executeOn } from "../support/chain-fixture.js";
import { intkeyTx, newSigner, parsedBatch } from "../support/fixtures.js";
import vectors from "../vectors/public-vectors.json" with { type: "json" };

describe("intkey family", () => {
  it("uses Sawtooth's namespace and addresses", () => {
    expect(INTKEY_NAMESPACE).toBe(vectors.sawtooth_addressing.namespaces.intkey);
    for (const [name, address] of Object.entries(vectors.sawtooth_addressing.intkey_addresses)) {
      expect(intkeyAddress(name)).toBe(address);
    }
  });

  it("decodes payloads written by Sawtooth clients in any key order", () => {
    // Python's cbor writes the map in insertion order with 1-byte lengths.
    const pythonStyle = new Uint8Array(
      Buffer.from("a3645665726263736574644e616d6563666f6f6556616c756503", "hex"),
    );
    expect(decodeIntkeyPayload(pythonStyle)).toEqual({ verb: "set", name: "foo", value: 3 });
  });

  it.each([
    ["not CBOR", new Uint8Array([0xff]), /Invalid payload serialization/],
    ["an array", encode([1, 2]), /Invalid payload serialization/],
    ["no verb", encode({ Name: "a", Value: 1 }), /Verb is required/],
    ["upper-case verb", encode({ Verb: "SET", Name: "a", Value: 1 }), /Verb must be set, inc, dec/],
    [
      "long name",
      encode({ Verb: "set", Name: "x".repeat(21), Value: 1 }),
      /no more than 20 characters/,
    ],
    ["negative value", encode({ Verb: "set", Name: "a", Value: -1 }), /no less than 0/],
    ["too large", encode({ Verb: "set", Name: "a", Value: 2 ** 32 }), /no greater than 4294967295/],
    ["fractional", encode({ Verb: "set", Name: "a", Value: 1.5 }), /integer/],
  ])("rejects a payload with %s", (_label, payload, reason) => {
    expect(() => decodeIntkeyPayload(payload)).toThrow(InvalidTransaction);
    expect(() => decodeIntkeyPayload(payload)).toThrow(reason);
  });

  it("keeps a name such as __proto__ as an ordinary key", async () => {
    const f = await createExecutionFixture();
    const signer = newSigner();
    const set = await executeOn(f, f.root, [
      parsedBatch(signer, [intkeyTx(signer, "set", "__proto__", 5)]),
    ]);
    expect(set.outcomes[0]?.status).toBe("valid");
    const inc = await executeOn(f, set.stateRoot, [
      parsedBatch(signer, [intkeyTx(signer, "inc", "__proto__", 1)]),
    ]);
    expect(inc.outcomes[0]?.status).toBe("valid");
  });
});
