/*
 * Native parts of govchain's Merkle state tree (docs/adr/0003-merkle-state.md):
 *
 * - digestMany: SHA-256 or SM3 of many inputs in one call. `crypto.hash()` costs ~1 µs per
 *   call on top of the hashing (argument checks, a Buffer for the result, the JS↔C++ transition),
 *   more than hashing a small node takes.
 * - merkleRebuild: a block's whole rebuild of the 16-ary (or 256-ary) path-compressed radix tree,
 *   the same algorithm as the TypeScript it replaced, over the same node encoding: walk the
 *   sorted changes down the old tree, encode the new nodes children first into slabs, then hash
 *   them bottom-up, each digest copied into its parent's child slot. In JavaScript this was ~4×
 *   the hashing (per-node objects, string keys, bounds-checked byte loops); here it is close to
 *   the hashing itself.
 *
 * The tree's node tables stay in JavaScript (packages/node/src/state/node-table.ts): open
 * addressing over one Int32Array, each slot a 32-byte key and the node's place (buffer id,
 * offset, length) among the buffers the tree registered. This file probes them directly and
 * touches no JS object per node. Nodes are never trusted blindly: every place is checked against
 * its buffer's size, and every node against the canonical layout, before any offset in it is
 * used, so corrupt input throws instead of reading out of bounds.
 *
 * Rules as in gm_native.c: every N-API status is checked; bad input throws a JS error with a
 * `code`; OpenSSL's error queue is cleared after a failure.
 */
#define NAPI_VERSION 8
#include "state_native.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GCC and Clang (the compilers node-gyp uses on Linux and macOS); elsewhere no prefetching and
 * plain loads and stores (a race between worker threads then leaks one fetched digest). */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#define LOAD_ACQUIRE(pointer) __atomic_load_n(pointer, __ATOMIC_ACQUIRE)
#define COMPARE_EXCHANGE(pointer, expected, desired)                                              \
  __atomic_compare_exchange_n(pointer, expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#else
#define PREFETCH(address) ((void)(address))
#define LOAD_ACQUIRE(pointer) (*(pointer))
#define COMPARE_EXCHANGE(pointer, expected, desired) (*(pointer) = (desired), true)
#endif

#define HASH_LEN 32
#define ADDRESS_LEN 35
#define ADDRESS_NIBBLES 70
#define KEY_LEN (1 + HASH_LEN)
#define STATE_NODE_PREFIX 0x02
#define MAX_INPUTS (1u << 26)
/* New nodes are carved from slabs of this size; larger nodes get their own buffer. Matches
 * SLAB_BYTES in state-tree.ts. */
#define SLAB_BYTES (64 * 1024)

enum { KIND_EMPTY = 0, KIND_LEAF = 1, KIND_BRANCH_16 = 2, KIND_BRANCH_256 = 3 };

/* Child results of the rebuild: >= 0 is a new node's index, <= REF_BASE an existing hash. */
#define UNCHANGED (-1)
#define GONE (-2)
#define REF_BASE (-3)
/* The rebuild stopped: a node is in none of the tables, or an error was thrown (ctx->failed). */
#define FAILED INT32_MIN

static napi_value throw_code(napi_env env, const char *code, const char *message) {
  ERR_clear_error();
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
  napi_throw_error(env, code, message);
  return NULL;
}

static napi_value throw_napi(napi_env env) {
  const napi_extended_error_info *info = NULL;
  const char *message = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL)
    message = info->error_message;
  return throw_code(env, "ERR_GM_NATIVE", message);
}

static napi_value invalid_arg(napi_env env, const char *message) {
  return throw_code(env, "ERR_GM_NATIVE_INVALID_ARG", message);
}

/* ---- digests ------------------------------------------------------------------------------ */

/* Fetched once per algorithm for the life of the process: a fetched EVP_MD is reference-counted
 * and safe to share between threads. Worker threads may race to fill a slot; the loser frees
 * its copy. */
static EVP_MD *fetched_digests[2];

static const EVP_MD *digest_by_name(napi_env env, napi_value value) {
  char name[16];
  size_t length = 0;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string ||
      napi_get_value_string_utf8(env, value, name, sizeof name, &length) != napi_ok) {
    invalid_arg(env, "algorithm must be \"sha256\" or \"sm3\"");
    return NULL;
  }
  int slot;
  const char *openssl_name;
  if (strcmp(name, "sha256") == 0) {
    slot = 0;
    openssl_name = "SHA256";
  } else if (strcmp(name, "sm3") == 0) {
    slot = 1;
    openssl_name = "SM3";
  } else {
    invalid_arg(env, "algorithm must be \"sha256\" or \"sm3\"");
    return NULL;
  }
  EVP_MD *md = LOAD_ACQUIRE(&fetched_digests[slot]);
  if (md != NULL) return md;
  EVP_MD *fresh = EVP_MD_fetch(NULL, openssl_name, NULL);
  if (fresh == NULL || EVP_MD_get_size(fresh) != HASH_LEN) {
    EVP_MD_free(fresh);
    throw_code(env, "ERR_GM_NATIVE", "OpenSSL has no such digest");
    return NULL;
  }
  EVP_MD *expected = NULL;
  if (!COMPARE_EXCHANGE(&fetched_digests[slot], &expected, fresh)) {
    EVP_MD_free(fresh);
    return expected;
  }
  return fresh;
}

static bool digest_one(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *data, size_t length,
                       uint8_t *out) {
  unsigned int written = 0;
  return EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, data, length) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &written) == 1 && written == HASH_LEN;
}


/* ---- SM3, eight messages at a time --------------------------------------------------------
 *
 * OpenSSL 3.0's SM3 is portable C, ~290 MB/s here: a block's ~1.15 MB of new nodes took ~4 ms
 * to hash, as much as the rest of the rebuild. The nodes of one tree level are independent
 * messages of mostly equal length, so they are hashed eight at a time in the eight 32-bit
 * lanes of AVX2 registers (the SM3 compression function of GB/T 32905, word for word), ~5×
 * OpenSSL's speed per message. Messages with no partner of the same length in blocks, and CPUs
 * without AVX2, go through OpenSSL. Tests compare every length class with node:crypto.
 */
/* One message to hash and where its digest goes. */
typedef struct {
  const uint8_t *data;
  size_t length;
  uint8_t *out;
} hash_job;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SM3_X8 1
#include <immintrin.h>

static const uint32_t SM3_IV[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                                   0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};

static inline uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> ((32 - n) & 31)); }

/* T_j <<< (j mod 32), for each round; filled in by state_native_init. */
static uint32_t SM3_TJ[64];
static void sm3_init_constants(void) {
  for (int j = 0; j < 64; j++) SM3_TJ[j] = rotl32(j < 16 ? 0x79cc4519u : 0x7a879d8au, j % 32);
}

/* Number of 64-byte blocks after padding a message of `length` bytes. */
static inline size_t sm3_blocks(size_t length) { return (length + 9 + 63) / 64; }

/* Block `i` of the padded message (data, length): in place when whole, else built in
 * `scratch` (64 bytes). */
static inline const uint8_t *sm3_block(const uint8_t *data, size_t length, size_t i,
                                       uint8_t *scratch) {
  size_t start = i * 64;
  if (start + 64 <= length) return data + start;
  memset(scratch, 0, 64);
  if (start < length) memcpy(scratch, data + start, length - start);
  if (start <= length) scratch[length - start] = 0x80;
  size_t total = sm3_blocks(length);
  if (i == total - 1) {
    uint64_t bits = (uint64_t)length * 8;
    for (int k = 0; k < 8; k++) scratch[56 + k] = (uint8_t)(bits >> (56 - 8 * k));
  }
  return scratch;
}

#define ROTL8(x, n) _mm256_or_si256(_mm256_slli_epi32((x), (n)), _mm256_srli_epi32((x), 32 - (n)))

/* 8 lanes of SM3: lane l hashes (data[l], length[l]); all lanes must have the same number of
 * padded blocks. */
__attribute__((target("avx2"))) static void sm3_x8(const uint8_t *const data[8],
                                                   const size_t length[8], uint8_t *const out[8]) {
  const __m256i bswap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3,
                                         2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  __m256i v[8];
  for (int k = 0; k < 8; k++) v[k] = _mm256_set1_epi32((int)SM3_IV[k]);
  size_t n = sm3_blocks(length[0]);
  uint8_t scratch[8][64];
  __m256i w[68];
  for (size_t i = 0; i < n; i++) {
    const uint8_t *blocks[8];
    for (int l = 0; l < 8; l++) blocks[l] = sm3_block(data[l], length[l], i, scratch[l]);
    /* Transpose: w[j] lane l = word j of lane l's block. */
    for (int j = 0; j < 16; j += 8) {
      __m256i r[8];
      for (int l = 0; l < 8; l++)
        r[l] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(blocks[l] + 4 * j)), bswap);
      __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
      __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
      __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
      __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
      __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
      __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
      __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
      __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
      w[j + 0] = _mm256_permute2x128_si256(u0, u4, 0x20);
      w[j + 1] = _mm256_permute2x128_si256(u1, u5, 0x20);
      w[j + 2] = _mm256_permute2x128_si256(u2, u6, 0x20);
      w[j + 3] = _mm256_permute2x128_si256(u3, u7, 0x20);
      w[j + 4] = _mm256_permute2x128_si256(u0, u4, 0x31);
      w[j + 5] = _mm256_permute2x128_si256(u1, u5, 0x31);
      w[j + 6] = _mm256_permute2x128_si256(u2, u6, 0x31);
      w[j + 7] = _mm256_permute2x128_si256(u3, u7, 0x31);
    }
    for (int j = 16; j < 68; j++) {
      __m256i x = _mm256_xor_si256(_mm256_xor_si256(w[j - 16], w[j - 9]), ROTL8(w[j - 3], 15));
      x = _mm256_xor_si256(_mm256_xor_si256(x, ROTL8(x, 15)), ROTL8(x, 23));
      w[j] = _mm256_xor_si256(_mm256_xor_si256(x, ROTL8(w[j - 13], 7)), w[j - 6]);
    }
    __m256i a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    for (int j = 0; j < 64; j++) {
      __m256i a12 = ROTL8(a, 12);
      __m256i ss1 = _mm256_add_epi32(_mm256_add_epi32(a12, e), _mm256_set1_epi32((int)SM3_TJ[j]));
      ss1 = ROTL8(ss1, 7);
      __m256i ss2 = _mm256_xor_si256(ss1, a12);
      __m256i ff, gg;
      if (j < 16) {
        ff = _mm256_xor_si256(_mm256_xor_si256(a, b), c);
        gg = _mm256_xor_si256(_mm256_xor_si256(e, f), g);
      } else {
        ff = _mm256_or_si256(_mm256_and_si256(a, _mm256_or_si256(b, c)), _mm256_and_si256(b, c));
        gg = _mm256_or_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g));
      }
      __m256i tt1 = _mm256_add_epi32(_mm256_add_epi32(ff, d),
                                     _mm256_add_epi32(ss2, _mm256_xor_si256(w[j], w[j + 4])));
      __m256i tt2 = _mm256_add_epi32(_mm256_add_epi32(gg, h), _mm256_add_epi32(ss1, w[j]));
      d = c; c = ROTL8(b, 9); b = a; a = tt1;
      h = g; g = ROTL8(f, 19); f = e;
      e = _mm256_xor_si256(_mm256_xor_si256(tt2, ROTL8(tt2, 9)), ROTL8(tt2, 17));
    }
    v[0] = _mm256_xor_si256(v[0], a); v[1] = _mm256_xor_si256(v[1], b);
    v[2] = _mm256_xor_si256(v[2], c); v[3] = _mm256_xor_si256(v[3], d);
    v[4] = _mm256_xor_si256(v[4], e); v[5] = _mm256_xor_si256(v[5], f);
    v[6] = _mm256_xor_si256(v[6], g); v[7] = _mm256_xor_si256(v[7], h);
  }
  uint32_t words[8][8];
  for (int k = 0; k < 8; k++) _mm256_storeu_si256((__m256i *)words[k], v[k]);
  for (int l = 0; l < 8; l++)
    for (int k = 0; k < 8; k++) {
      uint32_t x = words[k][l];
      out[l][4 * k] = (uint8_t)(x >> 24); out[l][4 * k + 1] = (uint8_t)(x >> 16);
      out[l][4 * k + 2] = (uint8_t)(x >> 8); out[l][4 * k + 3] = (uint8_t)x;
    }
}

static int compare_blocks(const void *x, const void *y) {
  size_t a = sm3_blocks(((const hash_job *)x)->length);
  size_t b = sm3_blocks(((const hash_job *)y)->length);
  return a < b ? -1 : a > b;
}
#else
#define HAVE_SM3_X8 0
#endif

static bool sm3_x8_available;

/* Hashes the independent `jobs` with `md`, SM3 eight at a time when it can (reordering
 * `jobs`). */
static bool digest_jobs(EVP_MD_CTX *ctx, const EVP_MD *md, bool sm3, hash_job *jobs,
                        size_t count) {
#if HAVE_SM3_X8
  if (sm3 && sm3_x8_available) {
    qsort(jobs, count, sizeof *jobs, compare_blocks);
    size_t i = 0;
    while (i < count) {
      /* A run of messages of the same length in blocks, eight (or fewer, the spare lanes
       * hashing copies of the first, then dropped) at a time; a lone one through OpenSSL. */
      size_t blocks = sm3_blocks(jobs[i].length);
      size_t end = i + 1;
      while (end < count && sm3_blocks(jobs[end].length) == blocks) end++;
      while (end - i >= 2) {
        size_t lanes = end - i < 8 ? end - i : 8;
        const uint8_t *data[8];
        size_t length[8];
        uint8_t *out[8];
        uint8_t spare[8][HASH_LEN];
        for (size_t l = 0; l < 8; l++) {
          const hash_job *job = &jobs[l < lanes ? i + l : i];
          data[l] = job->data;
          length[l] = job->length;
          out[l] = l < lanes ? job->out : spare[l];
        }
        sm3_x8(data, length, out);
        i += lanes;
      }
      if (i < end && !digest_one(ctx, md, jobs[i].data, jobs[i].length, jobs[i].out))
        return false;
      i = end;
    }
    return true;
  }
#else
  (void)sm3;
#endif
  for (size_t i = 0; i < count; i++) {
    if (!digest_one(ctx, md, jobs[i].data, jobs[i].length, jobs[i].out)) return false;
  }
  return true;
}

/* Reads `value` as a Uint8Array. A zero-length view may report a NULL pointer: `empty` then. */
static bool read_bytes(napi_env env, napi_value value, const uint8_t **data, size_t *length) {
  static const uint8_t empty[1];
  bool is_typed_array = false;
  napi_typedarray_type type;
  void *pointer = NULL;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array ||
      napi_get_typedarray_info(env, value, &type, length, &pointer, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return false;
  *data = pointer != NULL ? (const uint8_t *)pointer : empty;
  return true;
}

/* digestMany(algorithm: "sha256" | "sm3", inputs: Uint8Array[]): Uint8Array, the 32-byte
 * digests of the inputs concatenated in order. */
static napi_value digest_many(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_napi(env);
  if (argc < 2) return invalid_arg(env, "missing arguments");
  const EVP_MD *md = digest_by_name(env, argv[0]);
  if (md == NULL) return NULL;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok)
    return invalid_arg(env, "inputs must be an array of Uint8Arrays");
  if (n > MAX_INPUTS) return invalid_arg(env, "too many inputs");
  void *out = NULL;
  napi_value buffer;
  napi_value result;
  if (napi_create_arraybuffer(env, (size_t)n * HASH_LEN, &out, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, (size_t)n * HASH_LEN, buffer, 0, &result) !=
          napi_ok)
    return throw_napi(env);
  hash_job *jobs = malloc((n + 1) * sizeof *jobs);
  if (jobs == NULL) return throw_code(env, "ERR_GM_NATIVE", "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    if (napi_get_element(env, argv[1], i, &element) != napi_ok ||
        !read_bytes(env, element, &jobs[i].data, &jobs[i].length)) {
      free(jobs);
      char message[64];
      snprintf(message, sizeof message, "inputs[%u] must be a Uint8Array", i);
      return invalid_arg(env, message);
    }
    jobs[i].out = (uint8_t *)out + (size_t)i * HASH_LEN;
  }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx != NULL &&
            digest_jobs(ctx, md, md == LOAD_ACQUIRE(&fetched_digests[1]),
                        jobs, n);
  EVP_MD_CTX_free(ctx);
  free(jobs);
  if (!ok) return throw_code(env, "ERR_GM_NATIVE", "digest failed");
  return result;
}

/* ---- the rebuild -------------------------------------------------------------------------- */

/* One NodeTable (node-table.ts): SLOT_WORDS int32 words per slot, the key as 8 little-endian
 * words, then buffer id + 1 (0: empty slot), offset, length. */
#define SLOT_WORDS 12
typedef struct {
  const uint32_t *words;
  uint32_t shift;
  uint32_t mask;
} node_table;

/* A registered buffer, resolved on first use. */
typedef struct {
  const uint8_t *data;
  size_t size;
  bool resolved;
} slab_ref;

typedef struct {
  uint8_t *data;
  uint32_t length;
  int32_t slab;    /* index into the output slabs */
  uint32_t offset; /* in that slab */
  int32_t parent;  /* index of the new node whose child slot receives this node's hash, or -1 */
  uint32_t parent_at;
} new_node;

typedef struct {
  napi_env env;
  int radix;
  int width; /* hex digits per tree digit: 1 (radix 16) or 2 (radix 256) */
  uint32_t count;
  const uint8_t *addresses; /* count * 35 bytes, strictly ascending */
  const uint8_t **values;   /* NULL: delete */
  size_t *value_lengths;
  node_table *tables;
  uint32_t table_count;
  uint32_t seed;
  napi_value buffers; /* the registry's buffers, by id */
  slab_ref *buffer_refs;
  uint32_t buffer_count;

  new_node *nodes;
  uint32_t node_count;
  uint32_t node_capacity;
  const uint8_t **refs; /* existing 32-byte hashes named by child results */
  uint32_t ref_count;
  uint32_t ref_capacity;

  napi_value slabs; /* JS array of the ArrayBuffers new nodes live in */
  uint32_t slab_count;
  uint8_t *slab;    /* the current slab's memory */
  size_t slab_size;
  size_t slab_used;
  uint32_t slab_index;   /* of the current slab in `slabs` */
  napi_value slab_value; /* the current slab */

  bool failed; /* an exception is pending */
} rebuild_ctx;

static int32_t fail(rebuild_ctx *ctx, const char *code, const char *message) {
  if (!ctx->failed) throw_code(ctx->env, code, message);
  ctx->failed = true;
  return FAILED;
}

static int32_t fail_napi(rebuild_ctx *ctx) {
  if (!ctx->failed) throw_napi(ctx->env);
  ctx->failed = true;
  return FAILED;
}

static inline const uint8_t *address_at(const rebuild_ctx *ctx, uint32_t i) {
  return ctx->addresses + (size_t)i * ADDRESS_LEN;
}

static inline int nibble_at(const uint8_t *bytes, uint32_t i) {
  return i & 1 ? bytes[i >> 1] & 15 : bytes[i >> 1] >> 4;
}

/* The tree digit of a 35-byte address starting at nibble `pos` (even for radix 256). */
static inline int digit_at(const rebuild_ctx *ctx, const uint8_t *address, uint32_t pos) {
  return ctx->radix == 16 ? nibble_at(address, pos) : address[pos >> 1];
}

static inline uint32_t read_word(const uint8_t *bytes) {
  return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
         (uint32_t)bytes[3] << 24;
}

/* A parsed branch (its bytes checked against the canonical layout). */
typedef struct {
  const uint8_t *bytes;
  uint32_t length;
  uint32_t prefix_length; /* nibbles */
  uint32_t bitmap;        /* offset */
  uint32_t bitmap_bytes;  /* 2 or 32 */
  uint32_t child_offset;
  uint32_t children;
} branch;

static const uint8_t POPCOUNT[256] = {
#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
    B6(0), B6(1), B6(1), B6(2)};
#undef B2
#undef B4
#undef B6

static inline int popcount8(unsigned x) { return POPCOUNT[x & 0xff]; }

static bool parse_branch(const rebuild_ctx *ctx, const uint8_t *bytes, uint32_t length,
                         branch *out) {
  if (length < 2) return false;
  uint32_t n = bytes[1];
  uint32_t bitmap_bytes = ctx->radix / 8;
  if (ctx->radix == 16 ? n > ADDRESS_NIBBLES - 1 : (n > ADDRESS_NIBBLES - 2 || n % 2 != 0))
    return false;
  uint32_t bitmap = 2 + (n + 1) / 2;
  uint32_t child_offset = bitmap + bitmap_bytes;
  if (length < child_offset || (length - child_offset) % HASH_LEN != 0) return false;
  uint32_t children = 0;
  for (uint32_t i = 0; i < bitmap_bytes; i++) children += popcount8(bytes[bitmap + i]);
  if (children < 2 || children != (length - child_offset) / HASH_LEN) return false;
  out->bytes = bytes;
  out->length = length;
  out->prefix_length = n;
  out->bitmap = bitmap;
  out->bitmap_bytes = bitmap_bytes;
  out->child_offset = child_offset;
  out->children = children;
  return true;
}

/* Ordinal of `slot` among the branch's children, or -1 when it is empty. */
static int child_ordinal(const branch *b, int slot) {
  const uint8_t *bitmap = b->bytes + b->bitmap;
  int byte_index = slot >> 3;
  int bit = 0x80 >> (slot & 7);
  if (!(bitmap[byte_index] & bit)) return -1;
  int rank = popcount8(bitmap[byte_index] & ~((bit << 1) - 1));
  for (int i = 0; i < byte_index; i++) rank += popcount8(bitmap[i]);
  return rank;
}

/* How many leading nibbles the branch's prefix shares with `address`, at most the prefix. */
static uint32_t prefix_common(const branch *b, const uint8_t *address) {
  const uint8_t *prefix = b->bytes + 2;
  uint32_t n = b->prefix_length;
  uint32_t i = 0;
  while (i + 1 < n && prefix[i >> 1] == address[i >> 1]) i += 2;
  while (i < n && nibble_at(prefix, i) == nibble_at(address, i)) i++;
  return i;
}

/* Finds the node whose hash is the 32 bytes at `hash`. NULL when absent, or on an error
 * (ctx->failed set). */
static const uint8_t *lookup(rebuild_ctx *ctx, const uint8_t *hash, uint32_t *length) {
  uint32_t words[8];
  for (int w = 0; w < 8; w++) words[w] = read_word(hash + 4 * w);
  for (uint32_t t = 0; t < ctx->table_count; t++) {
    const node_table *table = &ctx->tables[t];
    uint32_t slot = ((words[0] ^ ctx->seed) * 0x9e3779b1u) >> table->shift;
    for (uint32_t probes = 0; probes <= table->mask; probes++, slot = (slot + 1) & table->mask) {
      const uint32_t *entry = table->words + (size_t)slot * SLOT_WORDS;
      if (entry[8] == 0) break;
      if (memcmp(entry, words, sizeof words) != 0) continue;
      uint32_t id = entry[8] - 1;
      uint32_t offset = entry[9];
      uint32_t size = entry[10];
      if (id >= ctx->buffer_count) break;
      slab_ref *buffer = &ctx->buffer_refs[id];
      if (!buffer->resolved) {
        napi_value value;
        bool is_arraybuffer = false;
        void *data = NULL;
        if (napi_get_element(ctx->env, ctx->buffers, id, &value) != napi_ok ||
            napi_is_arraybuffer(ctx->env, value, &is_arraybuffer) != napi_ok || !is_arraybuffer ||
            napi_get_arraybuffer_info(ctx->env, value, &data, &buffer->size) != napi_ok) {
          fail(ctx, "ERR_GM_NATIVE_INVALID_ARG", "a node table points at a missing buffer");
          return NULL;
        }
        buffer->data = data;
        buffer->resolved = true;
      }
      if ((size_t)offset + size > buffer->size) {
        fail(ctx, "ERR_GM_NATIVE_INVALID_ARG", "a node table points outside its buffer");
        return NULL;
      }
      *length = size;
      return buffer->data + offset;
    }
  }
  return NULL;
}

/* Starts loading the table slots where `hash` would be: the lookups of a branch's children are
 * cache misses in tables of ~10-30 MB, and prefetching them all first overlaps the misses. */
static void prefetch_lookup(const rebuild_ctx *ctx, const uint8_t *hash) {
  uint32_t w0 = read_word(hash);
  for (uint32_t t = 0; t < ctx->table_count; t++) {
    const node_table *table = &ctx->tables[t];
    uint32_t slot = ((w0 ^ ctx->seed) * 0x9e3779b1u) >> table->shift;
    PREFETCH(table->words + (size_t)slot * SLOT_WORDS);
  }
}

static int32_t ref(rebuild_ctx *ctx, const uint8_t *hash) {
  if (ctx->ref_count == ctx->ref_capacity) {
    uint32_t capacity = ctx->ref_capacity * 2;
    const uint8_t **grown = realloc((void *)ctx->refs, capacity * sizeof *grown);
    if (grown == NULL) return fail(ctx, "ERR_GM_NATIVE", "out of memory");
    ctx->refs = grown;
    ctx->ref_capacity = capacity;
  }
  ctx->refs[ctx->ref_count] = hash;
  return REF_BASE - (int32_t)ctx->ref_count++;
}

/* Room for a new node of `length` bytes, zeroed, recorded as node ctx->node_count (the caller
 * then fills it and calls push). */
static uint8_t *allocate(rebuild_ctx *ctx, uint32_t length) {
  if (ctx->node_count == ctx->node_capacity) {
    uint32_t capacity = ctx->node_capacity * 2;
    new_node *grown = realloc(ctx->nodes, capacity * sizeof *grown);
    if (grown == NULL) {
      fail(ctx, "ERR_GM_NATIVE", "out of memory");
      return NULL;
    }
    ctx->nodes = grown;
    ctx->node_capacity = capacity;
  }
  new_node *node = &ctx->nodes[ctx->node_count];
  bool own_buffer = length > SLAB_BYTES / 8;
  if (own_buffer || ctx->slab_used + length > ctx->slab_size) {
    /* A new slab, or a buffer of its own for a large node (a full 256-ary branch). */
    size_t size = own_buffer ? length : SLAB_BYTES;
    void *data = NULL;
    napi_value buffer;
    if (napi_create_arraybuffer(ctx->env, size, &data, &buffer) != napi_ok ||
        napi_set_element(ctx->env, ctx->slabs, ctx->slab_count, buffer) != napi_ok) {
      fail_napi(ctx);
      return NULL;
    }
    uint32_t index = ctx->slab_count++;
    if (own_buffer) {
      /* The current slab stays current. */
      node->data = data;
      node->length = length;
      node->slab = (int32_t)index;
      node->offset = 0;
      memset(data, 0, length);
      return data;
    }
    ctx->slab = data;
    ctx->slab_size = size;
    ctx->slab_used = 0;
    ctx->slab_index = index;
    ctx->slab_value = buffer;
  }
  node->data = ctx->slab + ctx->slab_used;
  node->length = length;
  node->slab = (int32_t)ctx->slab_index;
  node->offset = (uint32_t)ctx->slab_used;
  ctx->slab_used += length;
  memset(node->data, 0, length);
  return node->data;
}

/* Keeps the node last allocated; returns its index. */
static int32_t push(rebuild_ctx *ctx) {
  new_node *node = &ctx->nodes[ctx->node_count];
  node->parent = -1;
  node->parent_at = 0;
  return (int32_t)ctx->node_count++;
}

/* Puts child result `child` at `at` in new node `parent` (whose bytes are `bytes`). */
static void place(rebuild_ctx *ctx, uint8_t *bytes, uint32_t at, int32_t child, int32_t parent) {
  if (child >= 0) {
    ctx->nodes[child].parent = parent;
    ctx->nodes[child].parent_at = at;
  } else {
    memcpy(bytes + at, ctx->refs[REF_BASE - child], HASH_LEN);
  }
}

static int32_t new_leaf(rebuild_ctx *ctx, uint32_t i) {
  size_t value_length = ctx->value_lengths[i];
  if (value_length > UINT32_MAX - 1 - ADDRESS_LEN)
    return fail(ctx, "ERR_GM_NATIVE_INVALID_ARG", "a value is too large");
  uint8_t *bytes = allocate(ctx, (uint32_t)(1 + ADDRESS_LEN + value_length));
  if (bytes == NULL) return FAILED;
  bytes[0] = KIND_LEAF;
  memcpy(bytes + 1, address_at(ctx, i), ADDRESS_LEN);
  if (value_length > 0) memcpy(bytes + 1 + ADDRESS_LEN, ctx->values[i], value_length);
  return push(ctx);
}

/* A new branch whose prefix is the first `n` nibbles of `address`, with `count` >= 2 children
 * in ascending `slots`. */
static int32_t new_branch(rebuild_ctx *ctx, const uint8_t *address, uint32_t n, const int *slots,
                          const int32_t *children, int count) {
  uint32_t bitmap = 2 + (n + 1) / 2;
  uint32_t child_offset = bitmap + ctx->radix / 8;
  uint8_t *bytes = allocate(ctx, child_offset + (uint32_t)count * HASH_LEN);
  if (bytes == NULL) return FAILED;
  bytes[0] = ctx->radix == 16 ? KIND_BRANCH_16 : KIND_BRANCH_256;
  bytes[1] = (uint8_t)n;
  memcpy(bytes + 2, address, n / 2);
  if (n & 1) bytes[2 + n / 2] = address[n / 2] & 0xf0;
  int32_t self = (int32_t)ctx->node_count;
  for (int i = 0; i < count; i++) {
    bytes[bitmap + (slots[i] >> 3)] |= (uint8_t)(0x80 >> (slots[i] & 7));
    place(ctx, bytes, child_offset + (uint32_t)i * HASH_LEN, children[i], self);
  }
  return push(ctx);
}

static int32_t finish(rebuild_ctx *ctx, const uint8_t *address, uint32_t n, const int *slots,
                      const int32_t *children, int count) {
  if (count == 0) return GONE;
  /* A lone child moves up as it is: nodes carry absolute positions (canonical form). */
  if (count == 1) return children[0];
  return new_branch(ctx, address, n, slots, children, count);
}

/* End of the run of changes from `from` (below `hi`) with digit `digit` at nibble `at`. */
static uint32_t group_end(const rebuild_ctx *ctx, uint32_t from, uint32_t hi, uint32_t at,
                          int digit) {
  uint32_t end = from + 1;
  while (end < hi && digit_at(ctx, address_at(ctx, end), at) == digit) end++;
  return end;
}

static int32_t rebuild(rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *hash);
static int32_t rebuild_node(rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *hash,
                            const uint8_t *bytes, uint32_t length);
static int32_t fresh(rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *leaf,
                     uint32_t leaf_length, const uint8_t *hash);

/* Inserts (slot, child) into ascending slots[0..*count). */
static void insert_sorted(int *slots, int32_t *children, int *count, int slot, int32_t child) {
  int i = *count;
  while (i > 0 && slots[i - 1] > slot) {
    slots[i] = slots[i - 1];
    children[i] = children[i - 1];
    i--;
  }
  slots[i] = slot;
  children[i] = child;
  (*count)++;
}

/* The branch `b` (hash at `hash`) with the changes [lo, hi). */
static int32_t rebuild_branch(rebuild_ctx *ctx, const branch *b, uint32_t lo, uint32_t hi,
                              const uint8_t *hash) {
  uint32_t n = b->prefix_length;
  uint32_t common_lo = prefix_common(b, address_at(ctx, lo));
  uint32_t common_hi = prefix_common(b, address_at(ctx, hi - 1));
  uint32_t common = common_lo < common_hi ? common_lo : common_hi;
  int slots[257];
  int32_t children[257];
  int count = 0;
  if (common < n) {
    /* Some changes leave the branch's prefix: a new branch may be needed above it, with the
     * old branch (rebuilt with its own changes) as one child. */
    uint32_t split = common - common % (uint32_t)ctx->width;
    int own = ctx->radix == 16 ? nibble_at(b->bytes + 2, split) : b->bytes[2 + split / 2];
    int32_t own_result = UNCHANGED;
    int others = 0;
    for (uint32_t j = lo; j < hi;) {
      int digit = digit_at(ctx, address_at(ctx, j), split);
      uint32_t end = group_end(ctx, j, hi, split, digit);
      if (digit == own) {
        own_result = rebuild_branch(ctx, b, j, end, hash);
        if (own_result == FAILED) return FAILED;
      } else {
        int32_t child = fresh(ctx, j, end, NULL, 0, hash);
        if (child == FAILED) return FAILED;
        if (child != GONE) {
          slots[count] = digit;
          children[count++] = child;
          others++;
        }
      }
      j = end;
    }
    if (others == 0) return own_result;
    if (own_result != GONE) {
      int32_t own_child = own_result == UNCHANGED ? ref(ctx, hash) : own_result;
      if (own_child == FAILED) return FAILED;
      insert_sorted(slots, children, &count, own, own_child);
    }
    return finish(ctx, address_at(ctx, lo), split, slots, children, count);
  }

  /* The children to visit are found first, all at once: their table slots, then their bytes,
   * are prefetched before any is used, so the cache misses overlap instead of queueing. */
  const uint8_t *found[256];
  uint32_t found_length[256];
  int visits = 0;
  for (uint32_t j = lo; j < hi;) {
    int digit = digit_at(ctx, address_at(ctx, j), n);
    uint32_t end = group_end(ctx, j, hi, n, digit);
    int ordinal = child_ordinal(b, digit);
    if (ordinal >= 0)
      prefetch_lookup(ctx, b->bytes + b->child_offset + (uint32_t)ordinal * HASH_LEN);
    j = end;
  }
  for (uint32_t j = lo; j < hi;) {
    int digit = digit_at(ctx, address_at(ctx, j), n);
    uint32_t end = group_end(ctx, j, hi, n, digit);
    int ordinal = child_ordinal(b, digit);
    if (ordinal >= 0) {
      const uint8_t *child = b->bytes + b->child_offset + (uint32_t)ordinal * HASH_LEN;
      found[visits] = lookup(ctx, child, &found_length[visits]);
      if (found[visits] == NULL) return FAILED;
      PREFETCH(found[visits]);
      PREFETCH(found[visits] + 64);
      visits++;
    }
    j = end;
  }
  int removed = 0;
  int added = 0;
  visits = 0;
  for (uint32_t j = lo; j < hi;) {
    int digit = digit_at(ctx, address_at(ctx, j), n);
    uint32_t end = group_end(ctx, j, hi, n, digit);
    int ordinal = child_ordinal(b, digit);
    int32_t after;
    if (ordinal >= 0) {
      after = rebuild_node(ctx, j, end, b->bytes + b->child_offset + (uint32_t)ordinal * HASH_LEN,
                           found[visits], found_length[visits]);
      visits++;
      if (after == FAILED) return FAILED;
      if (after == GONE) removed++;
    } else {
      after = fresh(ctx, j, end, NULL, 0, hash);
      if (after == FAILED) return FAILED;
      after = after == GONE ? UNCHANGED : after;
      if (after != UNCHANGED) added++;
    }
    if (after != UNCHANGED) {
      slots[count] = digit;
      children[count++] = after;
    }
    j = end;
  }
  if (count == 0) return UNCHANGED;
  int total = (int)b->children - removed + added;
  if (total == 0) return GONE;
  if (total == 1) {
    /* The one child left moves up: a modification, or an old child none touched. */
    for (int m = 0; m < count; m++)
      if (children[m] != GONE) return children[m];
    int ordinal = 0;
    for (int slot = 0; slot < ctx->radix; slot++) {
      if (child_ordinal(b, slot) < 0) continue;
      bool modified = false;
      for (int m = 0; m < count && !modified; m++) modified = slots[m] == slot;
      if (!modified) return ref(ctx, b->bytes + b->child_offset + (uint32_t)ordinal * HASH_LEN);
      ordinal++;
    }
    return fail(ctx, "ERR_GM_NATIVE", "a branch with one child left has none");
  }

  /* The branch rewritten: old children merged with the modifications, by slot. */
  uint8_t *bytes = allocate(ctx, b->child_offset + (uint32_t)total * HASH_LEN);
  if (bytes == NULL) return FAILED;
  memcpy(bytes, b->bytes, b->bitmap); /* kind, prefix length, prefix */
  int32_t self = (int32_t)ctx->node_count;
  const uint8_t *old_bitmap = b->bytes + b->bitmap;
  uint32_t old_ordinal = 0;
  uint32_t written = 0;
  int m = 0;
  for (int slot = 0; slot < ctx->radix; slot++) {
    bool present = old_bitmap[slot >> 3] & (0x80 >> (slot & 7));
    bool modified = m < count && slots[m] == slot;
    uint32_t at = b->child_offset + written * HASH_LEN;
    if (modified) {
      if (children[m] != GONE) {
        bytes[b->bitmap + (slot >> 3)] |= (uint8_t)(0x80 >> (slot & 7));
        place(ctx, bytes, at, children[m], self);
        written++;
      }
      m++;
    } else if (present) {
      bytes[b->bitmap + (slot >> 3)] |= (uint8_t)(0x80 >> (slot & 7));
      memcpy(bytes + at, b->bytes + b->child_offset + old_ordinal * HASH_LEN, HASH_LEN);
      written++;
    }
    if (present) old_ordinal++;
  }
  if (written != (uint32_t)total) return fail(ctx, "ERR_GM_NATIVE", "branch rewrite miscounted");
  return push(ctx);
}

/* True when `address` is among the changes [lo, hi). */
static bool has_change(const rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *address) {
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int order = memcmp(address_at(ctx, mid), address, ADDRESS_LEN);
    if (order == 0) return true;
    if (order < 0) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

static uint32_t common_nibbles(const uint8_t *a, const uint8_t *b) {
  uint32_t i = 0;
  while (i < ADDRESS_LEN && a[i] == b[i]) i++;
  if (i == ADDRESS_LEN) return ADDRESS_NIBBLES;
  return 2 * i + ((a[i] >> 4) == (b[i] >> 4) ? 1 : 0);
}

/*
 * The subtree holding the sets in [lo, hi) plus, unless a change names it, the existing leaf
 * `leaf` (hash at `hash`); deletes of absent addresses vanish. UNCHANGED when the result is the
 * leaf alone.
 */
static int32_t fresh(rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *leaf,
                     uint32_t leaf_length, const uint8_t *hash) {
  const uint8_t *keep = NULL;
  if (leaf != NULL) {
    const uint8_t *leaf_address = leaf + 1;
    if (hi - lo == 1 && memcmp(leaf_address, address_at(ctx, lo), ADDRESS_LEN) == 0) {
      if (ctx->values[lo] == NULL) return GONE;
      size_t length = ctx->value_lengths[lo];
      if (length == leaf_length - 1 - ADDRESS_LEN &&
          (length == 0 || memcmp(leaf + 1 + ADDRESS_LEN, ctx->values[lo], length) == 0))
        return UNCHANGED;
      return new_leaf(ctx, lo);
    }
    if (!has_change(ctx, lo, hi, leaf_address)) keep = leaf_address;
  }
  uint32_t first = lo;
  while (first < hi && ctx->values[first] == NULL) first++;
  if (first == hi) return keep == NULL ? GONE : UNCHANGED;
  uint32_t last = hi - 1;
  while (ctx->values[last] == NULL) last--;
  if (first == last && keep == NULL) return new_leaf(ctx, first);
  const uint8_t *min = address_at(ctx, first);
  const uint8_t *max = address_at(ctx, last);
  if (keep != NULL) {
    if (memcmp(keep, min, ADDRESS_LEN) < 0) min = keep;
    else if (memcmp(keep, max, ADDRESS_LEN) > 0) max = keep;
  }
  uint32_t common = common_nibbles(min, max);
  uint32_t split = common - common % (uint32_t)ctx->width;
  int keep_digit = keep == NULL ? -1 : digit_at(ctx, keep, split);
  int slots[257];
  int32_t children[257];
  int count = 0;
  bool placed = keep == NULL;
  for (uint32_t j = first; j <= last;) {
    int digit = digit_at(ctx, address_at(ctx, j), split);
    uint32_t end = group_end(ctx, j, last + 1, split, digit);
    if (!placed && keep_digit < digit) {
      int32_t kept = ref(ctx, hash);
      if (kept == FAILED) return FAILED;
      slots[count] = keep_digit;
      children[count++] = kept;
      placed = true;
    }
    int32_t child;
    if (digit == keep_digit) {
      child = fresh(ctx, j, end, leaf, leaf_length, hash);
      if (child == UNCHANGED) child = ref(ctx, hash);
      placed = true;
    } else {
      child = fresh(ctx, j, end, NULL, 0, hash);
    }
    if (child == FAILED) return FAILED;
    if (child != GONE) {
      slots[count] = digit;
      children[count++] = child;
    }
    j = end;
  }
  if (!placed) {
    int32_t kept = ref(ctx, hash);
    if (kept == FAILED) return FAILED;
    slots[count] = keep_digit;
    children[count++] = kept;
  }
  return finish(ctx, min, split, slots, children, count);
}

/* The subtree whose hash is at `hash`, with the changes [lo, hi). */
static int32_t rebuild(rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *hash) {
  uint32_t length = 0;
  const uint8_t *bytes = lookup(ctx, hash, &length);
  if (bytes == NULL) return FAILED;
  return rebuild_node(ctx, lo, hi, hash, bytes, length);
}

/* The same, for a node already found: `bytes` (`length` of them) hash to `hash`. */
static int32_t rebuild_node(rebuild_ctx *ctx, uint32_t lo, uint32_t hi, const uint8_t *hash,
                            const uint8_t *bytes, uint32_t length) {
  if (length >= 1 + ADDRESS_LEN && bytes[0] == KIND_LEAF)
    return fresh(ctx, lo, hi, bytes, length, hash);
  branch b;
  int kind = ctx->radix == 16 ? KIND_BRANCH_16 : KIND_BRANCH_256;
  if (length < 1 || bytes[0] != kind || !parse_branch(ctx, bytes, length, &b))
    return fail(ctx, "ERR_GM_NATIVE_INVALID_ARG", "a state node is not canonical for this tree");
  return rebuild_branch(ctx, &b, lo, hi, hash);
}

/*
 * Hashes the new nodes into their keys (`0x02 ‖ hash`, 33 bytes each), children first: each
 * digest is copied into its parent's child slot before the parent is hashed. One node at a
 * time in node order (a parent always comes after its children), or, for SM3 with AVX2, a
 * level at a time (a node's height above its lowest new descendant), eight nodes at once.
 */
static bool hash_nodes(rebuild_ctx *ctx, EVP_MD_CTX *md_ctx, const EVP_MD *md, uint8_t *keys) {
  uint32_t count = ctx->node_count;
  bool sm3 = md == LOAD_ACQUIRE(&fetched_digests[1]);
  if (!(sm3 && sm3_x8_available)) {
    for (uint32_t k = 0; k < count; k++) {
      const new_node *node = &ctx->nodes[k];
      uint8_t *digest = keys + (size_t)k * KEY_LEN + 1;
      if (!digest_one(md_ctx, md, node->data, node->length, digest)) return false;
      if (node->parent >= 0) memcpy(ctx->nodes[node->parent].data + node->parent_at, digest, HASH_LEN);
    }
    return true;
  }
  uint32_t *height = calloc(count + 1, sizeof *height);
  uint32_t *start = NULL;
  uint32_t *order = malloc((count + 1) * sizeof *order);
  hash_job *jobs = malloc((count + 1) * sizeof *jobs);
  bool ok = height != NULL && order != NULL && jobs != NULL;
  uint32_t levels = 0;
  if (ok) {
    for (uint32_t k = 0; k < count; k++) {
      int32_t parent = ctx->nodes[k].parent;
      if (parent >= 0 && height[parent] < height[k] + 1) height[parent] = height[k] + 1;
      if (height[k] + 1 > levels) levels = height[k] + 1;
    }
    /* Nodes by level (a counting sort): start[h] .. start[h + 1] in `order`. */
    start = calloc(levels + 2, sizeof *start);
    ok = start != NULL;
  }
  if (ok) {
    for (uint32_t k = 0; k < count; k++) start[height[k] + 2]++;
    for (uint32_t h = 2; h < levels + 2; h++) start[h] += start[h - 1];
    for (uint32_t k = 0; k < count; k++) order[start[height[k] + 1]++] = k;
    for (uint32_t h = 0; h < levels && ok; h++) {
      uint32_t n = 0;
      for (uint32_t i = start[h]; i < start[h + 1]; i++) {
        const new_node *node = &ctx->nodes[order[i]];
        jobs[n].data = node->data;
        jobs[n].length = node->length;
        jobs[n].out = keys + (size_t)order[i] * KEY_LEN + 1;
        n++;
      }
      ok = digest_jobs(md_ctx, md, true, jobs, n);
      for (uint32_t i = start[h]; ok && i < start[h + 1]; i++) {
        const new_node *node = &ctx->nodes[order[i]];
        if (node->parent >= 0) {
          memcpy(ctx->nodes[node->parent].data + node->parent_at,
                 keys + (size_t)order[i] * KEY_LEN + 1, HASH_LEN);
        }
      }
    }
  }
  free(height);
  free(start);
  free(order);
  free(jobs);
  return ok;
}

static bool get_u32(napi_env env, napi_value value, uint32_t *out) {
  napi_valuetype type;
  double number = 0;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, &number) != napi_ok || !(number >= 0) ||
      number > 4294967295.0 || number != (double)(uint32_t)number)
    return false;
  *out = (uint32_t)number;
  return true;
}

static bool read_typed(napi_env env, napi_value value, napi_typedarray_type want, void **data,
                       size_t *count) {
  bool is_typed_array = false;
  napi_typedarray_type type;
  return napi_is_typedarray(env, value, &is_typed_array) == napi_ok && is_typed_array &&
         napi_get_typedarray_info(env, value, &type, count, data, NULL, NULL) == napi_ok &&
         type == want;
}

static void free_ctx(rebuild_ctx *ctx) {
  free(ctx->buffer_refs);
  free((void *)ctx->values);
  free(ctx->value_lengths);
  free(ctx->tables);
  free(ctx->nodes);
  free((void *)ctx->refs);
}

static napi_value set_property(napi_env env, napi_value object, const char *name,
                               napi_value value) {
  return napi_set_named_property(env, object, name, value) == napi_ok ? object : NULL;
}

/*
 * merkleRebuild(algorithm, radix, root, emptyRoot, addresses, values, tables, buffers, seed,
 * slab, slabUsed): see index.d.ts. Returns null when a node on the changed paths is in none of the
 * tables (the caller loads the paths and calls again).
 */
static napi_value merkle_rebuild(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_napi(env);
  if (argc < 11) return invalid_arg(env, "missing arguments");
  const EVP_MD *md = digest_by_name(env, argv[0]);
  if (md == NULL) return NULL;

  rebuild_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.env = env;
  uint32_t radix = 0;
  if (!get_u32(env, argv[1], &radix) || (radix != 16 && radix != 256))
    return invalid_arg(env, "radix must be 16 or 256");
  ctx.radix = (int)radix;
  ctx.width = radix == 16 ? 1 : 2;
  const uint8_t *root = NULL;
  const uint8_t *empty_root = NULL;
  size_t length = 0;
  if (!read_bytes(env, argv[2], &root, &length) || length != HASH_LEN)
    return invalid_arg(env, "root must be 32 bytes");
  if (!read_bytes(env, argv[3], &empty_root, &length) || length != HASH_LEN)
    return invalid_arg(env, "emptyRoot must be 32 bytes");
  if (!read_bytes(env, argv[4], &ctx.addresses, &length) || length % ADDRESS_LEN != 0 ||
      length / ADDRESS_LEN > MAX_INPUTS)
    return invalid_arg(env, "addresses must be 35-byte addresses, concatenated");
  ctx.count = (uint32_t)(length / ADDRESS_LEN);
  for (uint32_t i = 1; i < ctx.count; i++) {
    if (memcmp(address_at(&ctx, i - 1), address_at(&ctx, i), ADDRESS_LEN) >= 0)
      return invalid_arg(env, "addresses must be strictly ascending");
  }
  bool is_array = false;
  uint32_t value_count = 0;
  if (napi_is_array(env, argv[5], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[5], &value_count) != napi_ok || value_count != ctx.count)
    return invalid_arg(env, "values must be an array with one entry per address");
  uint32_t table_args = 0;
  if (napi_is_array(env, argv[6], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[6], &table_args) != napi_ok || table_args % 2 != 0 ||
      table_args > 2 * 64)
    return invalid_arg(env, "tables must be [words, shift] pairs");
  ctx.buffers = argv[7];
  if (napi_is_array(env, argv[7], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[7], &ctx.buffer_count) != napi_ok)
    return invalid_arg(env, "buffers must be an array");
  if (!get_u32(env, argv[8], &ctx.seed)) return invalid_arg(env, "seed must be a uint32");
  void *slab_data = NULL;
  size_t slab_size = 0;
  bool is_arraybuffer = false;
  uint32_t slab_used = 0;
  if (napi_is_arraybuffer(env, argv[9], &is_arraybuffer) != napi_ok || !is_arraybuffer ||
      napi_get_arraybuffer_info(env, argv[9], &slab_data, &slab_size) != napi_ok ||
      !get_u32(env, argv[10], &slab_used) || slab_used > slab_size)
    return invalid_arg(env, "slab must be an ArrayBuffer and slabUsed an offset in it");

  ctx.values = calloc(ctx.count > 0 ? ctx.count : 1, sizeof *ctx.values);
  ctx.value_lengths = calloc(ctx.count > 0 ? ctx.count : 1, sizeof *ctx.value_lengths);
  ctx.tables = calloc(table_args / 2 + 1, sizeof *ctx.tables);
  ctx.buffer_refs = calloc(ctx.buffer_count + 1, sizeof *ctx.buffer_refs);
  ctx.node_capacity = 1024;
  ctx.nodes = malloc(ctx.node_capacity * sizeof *ctx.nodes);
  ctx.ref_capacity = 256;
  ctx.refs = malloc(ctx.ref_capacity * sizeof *ctx.refs);
  if (ctx.values == NULL || ctx.value_lengths == NULL || ctx.tables == NULL ||
      ctx.buffer_refs == NULL || ctx.nodes == NULL || ctx.refs == NULL) {
    free_ctx(&ctx);
    return throw_code(env, "ERR_GM_NATIVE", "out of memory");
  }
  for (uint32_t i = 0; i < ctx.count; i++) {
    napi_value value;
    napi_valuetype type;
    if (napi_get_element(env, argv[5], i, &value) != napi_ok ||
        napi_typeof(env, value, &type) != napi_ok) {
      free_ctx(&ctx);
      return throw_napi(env);
    }
    if (type == napi_null) continue;
    if (!read_bytes(env, value, &ctx.values[i], &ctx.value_lengths[i])) {
      free_ctx(&ctx);
      return invalid_arg(env, "a value must be a Uint8Array or null");
    }
  }
  ctx.table_count = table_args / 2;
  for (uint32_t t = 0; t < ctx.table_count; t++) {
    napi_value words_value;
    napi_value shift_value;
    void *data = NULL;
    size_t words = 0;
    uint32_t shift = 0;
    node_table *table = &ctx.tables[t];
    bool ok = napi_get_element(env, argv[6], 2 * t, &words_value) == napi_ok &&
              napi_get_element(env, argv[6], 2 * t + 1, &shift_value) == napi_ok &&
              read_typed(env, words_value, napi_int32_array, &data, &words) &&
              get_u32(env, shift_value, &shift);
    /* 2^(32 - shift) slots of SLOT_WORDS words. */
    if (!ok || shift < 1 || shift > 31 || words != ((size_t)1 << (32 - shift)) * SLOT_WORDS) {
      free_ctx(&ctx);
      return invalid_arg(env, "a table does not have the NodeTable layout");
    }
    table->words = data;
    table->shift = shift;
    table->mask = (1u << (32 - shift)) - 1;
  }
  if (napi_create_array(env, &ctx.slabs) != napi_ok ||
      napi_set_element(env, ctx.slabs, 0, argv[9]) != napi_ok) {
    free_ctx(&ctx);
    return throw_napi(env);
  }
  ctx.slab_count = 1;
  ctx.slab_index = 0;
  ctx.slab_value = argv[9];
  ctx.slab = slab_data;
  ctx.slab_size = slab_size;
  ctx.slab_used = slab_used;

  /* The rebuild. The empty root is never stored: it is recognised by its hash. */
  int32_t result = UNCHANGED;
  if (ctx.count > 0) {
    if (memcmp(root, empty_root, HASH_LEN) == 0) result = fresh(&ctx, 0, ctx.count, NULL, 0, root);
    else result = rebuild(&ctx, 0, ctx.count, root);
  }
  if (result == FAILED) {
    free_ctx(&ctx);
    if (ctx.failed) return NULL;
    napi_value null_value;
    if (napi_get_null(env, &null_value) != napi_ok) return throw_napi(env);
    return null_value;
  }

  /* Hash bottom-up: a node's parent comes after it, so its digest is in place in time. */
  uint32_t count = ctx.node_count;
  void *keys_data = NULL;
  void *layout_data = NULL;
  napi_value keys_buffer, keys_array, layout_buffer, layout_array, root_value, out, number;
  bool ok = napi_create_arraybuffer(env, (size_t)count * KEY_LEN, &keys_data, &keys_buffer) ==
                napi_ok &&
            napi_create_typedarray(env, napi_uint8_array, (size_t)count * KEY_LEN, keys_buffer, 0,
                                   &keys_array) == napi_ok &&
            napi_create_arraybuffer(env, (size_t)count * 3 * sizeof(int32_t), &layout_data,
                                    &layout_buffer) == napi_ok &&
            napi_create_typedarray(env, napi_int32_array, (size_t)count * 3, layout_buffer, 0,
                                   &layout_array) == napi_ok;
  if (!ok) {
    free_ctx(&ctx);
    return throw_napi(env);
  }
  EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
  if (md_ctx == NULL) {
    free_ctx(&ctx);
    return throw_code(env, "ERR_GM_NATIVE", "out of memory");
  }
  uint8_t *keys = keys_data;
  int32_t *layout = layout_data;
  for (uint32_t k = 0; k < count; k++) {
    const new_node *node = &ctx.nodes[k];
    keys[(size_t)k * KEY_LEN] = STATE_NODE_PREFIX;
    layout[3 * k] = node->slab;
    layout[3 * k + 1] = (int32_t)node->offset;
    layout[3 * k + 2] = (int32_t)node->length;
  }
  bool hashed = hash_nodes(&ctx, md_ctx, md, keys);
  EVP_MD_CTX_free(md_ctx);
  if (!hashed) {
    free_ctx(&ctx);
    return throw_code(env, "ERR_GM_NATIVE", "digest failed");
  }

  /* The new root's hash, or null for the empty tree. */
  const uint8_t *root_hash = NULL;
  if (result == UNCHANGED) root_hash = root;
  else if (result >= 0) root_hash = keys + (size_t)result * KEY_LEN + 1;
  else if (result <= REF_BASE) root_hash = ctx.refs[REF_BASE - result];
  if (root_hash == NULL) {
    ok = napi_get_null(env, &root_value) == napi_ok;
  } else {
    void *data = NULL;
    napi_value buffer;
    ok = napi_create_arraybuffer(env, HASH_LEN, &data, &buffer) == napi_ok &&
         napi_create_typedarray(env, napi_uint8_array, HASH_LEN, buffer, 0, &root_value) ==
             napi_ok;
    if (ok) memcpy(data, root_hash, HASH_LEN);
  }
  /* `slab` and `slabUsed`: where the next rebuild carries on allocating. */
  ok = ok && napi_create_object(env, &out) == napi_ok &&
       set_property(env, out, "root", root_value) != NULL &&
       set_property(env, out, "keys", keys_array) != NULL &&
       set_property(env, out, "layout", layout_array) != NULL &&
       set_property(env, out, "slabs", ctx.slabs) != NULL &&
       set_property(env, out, "slab", ctx.slab_value) != NULL &&
       napi_create_uint32(env, (uint32_t)ctx.slab_used, &number) == napi_ok &&
       set_property(env, out, "slabUsed", number) != NULL;
  free_ctx(&ctx);
  if (!ok) return throw_napi(env);
  return out;
}

/*
 * nodeTableCopy(from: Int32Array, to: Int32Array, toShift, seed, perSlab: Int32Array,
 * stats: Int32Array): adds every entry of the NodeTable words `from` to the NodeTable words
 * `to` (2^(32 - toShift) slots) that it does not hold yet. For each one added, perSlab[slab id]
 * is incremented; stats[0] += 1 and stats[1] += its length. The caller makes sure `to` has
 * room (at most half full afterwards). Releasing a block's staged nodes into the cache is
 * ~3,800 inserts at random places in a table of tens of MB; looked up a few entries ahead, the
 * cache misses overlap, ~5× faster than the same loop in JavaScript.
 */
static napi_value node_table_copy(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_napi(env);
  if (argc < 6) return invalid_arg(env, "missing arguments");
  void *from_data = NULL, *to_data = NULL, *per_slab_data = NULL, *stats_data = NULL;
  size_t from_words = 0, to_words = 0, per_slab_count = 0, stats_count = 0;
  uint32_t shift = 0, seed = 0;
  if (!read_typed(env, argv[0], napi_int32_array, &from_data, &from_words) ||
      !read_typed(env, argv[1], napi_int32_array, &to_data, &to_words) ||
      !get_u32(env, argv[2], &shift) || !get_u32(env, argv[3], &seed) ||
      !read_typed(env, argv[4], napi_int32_array, &per_slab_data, &per_slab_count) ||
      !read_typed(env, argv[5], napi_int32_array, &stats_data, &stats_count) || stats_count < 2)
    return invalid_arg(env, "nodeTableCopy(from, to, toShift, seed, perSlab, stats)");
  if (from_words % SLOT_WORDS != 0 || shift < 1 || shift > 31 ||
      to_words != ((size_t)1 << (32 - shift)) * SLOT_WORDS)
    return invalid_arg(env, "a table does not have the NodeTable layout");
  const uint32_t *from = from_data;
  uint32_t *to = to_data;
  int32_t *per_slab = per_slab_data;
  int32_t *stats = stats_data;
  uint32_t mask = (1u << (32 - shift)) - 1;
  size_t from_slots = from_words / SLOT_WORDS;
  /* The occupied slots of `from`, so that the target slots of later ones can be prefetched. */
  uint32_t *occupied = malloc((from_slots + 1) * sizeof *occupied);
  if (occupied == NULL) return throw_code(env, "ERR_GM_NATIVE", "out of memory");
  size_t count = 0;
  for (size_t slot = 0; slot < from_slots; slot++) {
    const uint32_t *entry = from + slot * SLOT_WORDS;
    if (entry[8] == 0) continue;
    if (entry[8] - 1 >= per_slab_count) {
      free(occupied);
      return invalid_arg(env, "perSlab is shorter than the slab ids in the table");
    }
    occupied[count++] = (uint32_t)slot;
  }
  const size_t ahead = 8;
  for (size_t i = 0; i < count && i < ahead; i++) {
    uint32_t w0 = from[(size_t)occupied[i] * SLOT_WORDS];
    PREFETCH(to + (size_t)(((w0 ^ seed) * 0x9e3779b1u) >> shift) * SLOT_WORDS);
  }
  for (size_t i = 0; i < count; i++) {
    if (i + ahead < count) {
      uint32_t w0 = from[(size_t)occupied[i + ahead] * SLOT_WORDS];
      PREFETCH(to + (size_t)(((w0 ^ seed) * 0x9e3779b1u) >> shift) * SLOT_WORDS);
    }
    const uint32_t *entry = from + (size_t)occupied[i] * SLOT_WORDS;
    uint32_t slot = ((entry[0] ^ seed) * 0x9e3779b1u) >> shift;
    uint32_t probes = 0;
    for (;; slot = (slot + 1) & mask) {
      uint32_t *target = to + (size_t)slot * SLOT_WORDS;
      if (target[8] == 0) {
        memcpy(target, entry, SLOT_WORDS * sizeof *entry);
        per_slab[entry[8] - 1]++;
        stats[0]++;
        stats[1] += (int32_t)entry[10];
        break;
      }
      if (memcmp(target, entry, 8 * sizeof *entry) == 0) break;
      if (++probes > mask) {
        free(occupied);
        return throw_code(env, "ERR_GM_NATIVE", "the target table is full");
      }
    }
  }
  free(occupied);
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok) return throw_napi(env);
  return undefined;
}

bool state_native_init(napi_env env, napi_value exports) {
#if HAVE_SM3_X8
  sm3_init_constants();
  sm3_x8_available = __builtin_cpu_supports("avx2");
#endif
  napi_property_descriptor properties[] = {
      {"digestMany", NULL, digest_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"merkleRebuild", NULL, merkle_rebuild, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nodeTableCopy", NULL, node_table_copy, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                             properties) != napi_ok) {
    throw_napi(env);
    return false;
  }
  return true;
}
