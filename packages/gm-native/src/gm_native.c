/*
 * gm-native: raw SM2 (GB/T 32918) signing and verification of a 32-byte digest `e`, for
 * govchain's `gm` crypto suite. The Merkle state tree's native parts (batched digests, the
 * block rebuild) are in state_native.c.
 *
 * Why an addon: Node's crypto cannot set the SM2 distinguishing identifier (OpenSSL 3.0's
 * EVP digest-sign path hashes Z_A with an empty id), and pure-JS SM2 is about ten times too
 * slow for a validator. The caller computes Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA)
 * and e = SM3(Z_A || M) itself (Node has SM3), so this file only runs OpenSSL's SM2 primitive on
 * `e`, which is exactly the part Node does not expose.
 *
 * Nothing is linked: the `node` binary exports OpenSSL's symbols and node-gyp puts Node's own
 * OpenSSL headers on the include path, so the addon always matches the OpenSSL in the process.
 *
 * Rules kept throughout: every N-API status is checked; bad input never crashes the process
 * (it throws a JS error, or `verify` returns false); the OpenSSL error queue is cleared after
 * every failure so a stale error cannot surface in a later, unrelated `node:crypto` call.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include "state_native.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST_LEN 32
#define SCALAR_LEN 32
#define SIGNATURE_LEN 64
#define UNCOMPRESSED_LEN 65
/* An ECDSA-Sig-Value of two 256-bit integers is at most 72 bytes of DER. */
#define MAX_DER_SIG_LEN 80
/* What a parsed key costs outside the V8 heap (EVP_PKEY, EC_KEY, group, context), roughly;
 * reported to V8 so that dropped keys are collected under memory pressure. */
#define KEY_EXTERNAL_BYTES 2048

/* SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey, sm2 (1.2.156.10197.1.301) },
 * BIT STRING 04||x||y }. OpenSSL 3 decodes an EC key on the SM2 curve as an SM2-type key, which
 * selects the SM2 signature algorithm instead of ECDSA. */
static const uint8_t SPKI_PREFIX[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c,
                                      0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00};

/* ECPrivateKey (RFC 5915) { version 1, privateKey OCTET STRING (32), [0] sm2 OID } around the
 * scalar; OpenSSL derives the public point when the optional field is absent. */
static const uint8_t SEC1_PREFIX[] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
static const uint8_t SEC1_SUFFIX[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x81,
                                      0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d};

/* n - 1 of the SM2 curve. A private key must lie in [1, n-2]: signing divides by (1 + d). */
static const uint8_t ORDER_MINUS_ONE[SCALAR_LEN] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x22};

/* Type tags make sure an external handed back by JS really is one of ours, and of the right
 * kind, before its pointer is dereferenced. */
static const napi_type_tag PUBLIC_KEY_TAG = {0x8c3f1b2a6d4e4f01ULL, 0x9a7b5c3d2e1f0a01ULL};
static const napi_type_tag PRIVATE_KEY_TAG = {0x8c3f1b2a6d4e4f02ULL, 0x9a7b5c3d2e1f0a02ULL};

/* A parsed key with an operation context initialised once, so a verify or sign costs only the
 * SM2 arithmetic. Contexts are used from the JS thread that created them and nowhere else. */
typedef struct {
  EVP_PKEY *pkey;
  EVP_PKEY_CTX *ctx;
  /* Whether KEY_EXTERNAL_BYTES were reported to V8, so the finalizer gives back only those. */
  bool counted;
} gm_key;

#define NAPI_CALL(env, call)                                                                      \
  do {                                                                                            \
    if ((call) != napi_ok) {                                                                      \
      throw_last_napi_error(env);                                                                 \
      return NULL;                                                                                \
    }                                                                                             \
  } while (0)

static void throw_last_napi_error(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  const char *message = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL)
    message = info->error_message;
  napi_throw_error(env, "ERR_GM_NATIVE", message);
}

/* Throws a JS error (code, message) after dropping OpenSSL's queued errors; returns NULL so
 * callers can `return throw_error(...)`. */
static napi_value throw_error(napi_env env, const char *code, const char *message) {
  ERR_clear_error();
  napi_throw_error(env, code, message);
  return NULL;
}

static void free_key(gm_key *key) {
  if (key == NULL) return;
  EVP_PKEY_CTX_free(key->ctx);
  EVP_PKEY_free(key->pkey);
  free(key);
}

static void finalize_key(napi_env env, void *data, void *hint) {
  (void)hint;
  gm_key *key = (gm_key *)data;
  if (key != NULL && key->counted) {
    int64_t adjusted = 0;
    /* Only a hint to the GC; nothing useful can be done if it fails during teardown. */
    (void)napi_adjust_external_memory(env, -KEY_EXTERNAL_BYTES, &adjusted);
  }
  free_key(key);
}

/* Reads argument `value` as a Uint8Array (a Buffer is one) of exactly `length` bytes. Returns
 * false, with an exception pending, when it is not. */
static bool get_bytes(napi_env env, napi_value value, size_t length, const char *name,
                      const uint8_t **out) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok) {
    throw_last_napi_error(env);
    return false;
  }
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (!is_typed_array ||
      napi_get_typedarray_info(env, value, &type, &count, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a Uint8Array", name);
    throw_error(env, "ERR_GM_NATIVE_INVALID_ARG", message);
    return false;
  }
  if (count != length) {
    char message[96];
    snprintf(message, sizeof message, "%s must be %zu bytes", name, length);
    throw_error(env, "ERR_GM_NATIVE_INVALID_ARG", message);
    return false;
  }
  /* A zero-length view may report a NULL data pointer; lengths here are never zero. */
  *out = (const uint8_t *)data;
  return true;
}

/* Unwraps one of our externals carrying `tag`. Returns NULL with an exception pending. */
static gm_key *get_key(napi_env env, napi_value value, const napi_type_tag *tag) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) {
    throw_last_napi_error(env);
    return NULL;
  }
  bool tagged = false;
  if (type != napi_external || napi_check_object_type_tag(env, value, tag, &tagged) != napi_ok ||
      !tagged) {
    throw_error(env, "ERR_GM_NATIVE_INVALID_ARG",
                tag == &PUBLIC_KEY_TAG ? "not an SM2 public key handle"
                                       : "not an SM2 private key handle");
    return NULL;
  }
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    throw_last_napi_error(env);
    return NULL;
  }
  return (gm_key *)data;
}

/* Hands `key` to JS as a tagged external whose finalizer frees it. Frees it on failure. */
static napi_value wrap_key(napi_env env, gm_key *key, const napi_type_tag *tag) {
  napi_value external;
  if (napi_create_external(env, key, finalize_key, NULL, &external) != napi_ok) {
    free_key(key);
    throw_last_napi_error(env);
    return NULL;
  }
  /* From here the finalizer owns `key`. Without its tag the handle is refused everywhere. */
  NAPI_CALL(env, napi_type_tag_object(env, external, tag));
  /* The memory report only steers the GC, so a failure is not an error; the finalizer gives
   * back exactly what was reported. */
  int64_t adjusted = 0;
  key->counted = napi_adjust_external_memory(env, KEY_EXTERNAL_BYTES, &adjusted) == napi_ok;
  return external;
}

static bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last_napi_error(env);
    return false;
  }
  if (argc < expected) {
    throw_error(env, "ERR_GM_NATIVE_INVALID_ARG", "missing arguments");
    return false;
  }
  return true;
}

/* parsePublicKey(uncompressed: Uint8Array(65) 04||x||y): handle. Throws when the point is not on
 * the SM2 curve. */
static napi_value parse_public_key(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  const uint8_t *point = NULL;
  if (!get_bytes(env, argv[0], UNCOMPRESSED_LEN, "public key", &point)) return NULL;
  if (point[0] != 0x04)
    return throw_error(env, "ERR_GM_NATIVE_INVALID_KEY", "public key must start with 04");

  uint8_t spki[sizeof SPKI_PREFIX + UNCOMPRESSED_LEN];
  memcpy(spki, SPKI_PREFIX, sizeof SPKI_PREFIX);
  memcpy(spki + sizeof SPKI_PREFIX, point, UNCOMPRESSED_LEN);
  const unsigned char *cursor = spki;
  /* Decoding checks that the point lies on the curve. */
  EVP_PKEY *pkey = d2i_PUBKEY(NULL, &cursor, (long)sizeof spki);
  if (pkey == NULL) return throw_error(env, "ERR_GM_NATIVE_INVALID_KEY", "invalid SM2 public key");
  if (!EVP_PKEY_is_a(pkey, "SM2")) {
    EVP_PKEY_free(pkey);
    return throw_error(env, "ERR_GM_NATIVE_INVALID_KEY", "OpenSSL did not load an SM2 key");
  }
  gm_key *key = calloc(1, sizeof *key);
  if (key == NULL) {
    EVP_PKEY_free(pkey);
    return throw_error(env, "ERR_GM_NATIVE", "out of memory");
  }
  key->pkey = pkey;
  key->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  if (key->ctx == NULL || EVP_PKEY_verify_init(key->ctx) != 1) {
    free_key(key);
    return throw_error(env, "ERR_GM_NATIVE", "cannot initialise SM2 verification");
  }
  return wrap_key(env, key, &PUBLIC_KEY_TAG);
}

/* Encodes r||s as a DER ECDSA-Sig-Value (the form OpenSSL's SM2 takes). Returns the length, or
 * 0 on failure. */
static int encode_der_signature(const uint8_t *rs, uint8_t *der) {
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(rs, SCALAR_LEN, NULL);
  BIGNUM *s = BN_bin2bn(rs + SCALAR_LEN, SCALAR_LEN, NULL);
  if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
    ECDSA_SIG_free(sig);
    BN_free(r);
    BN_free(s);
    return 0;
  }
  /* `sig` owns r and s now. */
  int length = i2d_ECDSA_SIG(sig, NULL);
  if (length <= 0 || length > MAX_DER_SIG_LEN) {
    ECDSA_SIG_free(sig);
    return 0;
  }
  unsigned char *cursor = der;
  length = i2d_ECDSA_SIG(sig, &cursor);
  ECDSA_SIG_free(sig);
  return length > 0 ? length : 0;
}

/* verifyDigest(key: handle, e: Uint8Array(32), signature: Uint8Array(64) r||s): boolean. A well-formed
 * call never throws: any signature that does not verify, including r or s outside [1, n-1]
 * (OpenSSL checks the range), gives false. */
static napi_value verify_digest(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  gm_key *key = get_key(env, argv[0], &PUBLIC_KEY_TAG);
  if (key == NULL) return NULL;
  const uint8_t *digest = NULL;
  const uint8_t *rs = NULL;
  if (!get_bytes(env, argv[1], DIGEST_LEN, "digest", &digest)) return NULL;
  if (!get_bytes(env, argv[2], SIGNATURE_LEN, "signature", &rs)) return NULL;

  uint8_t der[MAX_DER_SIG_LEN];
  int der_len = encode_der_signature(rs, der);
  bool valid = der_len > 0 && EVP_PKEY_verify(key->ctx, der, (size_t)der_len, digest, DIGEST_LEN) == 1;
  if (!valid) ERR_clear_error();
  napi_value result;
  NAPI_CALL(env, napi_get_boolean(env, valid, &result));
  return result;
}

/* parsePrivateKey(d: Uint8Array(32)): handle. Throws unless 1 <= d <= n-2. */
static napi_value parse_private_key(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  const uint8_t *scalar = NULL;
  if (!get_bytes(env, argv[0], SCALAR_LEN, "private key", &scalar)) return NULL;
  static const uint8_t zero[SCALAR_LEN] = {0};
  if (memcmp(scalar, zero, SCALAR_LEN) == 0 || memcmp(scalar, ORDER_MINUS_ONE, SCALAR_LEN) >= 0)
    return throw_error(env, "ERR_GM_NATIVE_INVALID_KEY", "SM2 private key out of range [1, n-2]");

  uint8_t sec1[sizeof SEC1_PREFIX + SCALAR_LEN + sizeof SEC1_SUFFIX];
  memcpy(sec1, SEC1_PREFIX, sizeof SEC1_PREFIX);
  memcpy(sec1 + sizeof SEC1_PREFIX, scalar, SCALAR_LEN);
  memcpy(sec1 + sizeof SEC1_PREFIX + SCALAR_LEN, SEC1_SUFFIX, sizeof SEC1_SUFFIX);
  const unsigned char *cursor = sec1;
  EVP_PKEY *pkey = d2i_PrivateKey(EVP_PKEY_SM2, NULL, &cursor, (long)sizeof sec1);
  OPENSSL_cleanse(sec1, sizeof sec1);
  if (pkey == NULL) return throw_error(env, "ERR_GM_NATIVE_INVALID_KEY", "invalid SM2 private key");
  if (!EVP_PKEY_is_a(pkey, "SM2")) {
    EVP_PKEY_free(pkey);
    return throw_error(env, "ERR_GM_NATIVE_INVALID_KEY", "OpenSSL did not load an SM2 key");
  }
  gm_key *key = calloc(1, sizeof *key);
  if (key == NULL) {
    EVP_PKEY_free(pkey);
    return throw_error(env, "ERR_GM_NATIVE", "out of memory");
  }
  key->pkey = pkey;
  key->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  if (key->ctx == NULL || EVP_PKEY_sign_init(key->ctx) != 1) {
    free_key(key);
    return throw_error(env, "ERR_GM_NATIVE", "cannot initialise SM2 signing");
  }
  return wrap_key(env, key, &PRIVATE_KEY_TAG);
}

/* publicKeyOf(key: private handle): Uint8Array(65) 04||x||y. */
static napi_value public_key_of(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  gm_key *key = get_key(env, argv[0], &PRIVATE_KEY_TAG);
  if (key == NULL) return NULL;
  uint8_t point[UNCOMPRESSED_LEN];
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &length) != 1 ||
      length != UNCOMPRESSED_LEN || point[0] != 0x04)
    return throw_error(env, "ERR_GM_NATIVE", "cannot read the SM2 public key");
  void *data = NULL;
  napi_value buffer;
  napi_value result;
  NAPI_CALL(env, napi_create_arraybuffer(env, UNCOMPRESSED_LEN, &data, &buffer));
  memcpy(data, point, UNCOMPRESSED_LEN);
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, UNCOMPRESSED_LEN, buffer, 0, &result));
  return result;
}

/* signDigest(key: private handle, e: Uint8Array(32)): Uint8Array(64) r||s, with a fresh random k
 * from OpenSSL's CSPRNG. */
static napi_value sign_digest(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  gm_key *key = get_key(env, argv[0], &PRIVATE_KEY_TAG);
  if (key == NULL) return NULL;
  const uint8_t *digest = NULL;
  if (!get_bytes(env, argv[1], DIGEST_LEN, "digest", &digest)) return NULL;

  uint8_t der[MAX_DER_SIG_LEN];
  size_t der_len = sizeof der;
  if (EVP_PKEY_sign(key->ctx, der, &der_len, digest, DIGEST_LEN) != 1)
    return throw_error(env, "ERR_GM_NATIVE", "SM2 signing failed");
  const unsigned char *cursor = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &cursor, (long)der_len);
  if (sig == NULL) return throw_error(env, "ERR_GM_NATIVE", "SM2 signing gave invalid DER");
  const BIGNUM *r = NULL;
  const BIGNUM *s = NULL;
  ECDSA_SIG_get0(sig, &r, &s);
  uint8_t rs[SIGNATURE_LEN];
  bool ok = BN_bn2binpad(r, rs, SCALAR_LEN) == SCALAR_LEN &&
            BN_bn2binpad(s, rs + SCALAR_LEN, SCALAR_LEN) == SCALAR_LEN;
  ECDSA_SIG_free(sig);
  if (!ok) return throw_error(env, "ERR_GM_NATIVE", "SM2 signature does not fit 64 bytes");

  void *data = NULL;
  napi_value buffer;
  napi_value result;
  NAPI_CALL(env, napi_create_arraybuffer(env, SIGNATURE_LEN, &data, &buffer));
  memcpy(data, rs, SIGNATURE_LEN);
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, SIGNATURE_LEN, buffer, 0, &result));
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor properties[] = {
      {"parsePublicKey", NULL, parse_public_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verifyDigest", NULL, verify_digest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"parsePrivateKey", NULL, parse_private_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"publicKeyOf", NULL, public_key_of, NULL, NULL, NULL, napi_enumerable, NULL},
      {"signDigest", NULL, sign_digest, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                                        properties));
  napi_value version;
  NAPI_CALL(env, napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION_STRING),
                                         NAPI_AUTO_LENGTH, &version));
  NAPI_CALL(env, napi_set_named_property(env, exports, "opensslVersion", version));
  if (!state_native_init(env, exports)) return NULL;
  return exports;
}
