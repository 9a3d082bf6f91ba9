/**
 * The process-wide suites. A chain fixes its suite in genesis and every module asks for it by
 * id, so each suite (and its key cache) exists once per process.
 */
import { CryptoErrorCode, cryptoError } from "./errors.js";
import { createGmSuite } from "./gm-suite.js";
import type { CryptoSuite, SignatureAlgorithm, SuiteId } from "./interface.js";
import { createStandardSuite } from "./standard-suite.js";

/** Every suite id, in a stable order. */
export const SUITE_IDS: readonly SuiteId[] = Object.freeze(["standard", "gm"]);

/** True when `value` names a crypto suite. */
export function isSuiteId(value: unknown): value is SuiteId {
  return value === "standard" || value === "gm";
}

const suites = new Map<SuiteId, CryptoSuite>();

/**
 * The shared suite `id`, created on first use (the `gm` suite loads the SM2 addon then). Throws
 * `UNKNOWN_SUITE` for an id that is not a suite, e.g. from an unchecked genesis file.
 */
export function getSuite(id: SuiteId): CryptoSuite {
  let suite = suites.get(id);
  if (suite === undefined) {
    if (id === "standard") suite = createStandardSuite();
    else if (id === "gm") suite = createGmSuite();
    else {
      throw cryptoError(CryptoErrorCode.UNKNOWN_SUITE, `unknown crypto suite ${String(id)}`, {
        suite: String(id),
        known: SUITE_IDS,
      });
    }
    suites.set(id, suite);
  }
  return suite;
}

/** The suite that accepts `algorithm` (each algorithm belongs to exactly one suite). */
export function suiteIdOf(algorithm: SignatureAlgorithm): SuiteId {
  return algorithm === "sm2" ? "gm" : "standard";
}
