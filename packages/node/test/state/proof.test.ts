/**
 * Proofs: they verify for present and absent addresses, with nothing but node:crypto and the
 * decoder; every single-byte change to a node, the value or the root makes them fail; and no
 * rearrangement of honest nodes claims absence of a present address or a wrong value.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isGovchainError } from "../../src/common/errors.js";
import type { MerkleStateTree, Radix, StateProof } from "../../src/state/index.js";
import { verifyStateProof } from "../../src/state/index.js";
import { addressPool, hex, memoryTree } from "./support.js";

const pool = addressPool(11);

function rejects(
  proof: StateProof,
  expected: { root: string; address: string },
  code = "INVALID_PROOF",
): string {
  try {
    verifyStateProof(proof, expected);
  } catch (err) {
    if (isGovchainError(err, code)) return err.message;
    throw err;
  }
  throw new Error(`proof accepted: ${JSON.stringify(proof).slice(0, 200)}`);
}

/** `hex` with byte `at` xor-ed with `mask` (1..255): a single-byte tamper. */
function tamper(hexText: string, at: number, mask: number): string {
  const bytes = Buffer.from(hexText, "hex");
  bytes[at] = (bytes[at] ?? 0) ^ mask;
  return bytes.toString("hex");
}

async function treeOf(
  radix: Radix,
  addresses: readonly string[],
): Promise<{ tree: MerkleStateTree; root: string }> {
  const { tree } = await memoryTree({ radix, hashName: radix === 16 ? "sha256" : "sm3" });
  const { root } = await tree.update(
    tree.emptyRoot,
    addresses.map((a, i) => [a, Uint8Array.of(i, 0xaa)] as const),
  );
  return { tree, root };
}

describe.each([16, 256] as const)("state proofs, radix %i", (radix) => {
  it("verify for present and absent addresses", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom(...pool), { minLength: 0, maxLength: 30 }),
        fc.constantFrom(...pool),
        async (present, asked) => {
          const { tree, root } = await treeOf(radix, present);
          const proof = await tree.prove(root, asked);
          // Third parties get JSON.
          const parsed = JSON.parse(JSON.stringify(proof)) as StateProof;
          const result = verifyStateProof(parsed, { root, address: asked, hash: tree.hashName });
          const index = present.indexOf(asked);
          if (index < 0) {
            expect(result).toEqual({ included: false });
            expect(proof.value).toBeUndefined();
          } else {
            expect(result.included).toBe(true);
            expect(result.included && hex(result.value)).toBe(hex(Uint8Array.of(index, 0xaa)));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("fail on any single-byte change to a node, the value or the root", async () => {
    const { tree, root } = await treeOf(radix, pool.slice(0, 40));
    const absent = pool[pool.length - 1] ?? "";
    for (const address of [pool[3] ?? "", pool[20] ?? "", absent]) {
      const proof = await tree.prove(root, address);
      const expected = { root, address };
      verifyStateProof(proof, expected);
      let checked = 0;
      proof.nodes.forEach((node, n) => {
        for (let at = 0; at < node.length / 2; at++) {
          const nodes = proof.nodes.map((x, i) =>
            i === n ? tamper(x, at, 1 + ((at * 37 + n) % 255)) : x,
          );
          rejects({ ...proof, nodes }, expected);
          checked++;
        }
      });
      expect(checked).toBeGreaterThan(60);
      if (proof.value !== undefined) {
        for (let at = 0; at < proof.value.length / 2; at++) {
          rejects({ ...proof, value: tamper(proof.value, at, 0x80) }, expected);
        }
      }
      for (let at = 0; at < 32; at++) {
        const otherRoot = tamper(root, at, 0x01);
        rejects({ ...proof, root: otherRoot }, expected);
        rejects(proof, { root: otherRoot, address });
        rejects({ ...proof, root: otherRoot }, { root: otherRoot, address });
      }
    }
  });

  it("cannot claim absence of a present address or a wrong value", async () => {
    const { tree, root } = await treeOf(radix, pool.slice(0, 40));
    const present = pool[7] ?? "";
    const absent = pool[pool.length - 2] ?? "";
    const inclusion = await tree.prove(root, present);
    const exclusion = await tree.prove(root, absent);
    const { value: _value, ...withoutValue } = inclusion;
    expect(rejects(withoutValue, { root, address: present })).toMatch(/absence of a present/);
    expect(rejects({ ...exclusion, value: "aa" }, { root, address: absent })).toMatch(
      /value for an absent/,
    );
    expect(rejects({ ...inclusion, value: "00aa" }, { root, address: present })).toMatch(
      /value differs/,
    );
    // Truncated paths prove nothing; extra nodes after the end are refused.
    for (let keep = 0; keep < inclusion.nodes.length; keep++) {
      rejects(
        { ...withoutValue, nodes: inclusion.nodes.slice(0, keep) },
        { root, address: present },
      );
    }
    rejects(
      { ...inclusion, nodes: [...inclusion.nodes, inclusion.nodes[0] ?? ""] },
      { root, address: present },
    );
    // Another address's honest proof does not transfer.
    rejects({ ...exclusion, address: present }, { root, address: present });
    rejects({ ...withoutValue, address: absent }, { root, address: absent });
    // Honest nodes from elsewhere in the tree, spliced in, do not chain to the root.
    const other = await tree.prove(root, pool[30] ?? "");
    rejects(
      { ...withoutValue, nodes: [inclusion.nodes[0] ?? "", ...other.nodes.slice(1)] },
      { root, address: present },
    );
  });
});

describe("verifyStateProof input checks", () => {
  it("rejects malformed proofs and expectations with clear codes", async () => {
    const { tree, root } = await treeOf(16, pool.slice(0, 5));
    const address = pool[1] ?? "";
    const proof = await tree.prove(root, address);
    const expected = { root, address };
    expect(rejects({ ...proof, version: 2 as 1 }, expected)).toMatch(/version/);
    expect(rejects({ ...proof, hash: "md5" as "sm3" }, expected)).toMatch(/hash/);
    expect(rejects({ ...proof, hash: "sm3" }, expected)).toMatch(/hash/);
    expect(rejects(proof, { ...expected, hash: "sm3" } as typeof expected)).toMatch(/another hash/);
    expect(rejects({ ...proof, nodes: [] }, expected)).toMatch(/no nodes/);
    expect(rejects({ ...proof, nodes: proof.nodes.map((n) => n.toUpperCase()) }, expected)).toMatch(
      /hex/,
    );
    expect(rejects({ ...proof, value: "zz" }, expected)).toMatch(/hex/);
    expect(rejects(null as unknown as StateProof, expected)).toMatch(/version/);
    rejects(proof, { root, address: address.toUpperCase() }, "INVALID_ADDRESS");
    rejects(proof, { root: root.slice(1), address }, "INVALID_STATE_ROOT");
    // The empty tree's proof is its one-byte node.
    const empty = await tree.prove(tree.emptyRoot, address);
    expect(empty.nodes).toEqual(["00"]);
    expect(verifyStateProof(empty, { root: tree.emptyRoot, address })).toEqual({ included: false });
  });

  it("depends on nothing but node:crypto, the error class and the node decoder", () => {
    const source = readFileSync(
      new URL("../../src/state/proof-verifier.ts", import.meta.url),
      "utf8",
    );
    const imports = [...source.matchAll(/^import[^"]*"([^"]+)";/gm)].map((m) => m[1]).sort();
    expect(imports).toEqual([
      "../common/errors.js",
      "./errors.js",
      "./interface.js",
      "./node-codec.js",
      "node:crypto",
    ]);
    const codec = readFileSync(new URL("../../src/state/node-codec.ts", import.meta.url), "utf8");
    expect([...codec.matchAll(/^import[^"]*"([^"]+)";/gm)].map((m) => m[1]).sort()).toEqual([
      "../common/errors.js",
      "./errors.js",
    ]);
  });
});
