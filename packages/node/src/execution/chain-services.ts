/**
 * Chain-level services the executor offers to every transaction: who the signer is, what the
 * chain settings say, and whether the signer may use a family at all. They read state directly
 * (not through the transaction's declared inputs) because identity and settings are chain-wide
 * facts, like Sawtooth's permissioning; implementations live with the families that own that
 * state and are injected by the composition root.
 */
import type { SignerIdentity } from "./family.js";

/** Reads state at the current point of execution, bypassing input declarations. */
export type PrivilegedReader = (addresses: readonly string[]) => Promise<Map<string, Uint8Array>>;

/** Identity, settings and family-access answers, computed from state through `read`. */
export interface ChainServices {
  /** The registered identity of `publicKey`, if any. */
  identityOf(publicKey: string, read: PrivilegedReader): Promise<SignerIdentity | undefined>;
  /** A chain setting's current value, if set. */
  getSetting(key: string, read: PrivilegedReader): Promise<string | undefined>;
  /**
   * Undefined when `signerPublicKey` may submit transactions of `familyName`; otherwise a
   * human-readable reason. Checked at admission (against the head) and again at execution.
   */
  authorize(
    familyName: string,
    signerPublicKey: string,
    read: PrivilegedReader,
  ): Promise<string | undefined>;
}
