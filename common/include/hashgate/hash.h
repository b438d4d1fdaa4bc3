/*
 * hash.h - one streaming pass computing any subset of MD5, SHA-1, SHA-256.
 *
 * Backed by OpenSSL 3 EVP. Each algorithm is fetched once per process
 * (hg_hash_global_init) and every hg_hash_t keeps its EVP contexts for its
 * whole life, so feeding bytes (hg_hash_update) never allocates. Starting
 * an object (hg_hash_init) does: OpenSSL 3.0's EVP_DigestInit_ex2 re-creates
 * the provider's small context, one malloc per algorithm per object, freed
 * by the next init or hg_hash_free. MD5 is fetched with
 * the property query "-fips" so it keeps working when the process default
 * properties are FIPS-only (the default provider must still be loaded).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_HASH_H
#define HASHGATE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/status.h"

typedef enum {
    HG_ALG_MD5 = 0,
    HG_ALG_SHA1 = 1,
    HG_ALG_SHA256 = 2,
    HG_ALG_COUNT = 3
} hg_alg_t;

/* A set of algorithms is a bit mask of HG_ALG_BIT(alg). */
#define HG_ALG_BIT(a)    (1u << (a))
#define HG_ALGS_ALL      (HG_ALG_BIT(HG_ALG_MD5) | HG_ALG_BIT(HG_ALG_SHA1) \
                          | HG_ALG_BIT(HG_ALG_SHA256))
#define HG_DIGEST_MAX    32     /* bytes, SHA-256 */
#define HG_HEX_MAX       (2 * HG_DIGEST_MAX + 1)

typedef struct {
    unsigned        algs;                       /* which d[] are valid */
    uint64_t        size;                       /* bytes hashed */
    unsigned char   d[HG_ALG_COUNT][HG_DIGEST_MAX];
} hg_digests_t;

typedef struct hg_hash_s hg_hash_t;

/* Digest length in bytes (16, 20, 32). */
size_t hg_alg_len(hg_alg_t alg);

/* "md5", "sha1", "sha256". */
const char *hg_alg_name(hg_alg_t alg);

/* Inverse of hg_alg_name, case-insensitive, also "sha-1"/"sha-256"; -1 if unknown. */
int hg_alg_from_name(const char *name);

/* The algorithm whose digest is hexlen hex characters long (32/40/64); -1 otherwise. */
int hg_alg_from_hexlen(size_t hexlen);

/*
 * Is d (hg_alg_len(alg) bytes) the digest of zero bytes? Lists sometimes
 * carry it; it would match every empty upload, form field and part.
 */
int hg_digest_is_empty(hg_alg_t alg, const unsigned char *d);

/*
 * Fetch the EVP algorithms. Thread-safe and idempotent; hg_hash_new calls it.
 * Returns HG_ECRYPTO with a message naming the algorithm OpenSSL refused.
 */
hg_status_t hg_hash_global_init(hg_err_t *err);

/*
 * The same for the algorithms in the mask algs only: a tool that needs
 * SHA-256 alone works where OpenSSL refuses MD5 (a FIPS-only setup).
 */
hg_status_t hg_hash_check(unsigned algs, hg_err_t *err);

/* A reusable hashing context; NULL when out of memory or OpenSSL fails. */
hg_hash_t *hg_hash_new(void);

/* Frees the context; accepts NULL. */
void hg_hash_free(hg_hash_t *h);

/* Start a new object hashing the algorithms in algs (a mask, may be 0). */
hg_status_t hg_hash_init(hg_hash_t *h, unsigned algs);

/* Add bytes; the buffer is read, never kept (see hg_hash_par_t). */
hg_status_t hg_hash_update(hg_hash_t *h, const void *buf, size_t len);

/* Finish: fills out (algs, size, digests). The context can then be re-inited. */
hg_status_t hg_hash_final(hg_hash_t *h, hg_digests_t *out);

/*
 * Parallel digests of one large object. With a pool set on a context
 * (hg_hash_set_parallel) and two or more algorithms, an update of at least
 * the pool's min bytes runs one algorithm (MD5 if computed, else SHA-256)
 * on a helper thread while the caller computes the others, and joins
 * before it returns; digests are the same as hashed serially. Smaller
 * updates of an object already min bytes long are copied into a buffer of
 * min bytes (allocated then, freed by hg_hash_final) and split when it is
 * full, so an attachment decoded in small pieces is split too; objects
 * under min bytes are hashed as without a pool. When every helper is busy
 * the caller hashes alone, and a helper that has not started its share by
 * the time the caller is done with its own (no idle core) gets it taken
 * back: the caller runs it.
 */
typedef struct hg_hash_par_s hg_hash_par_t;

#define HG_HASH_PAR_MAX_HELPERS  64
#define HG_HASH_PAR_MIN_MIN      (64 * 1024)
#define HG_HASH_PAR_MIN_MAX      (1024 * 1024 * 1024)   /* settings' bound */

/*
 * A pool of helpers (1 to HG_HASH_PAR_MAX_HELPERS threads) splitting
 * updates of at least min bytes (>= HG_HASH_PAR_MIN_MIN). Threads do not
 * survive fork: start it in the process that hashes. NULL with err set.
 */
hg_hash_par_t *hg_hash_par_new(size_t min, unsigned helpers, hg_err_t *err);

/* Stops the helpers; no context may be hashing with it. Accepts NULL. */
void hg_hash_par_free(hg_hash_par_t *par);

/* Updates split so far by par's helpers (for tests and figures). */
uint64_t hg_hash_par_splits(const hg_hash_par_t *par);

/*
 * Of those, the ones whose helper had not started when the caller was done
 * with its own share: the caller ran them itself (no idle core).
 */
uint64_t hg_hash_par_taken_back(const hg_hash_par_t *par);

/*
 * Use par (or NULL: none) for the objects h starts from now on; par must
 * outlive h's use of it. Call between objects.
 */
void hg_hash_set_parallel(hg_hash_t *h, hg_hash_par_t *par);

/* Lowercase hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void hg_hex_encode(const unsigned char *bin, size_t len, char *out);

/*
 * Decode exactly hexlen hex characters (any case) into hexlen/2 bytes.
 * Returns 0, or -1 if hexlen is odd or a character is not hex.
 */
int hg_hex_decode(const char *hex, size_t hexlen, unsigned char *out);

#endif
