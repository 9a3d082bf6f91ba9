/**
 * Options of the crypto suite factories. `getSuite` uses the defaults; the composition root may
 * build its own suites with `createStandardSuite` / `createGmSuite` to size the caches.
 */

/** Default number of parsed public keys kept per suite and algorithm. */
export const DEFAULT_KEY_CACHE_SIZE = 10_000;

/** Options of `createStandardSuite` and `createGmSuite`. */
export interface CryptoSuiteOptions {
  /**
   * Parsed public keys kept per algorithm (LRU), so a signer seen again costs no parsing; a
   * parsed key costs about 1–2 KB. Default `DEFAULT_KEY_CACHE_SIZE` (10,000): more than the
   * signers of a busy permissioned chain, bounded so that unknown keys cannot grow memory.
   */
  readonly keyCacheSize?: number;
}
