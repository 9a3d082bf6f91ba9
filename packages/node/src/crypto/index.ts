/**
 * Crypto: the two crypto suites a chain can fix in genesis — `standard` (Ed25519 via libsodium,
 * Sawtooth-compatible secp256k1, SHA-256/SHA-512) and `gm` (SM2 with the default user id via
 * the `@govchain/gm-native` addon, SM3) — plus key files. Everything that signs, verifies or
 * hashes for a chain goes through `getSuite(id)`, so no other module knows which algorithms are
 * in use. Verification returns false and never throws; parsed public keys are cached per suite
 * in a bounded LRU. See docs/adr/0002-crypto-suites.md and docs/benchmarks/crypto.md.
 */
export { sha256, sha512, sha512Hex, sm3, sm3Hex } from "./digests.js";
export { CryptoErrorCode, type CryptoErrorCodeName } from "./errors.js";
export { getSuite, isSuiteId, SUITE_IDS, suiteIdOf } from "./get-suite.js";
export { createGmSuite } from "./gm-suite.js";
export type * from "./interface.js";
export {
  KEY_FILE_MODE,
  type KeyFileContent,
  keyFileContent,
  parseKeyFile,
  type ReadKeyFileOptions,
  readKeyFile,
  type WriteKeyFileOptions,
  writeKeyFile,
} from "./key-file.js";
export { type CryptoSuiteOptions, DEFAULT_KEY_CACHE_SIZE } from "./options.js";
export { SM2_DEFAULT_USER_ID, sm2Digest, sm2Za } from "./sm2.js";
export { createStandardSuite } from "./standard-suite.js";
