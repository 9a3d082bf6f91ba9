/**
 * The transaction-family SDK (architecture decision 7). A family is trusted TypeScript
 * compiled into the node. Its `apply` sees only what the context allows: the state addresses
 * the transaction declared as inputs (reads) and outputs (writes), the block's height and time
 * (never the wall clock), the signer's identity, and chain settings. It must be deterministic.
 *
 * A family rejects a transaction by throwing `InvalidTransaction`; every node rejects it the
 * same way and the batch is marked INVALID. Any other exception is an internal error: the block
 * is not committed with it.
 */
import { GovchainError } from "../common/errors.js";
import type { TransactionHeader } from "../wire/types.js";

/** The transaction as a family sees it. */
export interface TransactionRequest {
  /** Transaction id (= header signature). */
  readonly id: string;
  readonly header: TransactionHeader;
  readonly payload: Uint8Array;
}

/** Who signed a transaction, as the identity family records them. */
export interface SignerIdentity {
  readonly publicKey: string;
  /** Organisation the agent acts for; undefined for system-level agents. */
  readonly organisationId?: string;
  /** Roles held (identity family role names, e.g. `operator`). */
  readonly roles: readonly string[];
  /** False when the agent has been disabled. */
  readonly active: boolean;
}

/** Attributes of a family event: ordered key/value pairs (Sawtooth's Event.Attribute). */
export type EventAttributes = readonly (readonly [key: string, value: string])[];

/** What `apply` may do. Reads/writes outside the declared inputs/outputs fail the transaction. */
export interface TransactionContext {
  /** Height of the block being built or validated. */
  readonly blockHeight: bigint;
  /** Block time in milliseconds since the Unix epoch, from the block header. */
  readonly blockTimeMs: number;
  /** The signer's public key (hex). */
  readonly signerPublicKey: string;
  /** Values of `addresses` (only those that are set). Each must be under a declared input. */
  getState(addresses: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** Sets values. Each address must be under a declared output. */
  setState(entries: Iterable<readonly [string, Uint8Array]>): Promise<void>;
  /** Deletes addresses (no-op where unset). Each must be under a declared output. */
  deleteState(addresses: readonly string[]): Promise<void>;
  /** The signer's registered identity, or undefined when the key is not a registered agent. */
  signerIdentity(): Promise<SignerIdentity | undefined>;
  /** Identity of any key, for checks such as "the receiver is an organisation admin". */
  identityOf(publicKey: string): Promise<SignerIdentity | undefined>;
  /** Current value of a chain setting (settings family), or undefined. */
  getSetting(key: string): Promise<string | undefined>;
  /** Emits an event, delivered to subscribers when the block commits. */
  addEvent(eventType: string, attributes?: EventAttributes, data?: Uint8Array): void;
  /** Appends opaque data to the transaction's receipt. */
  addReceiptData(data: Uint8Array): void;
}

/** A transaction family compiled into the node. */
export interface TransactionFamily {
  /** Family name as in `TransactionHeader.family_name`. */
  readonly name: string;
  /** Accepted `family_version` values. */
  readonly versions: readonly string[];
  /** State namespaces (6 hex chars) the family writes. */
  readonly namespaces: readonly string[];
  /**
   * Cheap, state-free check at admission (payload decodes, sizes, field formats), so malformed
   * transactions are refused before they reach the mempool. Throws `InvalidTransaction`.
   */
  checkPayload?(request: TransactionRequest): void;
  /** Applies the transaction. Throws `InvalidTransaction` to reject it deterministically. */
  apply(request: TransactionRequest, context: TransactionContext): Promise<void>;
}

/** A deterministic rejection of a transaction. `message` goes into the batch status. */
export class InvalidTransaction extends GovchainError {
  readonly extendedData: Uint8Array | undefined;

  constructor(message: string, options: { code?: string; extendedData?: Uint8Array } = {}) {
    super(options.code ?? "INVALID_TRANSACTION", message);
    this.extendedData = options.extendedData;
  }
}
