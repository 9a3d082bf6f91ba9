/**
 * Crypto suites. A chain fixes its suite in genesis: `standard` (Ed25519 for speed, secp256k1
 * for Sawtooth-compatible signers, SHA-256/SHA-512) or `gm` (SM2 with the default user id
 * `1234567812345678`, SM3). Everything that signs, verifies or hashes for the chain goes
 * through the suite, so no other module knows which algorithms are in use.
 */

/** Identifier of a crypto suite, fixed per chain in genesis. */
export type SuiteId = "standard" | "gm";

/** A signature algorithm. Public keys are distinguished by encoding within one suite. */
export type SignatureAlgorithm = "ed25519" | "secp256k1" | "sm2";

/** A private key with its algorithm. `bytes` is the 32-byte scalar or seed. */
export interface PrivateKey {
  readonly algorithm: SignatureAlgorithm;
  readonly bytes: Uint8Array;
}

/** Signs messages with one private key. */
export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /** The public key in the suite's wire encoding (Ed25519: 32 bytes; secp256k1, SM2: 33-byte compressed). */
  readonly publicKey: Uint8Array;
  /** Lower-case hex of `publicKey`, as it appears in Sawtooth headers. */
  readonly publicKeyHex: string;
  /** A 64-byte signature of `message` (Ed25519 over the message; secp256k1: compact low-S r‖s over SHA-256(message); SM2: r‖s with Z_A of the default id, SM3). */
  sign(message: Uint8Array): Uint8Array;
}

/** The algorithms and hashes of one chain. */
export interface CryptoSuite {
  readonly id: SuiteId;
  /** Accepted signature algorithms; the first is the default for new keys. */
  readonly algorithms: readonly SignatureAlgorithm[];
  /** Name of `hash`'s function: `sha256` (standard) or `sm3` (gm). */
  readonly hashName: "sha256" | "sm3";
  /** 32-byte digest used for Merkle state nodes and other chain-internal hashing. */
  hash(data: Uint8Array): Uint8Array;
  /**
   * Lower-case hex digest of a transaction payload for `TransactionHeader.payload_sha512`:
   * SHA-512 in `standard` (Sawtooth-compatible), SM3 in `gm`.
   */
  payloadDigest(payload: Uint8Array): string;
  /** A fresh private key from the OS CSPRNG; default algorithm `algorithms[0]`. */
  generateKey(algorithm?: SignatureAlgorithm): PrivateKey;
  /** A signer for `key`; throws `UNSUPPORTED_ALGORITHM` if the suite does not accept it. */
  createSigner(key: PrivateKey): Signer;
  /** Algorithm of a public key in this suite's encodings, or undefined when not acceptable. */
  algorithmOf(publicKey: Uint8Array): SignatureAlgorithm | undefined;
  /**
   * True when `signature` is a valid signature of `message` by `publicKey`. Returns false
   * (never throws) for malformed keys or signatures. Parsed keys are cached internally.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}
