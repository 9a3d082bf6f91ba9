/**
 * Checks and helpers both suites share: which algorithms a suite accepts, the errors for keys it
 * cannot use, and fresh private scalars from the OS CSPRNG.
 */
import { randomBytes } from "node:crypto";
import type { GovchainError } from "../common/errors.js";
import { CryptoErrorCode, cryptoError } from "./errors.js";
import type { SignatureAlgorithm, SuiteId } from "./interface.js";

/** Throws `UNSUPPORTED_ALGORITHM` unless `algorithm` is one of the suite's. */
export function checkAlgorithm(
  suite: SuiteId,
  accepted: readonly SignatureAlgorithm[],
  algorithm: SignatureAlgorithm,
): void {
  if (!accepted.includes(algorithm)) {
    throw cryptoError(
      CryptoErrorCode.UNSUPPORTED_ALGORITHM,
      `the ${suite} suite does not accept ${String(algorithm)} keys`,
      { suite, algorithm, accepted },
    );
  }
}

/** The `INVALID_PRIVATE_KEY` error; says what was expected, never what was given. */
export function invalidPrivateKey(algorithm: SignatureAlgorithm, expected: string): GovchainError {
  return cryptoError(
    CryptoErrorCode.INVALID_PRIVATE_KEY,
    `not a valid ${algorithm} private key: expected ${expected}`,
    { algorithm },
  );
}

/**
 * 32 random bytes that `isValid` accepts. For both curves the first draw is valid except with
 * probability below 2^-32, so the loop is a formality.
 */
export function randomScalar(isValid: (candidate: Uint8Array) => boolean): Uint8Array {
  for (;;) {
    const candidate = new Uint8Array(randomBytes(32));
    if (isValid(candidate)) return candidate;
  }
}
