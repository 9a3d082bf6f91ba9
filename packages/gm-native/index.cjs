/**
 * Loader of the gm-native addon: raw SM2 signing and verification of a 32-byte digest `e`
 * through the OpenSSL that is linked into Node itself, and the native parts of the Merkle
 * state tree (batched SHA-256 / SM3 digests, the block rebuild; src/state_native.c). Z_A and e = SM3(Z_A || M) are computed by
 * the caller (govchain's `gm` suite); see src/gm_native.c for why the addon exists at all.
 *
 * CommonJS on purpose: the suite loads the addon synchronously and only when a chain uses the
 * `gm` suite, so a `standard` chain never needs it.
 */
"use strict";

const path = require("node:path");

/** Loads the compiled addon, preferring a Release build. */
function load() {
  let notFound;
  for (const candidate of ["build/Release/gm_native.node", "build/Debug/gm_native.node"]) {
    try {
      return require(path.join(__dirname, candidate));
    } catch (err) {
      // Only a missing file means "try the next build"; a file that fails to load is a real error.
      if (err !== null && typeof err === "object" && err.code === "MODULE_NOT_FOUND") {
        notFound ??= err;
        continue;
      }
      throw err;
    }
  }
  const error = new Error(
    "@govchain/gm-native is not built: run `npm install` (or `npm rebuild @govchain/gm-native`) " +
      "at the repository root; building needs python3, make and a C compiler",
    { cause: notFound },
  );
  error.code = "ERR_GM_NATIVE_NOT_BUILT";
  throw error;
}

const binding = load();

exports.parsePublicKey = binding.parsePublicKey;
exports.verifyDigest = binding.verifyDigest;
exports.parsePrivateKey = binding.parsePrivateKey;
exports.publicKeyOf = binding.publicKeyOf;
exports.signDigest = binding.signDigest;
exports.digestMany = binding.digestMany;
exports.merkleRebuild = binding.merkleRebuild;
exports.nodeTableCopy = binding.nodeTableCopy;
exports.opensslVersion = binding.opensslVersion;
