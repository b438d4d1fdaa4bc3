/*
 * hash.c - one streaming pass computing any subset of MD5, SHA-1, SHA-256.
 *
 * Every scanned object goes through here, so the hot path does no fetch
 * and no allocation of ours: the three EVP_MD objects are fetched once per
 * process (pthread_once), and each hg_hash_t owns one EVP_MD_CTX per
 * algorithm for its whole life, re-initialised with EVP_DigestInit_ex2 per
 * object. Feeding bytes never allocates; OpenSSL 3.0's EVP_DigestInit_ex2
 * itself re-creates the provider's small context, one malloc per algorithm
 * per object (test_hash checks both). Only the algorithms in the mask given
 * to hg_hash_init are computed.
 *
 * With a pool of helper threads (hg_hash_set_parallel, hash_par.c), large
 * updates of several algorithms run one of them on a helper: see
 * _hg_hash_par_update.
 *
 * MD5 is fetched with the property query "-fips": it removes the "fips"
 * property from the process default query, so an operator who runs OpenSSL
 * with "default_properties = fips=yes" (and loads both the fips and the
 * default provider) still gets MD5 from the default provider, while SHA-1
 * and SHA-256 follow the default properties and come from the FIPS module.
 * List matching is not a security use of MD5; hotline lists are MD5-heavy.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "hashgate/hash.h"
#include "scan/hash_par.h"

/*
 * With several algorithms, bytes are fed in slices of this size to each
 * context in turn, so the slice is still in L2 cache for the second and
 * third algorithm instead of being read from memory three times.
 */
#define HG_HASH_SLICE   (64 * 1024)

static const struct {
    const char  *name;      /* ours, also the hex-length key */
    const char  *evp_name;  /* OpenSSL's */
    const char  *props;     /* property query for EVP_MD_fetch */
    size_t       len;
} hg_algs[HG_ALG_COUNT] = {
    { "md5",    "MD5",     "-fips", 16 },
    { "sha1",   "SHA1",    NULL,    20 },
    { "sha256", "SHA2-256", NULL,   32 },
};

static pthread_once_t  hg_hash_once = PTHREAD_ONCE_INIT;
static EVP_MD         *hg_md[HG_ALG_COUNT];
static char            hg_refused[HG_ALG_COUNT][HG_ERR_MAX];   /* why */

struct hg_hash_s {
    EVP_MD_CTX     *ctx[HG_ALG_COUNT];
    unsigned        algs;       /* being computed for the current object */
    uint64_t        size;       /* bytes of the current object so far */
    hg_hash_par_t  *par;        /* helpers, or NULL */
    unsigned char  *stage;      /* par's min bytes, for small updates */
    size_t          staged;     /* bytes in stage, not yet hashed */
    int             failed;     /* a split update failed */
};

/* The helper's share of a split update. */
typedef struct {
    EVP_MD_CTX           *ctx;
    const unsigned char  *p;
    size_t                len;
    size_t                off;      /* done so far: the runner's */
    int                   stop;     /* atomic: the caller takes over */
    int                   ok;
} _hg_par_job_t;

size_t
hg_alg_len(hg_alg_t alg)
{
    return (unsigned) alg < HG_ALG_COUNT ? hg_algs[alg].len : 0;
}

const char *
hg_alg_name(hg_alg_t alg)
{
    return (unsigned) alg < HG_ALG_COUNT ? hg_algs[alg].name : "unknown";
}

int
hg_alg_from_name(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    if (strcasecmp(name, "md5") == 0) {
        return HG_ALG_MD5;
    }
    if (strcasecmp(name, "sha1") == 0 || strcasecmp(name, "sha-1") == 0) {
        return HG_ALG_SHA1;
    }
    if (strcasecmp(name, "sha256") == 0 || strcasecmp(name, "sha-256") == 0) {
        return HG_ALG_SHA256;
    }
    return -1;
}

int
hg_alg_from_hexlen(size_t hexlen)
{
    int  a;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (hexlen == 2 * hg_algs[a].len) {
            return a;
        }
    }
    return -1;
}

int
hg_digest_is_empty(hg_alg_t alg, const unsigned char *d)
{
    static const unsigned char  empty[HG_ALG_COUNT][HG_DIGEST_MAX] = {
        [HG_ALG_MD5] = "\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98"
                       "\xec\xf8\x42\x7e",
        [HG_ALG_SHA1] = "\xda\x39\xa3\xee\x5e\x6b\x4b\x0d\x32\x55\xbf\xef"
                        "\x95\x60\x18\x90\xaf\xd8\x07\x09",
        [HG_ALG_SHA256] = "\xe3\xb0\xc4\x42\x98\xfc\x1c\x14\x9a\xfb\xf4\xc8"
                          "\x99\x6f\xb9\x24\x27\xae\x41\xe4\x64\x9b\x93\x4c"
                          "\xa4\x95\x99\x1b\x78\x52\xb8\x55",
    };

    if ((int) alg < 0 || alg >= HG_ALG_COUNT) {
        return 0;
    }
    return memcmp(d, empty[alg], hg_alg_len(alg)) == 0;
}

/* Runs once per process: fetch what we can, remember why one was refused. */
static void
_hg_hash_fetch(void)
{
    int            a;
    unsigned long  e;
    char           why[256];

    for (a = 0; a < HG_ALG_COUNT; a++) {
        hg_md[a] = EVP_MD_fetch(NULL, hg_algs[a].evp_name, hg_algs[a].props);
        if (hg_md[a] == NULL) {
            e = ERR_peek_last_error();
            if (e != 0) {
                ERR_error_string_n(e, why, sizeof(why));
            } else {
                strcpy(why, "no provider offers it");
            }
            snprintf(hg_refused[a], sizeof(hg_refused[a]),
                     "OpenSSL refused %s (property query \"%s\"): %s",
                     hg_algs[a].name,
                     hg_algs[a].props ? hg_algs[a].props : "default", why);
            ERR_clear_error();
        }
    }
}

/*
 * Can every algorithm in algs be computed? Fetches them once per process.
 * Returns HG_ECRYPTO with a message naming the first one OpenSSL refused
 * (see openssl.cnf); the others stay usable, and hg_hash_init fails only
 * for a mask that asks for a refused algorithm.
 */
hg_status_t
hg_hash_check(unsigned algs, hg_err_t *err)
{
    int  a;

    if (pthread_once(&hg_hash_once, _hg_hash_fetch) != 0) {
        return hg_err_set(err, HG_ECRYPTO, "hash: pthread_once failed");
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if ((algs & HG_ALG_BIT(a)) && hg_md[a] == NULL) {
            return hg_err_set(err, HG_ECRYPTO, "%s", hg_refused[a]);
        }
    }
    return HG_OK;
}

hg_status_t
hg_hash_global_init(hg_err_t *err)
{
    return hg_hash_check(HG_ALGS_ALL, err);
}

/*
 * A context for all three algorithms. Returns NULL only when memory runs
 * out or no algorithm at all could be fetched.
 */
hg_hash_t *
hg_hash_new(void)
{
    hg_hash_t  *h;
    int         a, any = 0;

    (void) hg_hash_global_init(NULL);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        any |= hg_md[a] != NULL;
    }
    if (!any) {
        return NULL;
    }

    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        h->ctx[a] = EVP_MD_CTX_new();
        if (h->ctx[a] == NULL) {
            hg_hash_free(h);
            return NULL;
        }
    }
    return h;
}

void
hg_hash_free(hg_hash_t *h)
{
    int  a;

    if (h == NULL) {
        return;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        EVP_MD_CTX_free(h->ctx[a]);
    }
    free(h->stage);
    free(h);
}

void
hg_hash_set_parallel(hg_hash_t *h, hg_hash_par_t *par)
{
    free(h->stage);
    h->stage = NULL;
    h->staged = 0;
    h->par = par;
}

/*
 * Start an object. Bits of algs beyond the three algorithms are ignored.
 * Returns HG_ECRYPTO if an asked-for algorithm was refused by OpenSSL;
 * the context then computes nothing until the next successful init.
 */
hg_status_t
hg_hash_init(hg_hash_t *h, unsigned algs)
{
    int  a;

    algs &= HG_ALGS_ALL;
    h->algs = 0;
    h->size = 0;
    h->staged = 0;
    h->failed = 0;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (!(algs & HG_ALG_BIT(a))) {
            continue;
        }
        if (hg_md[a] == NULL
            || EVP_DigestInit_ex2(h->ctx[a], hg_md[a], NULL) != 1)
        {
            ERR_clear_error();
            return HG_ECRYPTO;
        }
    }
    h->algs = algs;
    return HG_OK;
}

/* Every algorithm of algs over len bytes at p, in slices (see above). */
static int
_hg_hash_serial(hg_hash_t *h, unsigned algs, const unsigned char *p,
                size_t len)
{
    size_t  n;
    int     a;

    while (len > 0) {
        n = len < HG_HASH_SLICE ? len : HG_HASH_SLICE;
        for (a = 0; a < HG_ALG_COUNT; a++) {
            if ((algs & HG_ALG_BIT(a))
                && EVP_DigestUpdate(h->ctx[a], p, n) != 1)
            {
                return 0;
            }
        }
        p += n;
        len -= n;
    }
    return 1;
}

/* A slice at a time, until done or the caller takes over. */
static void
_hg_par_job(void *arg)
{
    _hg_par_job_t  *j = arg;
    size_t          n;

    while (j->ok && j->off < j->len
           && !__atomic_load_n(&j->stop, __ATOMIC_ACQUIRE))
    {
        n = j->len - j->off < HG_HASH_SLICE ? j->len - j->off : HG_HASH_SLICE;
        j->ok = EVP_DigestUpdate(j->ctx, j->p + j->off, n) == 1;
        j->off += n;
    }
}

/*
 * len bytes at p through every algorithm: one on a helper if one is idle,
 * the others here. The helper takes MD5, the slowest here by far (about
 * 620 MB/s a core against 1,450-1,600 for SHA-1 and SHA-256 with SHA-NI),
 * else SHA-256 (as fast as SHA-1 with SHA-NI, half as fast without): with
 * all three, MD5 against SHA-1 + SHA-256 is about even.
 *
 * Done with its own share, the caller stops the helper after the slice it
 * is in and hashes the rest of the helper's share itself: the split then
 * never takes longer than hashing serially (plus a hand-off and a slice),
 * even when the helper shares a busy core, and takes as long as the slow
 * algorithm alone when the helper ran beside it.
 */
static int
_hg_hash_par_update(hg_hash_t *h, const unsigned char *p, size_t len)
{
    hg_par_helper_t  *w;
    _hg_par_job_t     job;
    hg_alg_t          alg;
    int               ok;

    w = hg_hash_par_take(h->par);
    if (w == NULL) {
        return _hg_hash_serial(h, h->algs, p, len);
    }
    alg = (h->algs & HG_ALG_BIT(HG_ALG_MD5)) ? HG_ALG_MD5 : HG_ALG_SHA256;
    job.ctx = h->ctx[alg];
    job.p = p;
    job.len = len;
    job.off = 0;
    job.stop = 0;
    job.ok = 1;
    hg_hash_par_start(w, _hg_par_job, &job);
    ok = _hg_hash_serial(h, h->algs & ~HG_ALG_BIT(alg), p, len);
    __atomic_store_n(&job.stop, 1, __ATOMIC_RELEASE);
    /* the join orders job.off and the context's state before us */
    hg_hash_par_join(h->par, w);
    if (job.ok && job.off < len) {
        job.ok = EVP_DigestUpdate(job.ctx, p + job.off, len - job.off) == 1;
    }
    return ok && job.ok;
}

/*
 * With a pool and several algorithms: updates of min bytes or more are
 * split as they come; once the object is min bytes long, smaller ones are
 * gathered in stage and split min bytes at a time. Before that it may stay
 * small, and is hashed as without a pool.
 */
static int
_hg_hash_update_par(hg_hash_t *h, const unsigned char *p, size_t len)
{
    size_t  min = hg_hash_par_min(h->par), n;

    while (len > 0) {
        if (h->staged == 0 && len >= min) {
            return _hg_hash_par_update(h, p, len);
        }
        if (h->staged == 0 && h->size < min) {
            return _hg_hash_serial(h, h->algs, p, len);
        }
        if (h->stage == NULL && (h->stage = malloc(min)) == NULL) {
            /* no room to gather: hash as without a pool */
            return _hg_hash_serial(h, h->algs, p, len);
        }
        n = min - h->staged < len ? min - h->staged : len;
        memcpy(h->stage + h->staged, p, n);
        h->staged += n;
        p += n;
        len -= n;
        if (h->staged == min) {
            h->staged = 0;
            if (!_hg_hash_par_update(h, h->stage, min)) {
                return 0;
            }
        }
    }
    return 1;
}

hg_status_t
hg_hash_update(hg_hash_t *h, const void *buf, size_t len)
{
    const unsigned char  *p = buf;
    int                   a, ok;

    if (h->algs == HG_ALG_BIT(HG_ALG_MD5) || h->algs == HG_ALG_BIT(HG_ALG_SHA1)
        || h->algs == HG_ALG_BIT(HG_ALG_SHA256))
    {
        a = __builtin_ctz(h->algs);
        if (len > 0 && EVP_DigestUpdate(h->ctx[a], p, len) != 1) {
            return HG_ECRYPTO;
        }
        h->size += len;
        return HG_OK;
    }

    if (h->failed) {
        return HG_ECRYPTO;
    }
    ok = h->par != NULL && h->algs != 0
         ? _hg_hash_update_par(h, p, len)
         : _hg_hash_serial(h, h->algs, p, len);
    /* size counts what was given, gathered bytes too */
    h->size += len;
    if (!ok) {
        h->failed = 1;
        return HG_ECRYPTO;
    }
    return HG_OK;
}

/* Digests of the algorithms not computed are zeroed in out. */
hg_status_t
hg_hash_final(hg_hash_t *h, hg_digests_t *out)
{
    int  a;

    memset(out, 0, sizeof(*out));
    if (h->staged > 0) {
        /* fewer than min bytes: not worth a helper */
        if (!_hg_hash_serial(h, h->algs, h->stage, h->staged)) {
            h->failed = 1;
        }
        h->staged = 0;
    }
    free(h->stage);
    h->stage = NULL;
    if (h->failed) {
        h->algs = 0;
        return HG_ECRYPTO;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if ((h->algs & HG_ALG_BIT(a))
            && EVP_DigestFinal_ex(h->ctx[a], out->d[a], NULL) != 1)
        {
            return HG_ECRYPTO;
        }
    }
    out->algs = h->algs;
    out->size = h->size;
    h->algs = 0;
    return HG_OK;
}

void
hg_hex_encode(const unsigned char *bin, size_t len, char *out)
{
    static const char  hex[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < len; i++) {
        out[2 * i] = hex[bin[i] >> 4];
        out[2 * i + 1] = hex[bin[i] & 0xf];
    }
    out[2 * len] = '\0';
}

/*
 * Value of each byte as a hex digit, or HG_HEX_BAD. Lists hold millions of
 * digests of random hex, where a compare-and-branch per character
 * mispredicts about every other time; a lookup and an OR do not branch.
 * HG_HEX_BAD is the only value with bit 4 set, so one test after the loop
 * says whether any character was not hex.
 */
#define HG_HEX_BAD  16

static const unsigned char hg_hex_value[256] = {
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
};

/* out may be partly written when -1 is returned. */
int
hg_hex_decode(const char *hex, size_t hexlen, unsigned char *out)
{
    const unsigned char  *p = (const unsigned char *) hex;
    size_t                i;
    unsigned              hi, lo, bad = 0;

    if (hexlen % 2 != 0) {
        return -1;
    }
    for (i = 0; i < hexlen / 2; i++) {
        hi = hg_hex_value[p[2 * i]];
        lo = hg_hex_value[p[2 * i + 1]];
        bad |= hi | lo;
        out[i] = (unsigned char) (hi << 4 | (lo & 0xf));
    }
    return (bad & HG_HEX_BAD) ? -1 : 0;
}
