/**
 * Verifies a state proof with nothing but the proof, a trusted root and the address asked
 * about: no store, no tree, no node. The CLI and third parties (auditors holding only the
 * genesis file and a commit certificate) run exactly this code.
 *
 * Soundness rests on the tree's invariants (ADR 0003): a node found by following hashes from a
 * trusted root is the node at that position, and canonical nodes say where they are. So a
 * branch whose prefix leaves the address, an empty slot on the address's digit, or a leaf
 * for another address each prove absence; no path can end at a present key's position without
 * showing its leaf, and the leaf's bytes fix the value.
 */
import { hash as digest } from "node:crypto";
import { GovchainError } from "../common/errors.js";
import { StateErrorCode } from "./errors.js";
import type { ProofResult, StateProof } from "./interface.js";
import {
  childHash,
  childIndex,
  decodeNode,
  digitAt,
  digitWidth,
  NodeKind,
  type Radix,
  type StateNode,
} from "./node-codec.js";

/** What the verifier is told to trust and what it was asked. */
export interface ProofExpectation {
  /** The trusted state root (from a block with a valid commit certificate). */
  readonly root: string;
  /** The address the proof must be about. */
  readonly address: string;
  /** The chain's hash; when given, a proof built with another is rejected. */
  readonly hash?: "sha256" | "sm3";
}

const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;
const ADDRESS = /^[0-9a-f]{70}$/;
const ROOT = /^[0-9a-f]{64}$/;

function reject(reason: string, context: Record<string, unknown> = {}): never {
  throw new GovchainError(StateErrorCode.INVALID_PROOF, `invalid state proof: ${reason}`, context);
}

function bytesOf(hex: unknown, what: string): Uint8Array {
  if (typeof hex !== "string" || !LOWER_HEX.test(hex)) reject(`${what} is not lower-case hex`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/**
 * Checks `proof` against the trusted `expected.root` and `expected.address`, returning whether
 * the address is included and with which value. Throws `INVALID_PROOF` (with the reason) for
 * any proof that does not establish its claim, and `INVALID_ADDRESS` when `expected` itself
 * is malformed.
 */
export function verifyStateProof(proof: StateProof, expected: ProofExpectation): ProofResult {
  if (typeof expected.address !== "string" || !ADDRESS.test(expected.address)) {
    throw new GovchainError(
      StateErrorCode.INVALID_ADDRESS,
      "the expected address is not 70 lower-case hex characters",
    );
  }
  if (typeof expected.root !== "string" || !ROOT.test(expected.root)) {
    throw new GovchainError(
      StateErrorCode.INVALID_STATE_ROOT,
      "the trusted root is not 64 lower-case hex characters",
    );
  }
  // The proof usually arrives as parsed JSON: check its shape before trusting any field.
  const p: Partial<Record<keyof StateProof, unknown>> =
    typeof proof === "object" && proof !== null ? proof : {};
  if (p.version !== 1) reject("unsupported version", { version: p.version });
  const algorithm = p.hash;
  if (algorithm !== "sha256" && algorithm !== "sm3") reject("unknown hash", { hash: algorithm });
  if (expected.hash !== undefined && algorithm !== expected.hash) {
    reject("built with another hash than the chain's", {
      hash: algorithm,
      expected: expected.hash,
    });
  }
  if (p.root !== expected.root) reject("it is for another root");
  if (p.address !== expected.address) reject("it is for another address");
  if (p.value !== undefined) bytesOf(p.value, "the value");
  const nodes = p.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) reject("it has no nodes");

  const address = expected.address;
  let want = bytesOf(expected.root, "the root");
  let matched = 0; // hex digits of the address fixed by the branches passed so far
  let radix: Radix | undefined;
  let outcome: ProofResult | undefined;
  for (let i = 0; i < nodes.length; i++) {
    if (outcome !== undefined) reject("nodes follow the end of the address's path", { node: i });
    const bytes = bytesOf(nodes[i], `node ${i}`);
    if (!sameBytes(digest(algorithm, bytes, "buffer"), want)) {
      reject(
        i === 0
          ? "the first node does not hash to the root"
          : "a node does not hash to its parent's child",
        {
          node: i,
        },
      );
    }
    let node: StateNode;
    try {
      node = decodeNode(bytes);
    } catch (err) {
      reject(`node ${i} is not a canonical node`, {
        node: i,
        cause: err instanceof Error ? err.message : String(err),
      });
    }
    const onPath = address.slice(0, matched);
    if (node.kind === NodeKind.EMPTY) {
      if (i !== 0) reject("an empty node below the root", { node: i });
      outcome = { included: false };
    } else if (node.kind === NodeKind.LEAF) {
      if (!node.address.startsWith(onPath)) reject("a leaf is off the address's path", { node: i });
      outcome =
        node.address === address
          ? { included: true, value: node.value.slice() }
          : { included: false };
    } else {
      if (radix !== undefined && node.radix !== radix)
        reject("branches of two radixes", { node: i });
      radix = node.radix;
      if (node.prefix.length < matched || !node.prefix.startsWith(onPath)) {
        reject("a branch is off the address's path", { node: i });
      }
      if (!address.startsWith(node.prefix)) {
        outcome = { included: false };
      } else {
        const ordinal = childIndex(node, digitAt(radix, address, node.prefix.length));
        if (ordinal < 0) {
          outcome = { included: false };
        } else {
          want = childHash(node, ordinal);
          matched = node.prefix.length + digitWidth(radix);
        }
      }
    }
  }
  if (outcome === undefined) reject("it ends before the address's path does");
  if (outcome.included) {
    if (p.value === undefined) reject("it claims absence of a present address");
    if (!sameBytes(bytesOf(p.value, "the value"), outcome.value))
      reject("its value differs from the leaf's");
  } else if (p.value !== undefined) {
    reject("it claims a value for an absent address");
  }
  return outcome;
}
