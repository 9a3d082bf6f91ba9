/**
 * Ed25519 through libsodium (`sodium-native`): about twice the verify rate of `node:crypto` with
 * a cached KeyObject, and no key parsing at all (docs/benchmarks/crypto.md). Every node of a chain
 * must accept exactly the same signatures, so Ed25519 is verified by libsodium everywhere and
 * never by a second library: libsodium rejects small-order and non-canonical public keys and a
 * non-canonical S, where other implementations differ at the edges.
 */
import {
  crypto_sign_detached,
  crypto_sign_seed_keypair,
  crypto_sign_verify_detached,
} from "sodium-native";
import { toHex } from "../common/bytes.js";
import type { Signer } from "./interface.js";

/** Bytes of an Ed25519 seed (the private key govchain stores). */
export const ED25519_SEED_LENGTH = 32;
/** Bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;
/** Bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;
/** Bytes of libsodium's expanded secret key (seed || public key). */
const SECRET_KEY_LENGTH = 64;

/** True when `seed` can be an Ed25519 private key (any 32 bytes). */
export function isValidEd25519Seed(seed: Uint8Array): boolean {
  return seed instanceof Uint8Array && seed.length === ED25519_SEED_LENGTH;
}

/** A signer for a 32-byte seed; the caller has checked the length. */
export function createEd25519Signer(seed: Uint8Array): Signer {
  const publicKey = new Uint8Array(ED25519_PUBLIC_KEY_LENGTH);
  const secretKey = new Uint8Array(SECRET_KEY_LENGTH);
  crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return {
    algorithm: "ed25519",
    publicKey,
    publicKeyHex: toHex(publicKey),
    sign(message) {
      const signature = new Uint8Array(ED25519_SIGNATURE_LENGTH);
      crypto_sign_detached(signature, message, secretKey);
      return signature;
    },
  };
}

/** True when `signature` is a valid Ed25519 signature of `message` by `publicKey`. */
export function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  // libsodium reads only the first 64 bytes of a longer signature; a wire signature must be exact.
  if (
    publicKey.length !== ED25519_PUBLIC_KEY_LENGTH ||
    signature.length !== ED25519_SIGNATURE_LENGTH
  ) {
    return false;
  }
  return crypto_sign_verify_detached(signature, message, publicKey);
}
