/**
 * Types for the few `sodium-native` functions govchain uses (the package ships none). Only
 * functions are declared: its constants sit on the CommonJS object where ESM named imports cannot
 * see them. The functions throw on wrong buffer sizes, so callers check lengths first.
 */
declare module "sodium-native" {
  /** Derives the key pair of a 32-byte seed into `pk` and `sk`. */
  export function crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  /** Writes the signature of `m` by `sk` into `sig`. */
  export function crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  /** True when `sig` is a valid signature of `m` by `pk`. */
  export function crypto_sign_verify_detached(
    sig: Uint8Array,
    m: Uint8Array,
    pk: Uint8Array,
  ): boolean;
  /** Fills `buffer` from libsodium's CSPRNG. */
  export function randombytes_buf(buffer: Uint8Array): void;
  /** Overwrites `buffer` with zeros in a way the compiler cannot skip. */
  export function sodium_memzero(buffer: Uint8Array): void;
}
