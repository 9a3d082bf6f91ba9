/**
 * The `gm` suite (国密, China's commercial cryptography standards): SM2 signatures with the
 * default user id and SM3 for every hash, including the payload digest that Sawtooth computes
 * with SHA-512. Public keys are 33-byte compressed SM2 points.
 */
import { sm3, sm3Hex } from "./digests.js";
import { isCompressedPoint } from "./ec-encoding.js";
import type { CryptoSuite, PrivateKey, SignatureAlgorithm, Signer } from "./interface.js";
import { type CryptoSuiteOptions, DEFAULT_KEY_CACHE_SIZE } from "./options.js";
import { createSm2Signer, createSm2Verifier, isValidSm2PrivateKey } from "./sm2.js";
import { checkAlgorithm, invalidPrivateKey, randomScalar } from "./suite-support.js";

const ALGORITHMS: readonly SignatureAlgorithm[] = Object.freeze(["sm2"]);

/**
 * A `gm` suite with its own key cache. Most callers want `getSuite("gm")`. Throws
 * `CRYPTO_BACKEND_UNAVAILABLE` when the SM2 addon is not built.
 */
export function createGmSuite(options: CryptoSuiteOptions = {}): CryptoSuite {
  const verifySm2 = createSm2Verifier(options.keyCacheSize ?? DEFAULT_KEY_CACHE_SIZE);

  const algorithmOf = (publicKey: Uint8Array): SignatureAlgorithm | undefined =>
    isCompressedPoint(publicKey) ? "sm2" : undefined;

  return {
    id: "gm",
    algorithms: ALGORITHMS,
    hashName: "sm3",
    hash: sm3,
    payloadDigest: sm3Hex,
    generateKey(algorithm: SignatureAlgorithm = "sm2"): PrivateKey {
      checkAlgorithm("gm", ALGORITHMS, algorithm);
      return { algorithm, bytes: randomScalar(isValidSm2PrivateKey) };
    },
    createSigner(key: PrivateKey): Signer {
      checkAlgorithm("gm", ALGORITHMS, key.algorithm);
      if (!isValidSm2PrivateKey(key.bytes))
        throw invalidPrivateKey(key.algorithm, "32 bytes in [1, n-2]");
      return createSm2Signer(key.bytes);
    },
    algorithmOf,
    verify(publicKey, message, signature) {
      // Never throws: a caller passing something that is not bytes gets false, like a bad key.
      try {
        return algorithmOf(publicKey) === "sm2" && verifySm2(publicKey, message, signature);
      } catch {
        return false;
      }
    },
  };
}
