/**
 * Merkle state: a radix tree over Sawtooth's 70-hex-character addresses with path compression.
 * Nodes are immutable and addressed by their hash, so every block's root stays readable
 * until pruned, and speculative execution of a candidate block never disturbs committed state.
 */
import type { KvOperation } from "../storage/interface.js";

/** A state address: 70 lower-case hex characters (35 bytes), Sawtooth-compatible. */
export type Address = string;

/** Hex of a state root (32-byte hash of the root node). */
export type StateRoot = string;

/** A change to one address: bytes to set, or null to delete. */
export type StateChange = readonly [address: Address, value: Uint8Array | null];

/** Result of applying changes to a root: the new root and the nodes it needs. */
export interface StateUpdate {
  readonly root: StateRoot;
  /** The root it was computed from. */
  readonly parent: StateRoot;
  /**
   * Storage writes that persist every new node; include them in the block's atomic write.
   * Their bytes are the tree's own in-memory copies: write them, never modify them.
   */
  readonly operations: readonly KvOperation[];
  /** Number of new nodes written. */
  readonly nodeCount: number;
}

/** One page of a listing. */
export interface StatePage {
  readonly entries: readonly (readonly [Address, Uint8Array])[];
  /** The address to pass as `start` for the next page, when there is one. */
  readonly next?: Address;
}

/** A proof that an address has a value (inclusion) or has none (exclusion) under a root. */
export interface StateProof {
  /** Proof format version. */
  readonly version: 1;
  /** `sha256` or `sm3`: the suite hash that built the tree. */
  readonly hash: "sha256" | "sm3";
  readonly root: StateRoot;
  readonly address: Address;
  /** Hex of the value for an inclusion proof; absent for an exclusion proof. */
  readonly value?: string;
  /** Hex-encoded nodes from the root down the address's path, in the documented node encoding. */
  readonly nodes: readonly string[];
}

/** The outcome of verifying a proof. */
export type ProofResult =
  | { readonly included: true; readonly value: Uint8Array }
  | { readonly included: false };

/** Reads and updates Merkle state. */
export interface StateTree {
  /** Root of the empty tree. */
  readonly emptyRoot: StateRoot;
  /** Value at `address` under `root`. */
  get(root: StateRoot, address: Address): Promise<Uint8Array | undefined>;
  /** Values at `addresses` under `root` (absent ones omitted). */
  getMany(root: StateRoot, addresses: readonly Address[]): Promise<Map<Address, Uint8Array>>;
  /**
   * Entries whose address starts with `prefix` (even or odd length hex, may be empty), in
   * address order, starting at `start` (inclusive) and at most `limit` of them.
   */
  list(
    root: StateRoot,
    prefix: string,
    options?: { start?: Address; limit?: number },
  ): Promise<StatePage>;
  /**
   * Applies `changes` (later entries for the same address win) to `root`. The new nodes are
   * kept in memory, readable through this tree, until `release` is called for the update;
   * persist them by writing `operations` to the store first.
   */
  update(root: StateRoot, changes: Iterable<StateChange>): Promise<StateUpdate>;
  /** Forgets the in-memory copy of an update's nodes (after they are persisted or abandoned). */
  release(update: StateUpdate): void;
  /** An inclusion or exclusion proof for `address` under `root`. */
  prove(root: StateRoot, address: Address): Promise<StateProof>;
  /** True when the root node is present (the state at that root is readable). */
  hasRoot(root: StateRoot): Promise<boolean>;
}
