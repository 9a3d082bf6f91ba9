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

/** Where a sync gets nodes: peers asked by hash. */
export interface StateNodeSource {
  /** Peers that should hold the state, best first. */
  readonly peers: readonly string[];
  /**
   * Nodes by hash from one peer, aligned with `hashes`: `undefined` where the peer lacks a node;
   * a shorter array when its answer was cut at its size bound; `undefined` as a whole when the
   * peer did not answer in time.
   */
  request(
    peer: string,
    hashes: readonly Uint8Array[],
  ): Promise<readonly (Uint8Array | undefined)[] | undefined>;
}

/** Bounds of a sync. */
export interface StateSyncOptions {
  /** Hashes per request; default 2,048 (64 KiB of hashes, answers of ~0.2–2 MiB). */
  readonly maxNodesPerRequest?: number;
  /** Requests in flight per peer; default 2, so a peer works while its last answer travels. */
  readonly requestsPerPeer?: number;
  /** Bytes of nodes gathered before one store write; default 8 MiB. */
  readonly writeBytes?: number;
  /** Unanswered requests in a row after which a peer is dropped; default 3. */
  readonly maxPeerFailures?: number;
  /** Stops the sync (it fails with `STATE_SYNC_FAILED`; complete subtrees stay stored). */
  readonly signal?: AbortSignal;
}

/** What a sync did. */
export interface StateSyncReport {
  readonly root: string;
  /** Nodes received, verified and stored. */
  readonly nodesTransferred: number;
  /** Bytes of those nodes. */
  readonly bytesTransferred: number;
  /**
   * Referenced nodes found in the local store and so not transferred; each stands for its
   * whole subtree, which was not walked.
   */
  readonly nodesPresent: number;
  /** Received nodes refused (wrong hash, not a canonical node of this radix). */
  readonly nodesRejected: number;
  /** Requests sent. */
  readonly requests: number;
  /** Peers dropped during the sync: they sent a bad node or stopped answering. */
  readonly droppedPeers: readonly string[];
}

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
  /**
   * Copies the state at a trusted `root` from peers into the store, transferring only the
   * nodes the store lacks and verifying each against the hash that names it (ADR 0010).
   * Throws `STATE_SYNC_FAILED` when the peers cannot supply it; complete subtrees stay stored.
   */
  sync(
    root: StateRoot,
    source: StateNodeSource,
    options?: StateSyncOptions,
  ): Promise<StateSyncReport>;
  /**
   * Values at `addresses` under a trusted `root` the store does not hold, read from peers node
   * by node along their paths, each node checked against the hash that names it.
   */
  readRemote(
    root: StateRoot,
    addresses: readonly Address[],
    source: StateNodeSource,
  ): Promise<Map<Address, Uint8Array>>;
}
