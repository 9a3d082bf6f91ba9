/**
 * The `standard` suite: Ed25519 (the default, fastest to verify) and secp256k1 for signers that
 * come from Hyperledger Sawtooth tooling; SHA-256 for chain hashing and SHA-512 for
 * `payload_sha512`, as in Sawtooth. A public key's algorithm follows from its encoding:
 * 32 bytes is Ed25519, 33 bytes starting 02/03 is a compressed secp256k1 point.
 */
import { randomBytes } from "node:crypto";
import { sha256, sha512Hex } from "./digests.js";
import { isCompressedPoint } from "./ec-encoding.js";
import {
  createEd25519Signer,
  ED25519_PUBLIC_KEY_LENGTH,
  isValidEd25519Seed,
  verifyEd25519,
} from "./ed25519.js";
import type { CryptoSuite, PrivateKey, SignatureAlgorithm, Signer } from "./interface.js";
import { type CryptoSuiteOptions, DEFAULT_KEY_CACHE_SIZE } from "./options.js";
import {
  createSecp256k1Signer,
  createSecp256k1Verifier,
  isValidSecp256k1PrivateKey,
} from "./secp256k1.js";
import { checkAlgorithm, invalidPrivateKey, randomScalar } from "./suite-support.js";

const ALGORITHMS: readonly SignatureAlgorithm[] = Object.freeze(["ed25519", "secp256k1"]);

/** A `standard` suite with its own key cache. Most callers want `getSuite("standard")`. */
export function createStandardSuite(options: CryptoSuiteOptions = {}): CryptoSuite {
  const verifySecp256k1 = createSecp256k1Verifier(options.keyCacheSize ?? DEFAULT_KEY_CACHE_SIZE);

  const algorithmOf = (publicKey: Uint8Array): SignatureAlgorithm | undefined => {
    if (publicKey.length === ED25519_PUBLIC_KEY_LENGTH) return "ed25519";
    if (isCompressedPoint(publicKey)) return "secp256k1";
    return undefined;
  };

  return {
    id: "standard",
    algorithms: ALGORITHMS,
    hashName: "sha256",
    hash: sha256,
    payloadDigest: sha512Hex,
    generateKey(algorithm: SignatureAlgorithm = "ed25519"): PrivateKey {
      checkAlgorithm("standard", ALGORITHMS, algorithm);
      const bytes =
        algorithm === "ed25519"
          ? new Uint8Array(randomBytes(32))
          : randomScalar(isValidSecp256k1PrivateKey);
      return { algorithm, bytes };
    },
    createSigner(key: PrivateKey): Signer {
      checkAlgorithm("standard", ALGORITHMS, key.algorithm);
      if (key.algorithm === "ed25519") {
        if (!isValidEd25519Seed(key.bytes)) throw invalidPrivateKey(key.algorithm, "32 bytes");
        return createEd25519Signer(key.bytes);
      }
      if (!isValidSecp256k1PrivateKey(key.bytes)) {
        throw invalidPrivateKey(key.algorithm, "32 bytes in [1, n-1]");
      }
      return createSecp256k1Signer(key.bytes);
    },
    algorithmOf,
    verify(publicKey, message, signature) {
      // Never throws: a caller passing something that is not bytes gets false, like a bad key.
      try {
        switch (algorithmOf(publicKey)) {
          case "ed25519":
            return verifyEd25519(publicKey, message, signature);
          case "secp256k1":
            return verifySecp256k1(publicKey, message, signature);
          default:
            return false;
        }
      } catch {
        return false;
      }
    },
  };
}
