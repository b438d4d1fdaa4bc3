/*
 * test_hash.c - the streaming digest API: known vectors, chunking, masks,
 * hex helpers, and MD5 under FIPS-only default properties.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hashgate/hash.h"

static const struct {
    const char  *what;
    const char  *hex[HG_ALG_COUNT];
} vectors[] = {
    { "", { "d41d8cd98f00b204e9800998ecf8427e",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" } },
    { "abc", { "900150983cd24fb0d6963f7d28e17f72",
               "a9993e364706816aba3e25717850c26c9cd0d89d",
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" } },
    { "a*1000000", { "7707d6ae4e027c70eea2a935c2296f21",
                     "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
                     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" } },
};

static unsigned char *
vector_bytes(size_t i, size_t *len)
{
    unsigned char  *b;

    if (i == 2) {
        *len = 1000000;
        b = malloc(*len);
        assert_non_null(b);
        memset(b, 'a', *len);
        return b;
    }
    *len = strlen(vectors[i].what);
    b = malloc(*len + 1);
    assert_non_null(b);
    memcpy(b, vectors[i].what, *len + 1);
    return b;
}

/* Hash buf in chunks of the given size (0: seeded random sizes). */
static void
hash_chunked(hg_hash_t *h, unsigned algs, const unsigned char *buf, size_t len,
             size_t chunk, unsigned seed, hg_digests_t *out)
{
    size_t  off = 0, n;

    assert_int_equal(hg_hash_init(h, algs), HG_OK);
    while (off < len) {
        n = chunk ? chunk : (size_t) (rand_r(&seed) % 70000);
        if (n > len - off) {
            n = len - off;
        }
        assert_int_equal(hg_hash_update(h, buf + off, n), HG_OK);
        off += n;
    }
    assert_int_equal(hg_hash_final(h, out), HG_OK);
}

static void
check_vector(const hg_digests_t *d, size_t i, unsigned algs)
{
    char  hex[HG_HEX_MAX];
    int   a;

    assert_int_equal(d->algs, algs);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (!(algs & HG_ALG_BIT(a))) {
            continue;
        }
        hg_hex_encode(d->d[a], hg_alg_len(a), hex);
        assert_string_equal(hex, vectors[i].hex[a]);
    }
}

static void
test_hash_known_vectors_all_algorithms_in_one_pass(void **state)
{
    hg_hash_t     *h = hg_hash_new();
    hg_digests_t   d;
    unsigned char *b;
    size_t         i, len;

    (void) state;
    assert_non_null(h);
    for (i = 0; i < 3; i++) {
        b = vector_bytes(i, &len);
        hash_chunked(h, HG_ALGS_ALL, b, len, len ? len : 1, 1, &d);
        check_vector(&d, i, HG_ALGS_ALL);
        assert_int_equal(d.size, len);
        free(b);
    }
    hg_hash_free(h);
}

static void
test_hash_same_digests_whatever_the_chunking(void **state)
{
    static const size_t  chunks[] = { 1, 3, 65536, 0 };
    hg_hash_t           *h = hg_hash_new();
    hg_digests_t         d;
    unsigned char       *b;
    size_t               i, c, len;
    unsigned             seed;

    (void) state;
    assert_non_null(h);
    for (i = 0; i < 3; i++) {
        b = vector_bytes(i, &len);
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            for (seed = 1; seed <= (chunks[c] ? 1u : 5u); seed++) {
                hash_chunked(h, HG_ALGS_ALL, b, len, chunks[c], seed, &d);
                check_vector(&d, i, HG_ALGS_ALL);
            }
        }
        free(b);
    }
    hg_hash_free(h);
}

static void
test_hash_computes_only_the_masked_algorithms(void **state)
{
    hg_hash_t     *h = hg_hash_new();
    hg_digests_t   d;
    unsigned       mask;
    int            a;
    static const unsigned char zero[HG_DIGEST_MAX];

    (void) state;
    for (mask = 0; mask <= HG_ALGS_ALL; mask++) {
        hash_chunked(h, mask, (const unsigned char *) "abc", 3, 2, 1, &d);
        check_vector(&d, 1, mask);
        for (a = 0; a < HG_ALG_COUNT; a++) {
            if (!(mask & HG_ALG_BIT(a))) {
                assert_memory_equal(d.d[a], zero, HG_DIGEST_MAX);
            }
        }
    }
    hg_hash_free(h);
}

static void
test_hash_context_is_reusable_after_final(void **state)
{
    hg_hash_t     *h = hg_hash_new();
    hg_digests_t   d;
    int            i;

    (void) state;
    for (i = 0; i < 3; i++) {
        hash_chunked(h, HG_ALGS_ALL, (const unsigned char *) "abc", 3, 1, 1, &d);
        check_vector(&d, 1, HG_ALGS_ALL);
        /* an object abandoned half-way does not leak into the next one */
        assert_int_equal(hg_hash_init(h, HG_ALGS_ALL), HG_OK);
        assert_int_equal(hg_hash_update(h, "xyz", 3), HG_OK);
    }
    hash_chunked(h, HG_ALGS_ALL, (const unsigned char *) "", 0, 1, 1, &d);
    check_vector(&d, 0, HG_ALGS_ALL);
    hg_hash_free(h);
}

static void
test_hash_alg_names_and_lengths(void **state)
{
    (void) state;
    assert_int_equal(hg_alg_len(HG_ALG_MD5), 16);
    assert_int_equal(hg_alg_len(HG_ALG_SHA1), 20);
    assert_int_equal(hg_alg_len(HG_ALG_SHA256), 32);
    assert_string_equal(hg_alg_name(HG_ALG_SHA1), "sha1");
    assert_int_equal(hg_alg_from_name("SHA-256"), HG_ALG_SHA256);
    assert_int_equal(hg_alg_from_name("sha1"), HG_ALG_SHA1);
    assert_int_equal(hg_alg_from_name("Md5"), HG_ALG_MD5);
    assert_int_equal(hg_alg_from_name("sha512"), -1);
    assert_int_equal(hg_alg_from_hexlen(32), HG_ALG_MD5);
    assert_int_equal(hg_alg_from_hexlen(40), HG_ALG_SHA1);
    assert_int_equal(hg_alg_from_hexlen(64), HG_ALG_SHA256);
    assert_int_equal(hg_alg_from_hexlen(31), -1);
}

static void
test_hex_round_trip_and_refusals(void **state)
{
    unsigned char  b[4], in[4] = { 0x00, 0xab, 0xCD, 0xff };
    char           hex[9];

    (void) state;
    hg_hex_encode(in, 4, hex);
    assert_string_equal(hex, "00abcdff");
    assert_int_equal(hg_hex_decode("00ABcdFF", 8, b), 0);
    assert_memory_equal(b, in, 4);
    assert_int_equal(hg_hex_decode("00abc", 5, b), -1);
    assert_int_equal(hg_hex_decode("00abcg", 6, b), -1);
    assert_int_equal(hg_hex_decode("0 ", 2, b), -1);
}

/*
 * Every one of the 256 byte values, as high and as low digit: exactly
 * 0-9, a-f, A-F decode, to their value; anything else (NUL, bytes >= 0x80,
 * 'g', '/', ':', '@', '`') refuses the whole string.
 */
static void
test_hex_decode_accepts_exactly_the_hex_digits(void **state)
{
    unsigned char  b[2];
    char           s[4];
    int            c, want;

    (void) state;
    for (c = 0; c < 256; c++) {
        if (c >= '0' && c <= '9') {
            want = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            want = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            want = c - 'A' + 10;
        } else {
            want = -1;
        }
        s[0] = (char) c; s[1] = '7'; s[2] = '7'; s[3] = (char) c;
        if (want < 0) {
            assert_int_equal(hg_hex_decode(s, 4, b), -1);
            assert_int_equal(hg_hex_decode(s + 2, 2, b), -1);   /* low */
            assert_int_equal(hg_hex_decode(s, 2, b), -1);       /* high */
        } else {
            assert_int_equal(hg_hex_decode(s, 4, b), 0);
            assert_int_equal(b[0], (unsigned) (want << 4 | 7));
            assert_int_equal(b[1], (unsigned) (0x70 | want));
        }
    }
}

/*
 * In a child (process default properties are global): with "fips=yes" as
 * the default query and no FIPS provider, a plain fetch of MD5 fails, yet
 * hashgate's MD5 still works because it asks for "-fips".
 */
static void
test_hash_md5_works_with_fips_only_default_properties(void **state)
{
    pid_t  pid;
    int    status;

    (void) state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hg_hash_t     *h;
        hg_digests_t   d;
        hg_err_t       err;
        EVP_MD        *plain;
        char           hex[HG_HEX_MAX];

        if (EVP_set_default_properties(NULL, "fips=yes") != 1) {
            _exit(10);
        }
        plain = EVP_MD_fetch(NULL, "MD5", NULL);
        if (plain != NULL) {
            _exit(11);          /* the setting had no effect: test proves nothing */
        }
        (void) hg_hash_global_init(&err);
        h = hg_hash_new();
        if (h == NULL) {
            _exit(12);
        }
        if (hg_hash_init(h, HG_ALG_BIT(HG_ALG_MD5)) != HG_OK
            || hg_hash_update(h, "abc", 3) != HG_OK
            || hg_hash_final(h, &d) != HG_OK)
        {
            _exit(13);
        }
        hg_hex_encode(d.d[HG_ALG_MD5], 16, hex);
        _exit(strcmp(hex, vectors[1].hex[HG_ALG_MD5]) == 0 ? 0 : 14);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static long  allocs;

static void *
count_malloc(size_t n, const char *file, int line)
{
    (void) file;
    (void) line;
    allocs++;
    return malloc(n);
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
    (void) file;
    (void) line;
    allocs++;
    return realloc(p, n);
}

static void
count_free(void *p, const char *file, int line)
{
    (void) file;
    (void) line;
    free(p);
}

/*
 * In a child whose OpenSSL has not allocated yet (so the allocator can
 * still be replaced): no allocation at all while bytes are fed, and at most
 * one per algorithm per object (OpenSSL 3.0's EVP_DigestInit_ex2 re-creates
 * the provider's context; nothing of ours allocates).
 */
static void
test_hash_update_never_allocates(void **state)
{
    pid_t  pid;
    int    status;

    (void) state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static unsigned char  buf[200000];
        hg_hash_t            *h;
        hg_digests_t          d;
        long                  before, in_update = 0, per_object = 0;
        size_t                off;
        int                   i;

        if (CRYPTO_set_mem_functions(count_malloc, count_realloc,
                                     count_free) != 1)
        {
            _exit(10);
        }
        h = hg_hash_new();
        if (h == NULL) {
            _exit(11);
        }
        for (i = 0; i < 100; i++) {
            before = allocs;
            hg_hash_init(h, HG_ALGS_ALL);
            per_object += allocs - before;
            before = allocs;
            for (off = 0; off < sizeof(buf); off += 1 + (off % 7919)) {
                hg_hash_update(h, buf + off, 1 + (off % 7919) < sizeof(buf) - off
                               ? 1 + (off % 7919) : sizeof(buf) - off);
            }
            in_update += allocs - before;
            before = allocs;
            hg_hash_final(h, &d);
            per_object += allocs - before;
        }
        hg_hash_free(h);
        _exit(in_update != 0 ? 12 : per_object > 100 * HG_ALG_COUNT ? 13 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    /* first: the children must fetch and allocate for themselves, not
     * inherit our fetch or our allocator */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_md5_works_with_fips_only_default_properties),
        cmocka_unit_test(test_hash_update_never_allocates),
        cmocka_unit_test(test_hash_known_vectors_all_algorithms_in_one_pass),
        cmocka_unit_test(test_hash_same_digests_whatever_the_chunking),
        cmocka_unit_test(test_hash_computes_only_the_masked_algorithms),
        cmocka_unit_test(test_hash_context_is_reusable_after_final),
        cmocka_unit_test(test_hash_alg_names_and_lengths),
        cmocka_unit_test(test_hex_round_trip_and_refusals),
        cmocka_unit_test(test_hex_decode_accepts_exactly_the_hex_digits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
