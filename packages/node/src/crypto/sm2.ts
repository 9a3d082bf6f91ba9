/**
 * SM2 signatures (GB/T 32918.2) with SM3, as China's commercial cryptography rules require:
 * e = SM3(Z_A || M) with Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA), and the
 * default distinguishing identifier `1234567812345678` (GB/T 35276). This is not ECDSA on the
 * SM2 curve: both the digest and the signature equation differ.
 *
 * Z_A and e are computed here with Node's SM3 (Z_A once per key, cached with the parsed key);
 * the `@govchain/gm-native` addon signs and verifies `e` with the OpenSSL inside Node, because
 * Node's own API cannot set the identifier and pure-JS SM2 is more than ten times slower
 * (docs/adr/0002-crypto-suites.md). The addon is loaded on first use, so chains on the
 * `standard` suite never need it.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type * as GmNative from "@govchain/gm-native";
import { concatBytes, fromHex, toHex, utf8 } from "../common/bytes.js";
import { errorMessage } from "../common/errors.js";
import { sm3 } from "./digests.js";
import { compressPoint, decompressPoint, isCompressedPoint, isScalarBelow } from "./ec-encoding.js";
import { CryptoErrorCode, cryptoError } from "./errors.js";
import type { Signer } from "./interface.js";
import { createKeyCache } from "./key-cache.js";

/** The default SM2 distinguishing identifier, `1234567812345678` (GB/T 35276-2017). */
export const SM2_DEFAULT_USER_ID: Uint8Array = utf8("1234567812345678");
// A private copy: a caller writing into the exported array cannot change what is signed.
const DEFAULT_USER_ID = SM2_DEFAULT_USER_ID.slice();

/** Bytes of an SM2 signature (r || s). */
export const SM2_SIGNATURE_LENGTH = 64;

/** n - 1 of the SM2 curve: private keys lie in [1, n-2] because signing divides by (1 + d). */
const ORDER_MINUS_ONE = Buffer.from(
  "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54122",
  "hex",
);

/** a || b || xG || yG of the SM2 curve (GB/T 32918.5), the fixed middle of Z_A's input. */
const CURVE_PARAMETERS = fromHex(
  "fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc" +
    "28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93" +
    "32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7" +
    "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0",
);

const require = createRequire(import.meta.url);
let native: typeof GmNative | undefined;

/**
 * The SM2 addon, loaded on first use. Throws `CRYPTO_BACKEND_UNAVAILABLE` when it is not built.
 */
export function loadGmNative(): typeof GmNative {
  if (native === undefined) {
    try {
      native = require("@govchain/gm-native") as typeof GmNative;
    } catch (err) {
      throw cryptoError(
        CryptoErrorCode.CRYPTO_BACKEND_UNAVAILABLE,
        `the SM2 addon @govchain/gm-native cannot be loaded: ${errorMessage(err)}`,
        { package: "@govchain/gm-native" },
        err,
      );
    }
  }
  return native;
}

/** True when `key` is a valid SM2 private key: 32 bytes, 1 <= d <= n-2. */
export function isValidSm2PrivateKey(key: Uint8Array): boolean {
  return isScalarBelow(key, ORDER_MINUS_ONE);
}

/**
 * Z_A of a public key (uncompressed, 04 || x || y) and a distinguishing identifier (default
 * `SM2_DEFAULT_USER_ID`; at most 8191 bytes, since ENTL is its bit length in two bytes).
 */
export function sm2Za(publicKey: Uint8Array, userId: Uint8Array = DEFAULT_USER_ID): Uint8Array {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) {
    throw new RangeError("sm2Za needs an uncompressed public key (65 bytes, 04 || x || y)");
  }
  if (userId.length > 8191) throw new RangeError("an SM2 user id has at most 8191 bytes");
  const entl = userId.length * 8;
  const prefix = Uint8Array.of((entl >>> 8) & 0xff, entl & 0xff);
  return sm3(concatBytes(prefix, userId, CURVE_PARAMETERS, publicKey.subarray(1)));
}

/** e = SM3(Z_A || message), the digest SM2 actually signs. */
export function sm2Digest(za: Uint8Array, message: Uint8Array): Uint8Array {
  // Two updates instead of a concatenation: messages can be large, Z_A is 32 bytes.
  const out = createHash("sm3").update(za).update(message).digest();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A signer for a private key the caller has checked with `isValidSm2PrivateKey`. */
export function createSm2Signer(privateKey: Uint8Array): Signer {
  const gm = loadGmNative();
  const handle = gm.parsePrivateKey(privateKey);
  const uncompressed = gm.publicKeyOf(handle);
  const za = sm2Za(uncompressed);
  const publicKey = compressPoint(uncompressed);
  return {
    algorithm: "sm2",
    publicKey,
    publicKeyHex: toHex(publicKey),
    // OpenSSL draws a fresh nonce from its CSPRNG: SM2 signatures are not deterministic.
    sign: (message) => gm.signDigest(handle, sm2Digest(za, message)),
  };
}

/** A parsed SM2 public key with its Z_A for the default identifier. */
interface ParsedSm2Key {
  readonly handle: GmNative.Sm2PublicKeyHandle;
  readonly za: Uint8Array;
}

/** Verifies SM2 signatures made with the default identifier. */
export type Sm2Verifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

/** A verifier that keeps up to `cacheSize` parsed public keys (with their Z_A). */
export function createSm2Verifier(cacheSize: number): Sm2Verifier {
  const gm = loadGmNative();
  const keys = createKeyCache<ParsedSm2Key>(cacheSize);
  const parse = (compressed: Uint8Array): ParsedSm2Key | undefined => {
    const point = decompressPoint(compressed, "SM2");
    if (point === undefined) return undefined;
    try {
      return { handle: gm.parsePublicKey(point), za: sm2Za(point) };
    } catch {
      return undefined;
    }
  };
  return (publicKey, message, signature) => {
    if (!isCompressedPoint(publicKey) || signature.length !== SM2_SIGNATURE_LENGTH) return false;
    const key = keys.get(publicKey, parse);
    if (key === undefined) return false;
    // OpenSSL rejects r or s outside [1, n-1] itself; that gives false, not an error.
    return gm.verifyDigest(key.handle, sm2Digest(key.za, message), signature);
  };
}
