/*
 * test_inspect_walk.c - hg_inspect_walk on real archives: for every format
 * the digests of the files inside equal the originals'; nested chains and
 * depths; encrypted entries named, not read; a zip entry hidden from the
 * central directory found once; each limit stops the walk with its name;
 * the bombs stopped by theirs; damaged input gives HG_EFORMAT or fewer
 * files, never a crash; and, under a seccomp filter that kills open(),
 * execve() and fork(), the walk runs to the end.
 *
 * Fixtures are made at test time by tests/lib/archives.py (seeded random
 * bytes, synthetic names) into a temporary directory; its --tsv output
 * gives each inner file's sha256 and chain.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "hashgate/inspect.h"
#include "helper_tmpdir.h"
#include "inspect/tnef.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
/* ASan's shadow memory does not fit under RLIMIT_AS: the memory limit is
 * tested by failing any allocation over 64 MiB instead */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=64";
}
#endif

#define MAX_WANT    256

/* archives.py's arguments for most fixtures (one file named with e-acute,
 * '!' and '%'; ignored by the kinds that cannot hold it), so that one
 * fixture serves many tests */
#define ODD         "--odd-names"
#define MAX_GOT     4096

typedef struct {
    char            chain[2100];        /* "!" + the key: as reported */
    char            sha[65];
} want_t;

typedef struct {
    unsigned char  *buf;
    size_t          len;
    want_t          want[MAX_WANT];
    size_t          nwant;
} fixture_t;

typedef struct {
    char           *chain, *path, *name, *format;
    unsigned        depth, flags, algs;
    uint64_t        size;
    char            sha[65];
} got_t;

typedef struct {
    got_t           v[MAX_GOT];
    size_t          n;
    size_t          stop_after;         /* 0: never stop */
    hg_inspect_done_t done;
} walk_t;

static char top[PATH_MAX];

/* ---- fixtures ---- */

static void
find_top(void)
{
    const char  *t = getenv("HG_TOP");
    char         exe[PATH_MAX], *s;
    ssize_t      n;
    int          i;

    if (t != NULL) {
        snprintf(top, sizeof(top), "%s", t);
        return;
    }
    /* BUILD/tests/test_inspect_walk: three levels below the top */
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    for (i = 0; i < 3 && (s = strrchr(exe, '/')) != NULL; i++) {
        *s = '\0';
    }
    snprintf(top, sizeof(top), "%s", exe);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE           *f = fopen(path, "rb");
    struct stat     st;
    unsigned char  *b;

    assert_non_null(f);
    assert_int_equal(fstat(fileno(f), &st), 0);
    b = malloc((size_t) st.st_size + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t) st.st_size, f),
                     (size_t) st.st_size);
    fclose(f);
    *len = (size_t) st.st_size;
    return b;
}

/* Debian's python3, not a version manager's shim that costs a second a
 * start; PYTHON overrides. */
static const char *
python(void)
{
    const char  *p = getenv("PYTHON");

    if (p != NULL) {
        return p;
    }
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                 : "python3";
}

/* Where the KIND fixture made with args lives in the temporary dir. */
static void
fixture_path(const char *kind, const char *args, char *out, size_t cap)
{
    char    name[256];
    size_t  i, k;

    snprintf(name, sizeof(name), "%s%s", kind, args);
    for (i = k = 0; name[i] != '\0'; i++) {
        name[k++] = (name[i] == ' ' || name[i] == '-') ? '_' : name[i];
    }
    name[k] = '\0';
    snprintf(out, cap, "%s", hg_test_path(name));
}

/* Make (or reuse) the KIND fixture with extra archives.py arguments. */
static fixture_t *
fixture(const char *kind, const char *args)
{
    fixture_t  *fx = calloc(1, sizeof(*fx));
    char        out[512], tsv[600], cmd[PATH_MAX + 2048];
    char        line[2200];
    char       *tab;
    FILE       *f;

    assert_non_null(fx);
    fixture_path(kind, args, out, sizeof(out));
    snprintf(tsv, sizeof(tsv), "%s.tsv", out);
    if (access(tsv, R_OK) != 0) {
        snprintf(cmd, sizeof(cmd),
                 "%s '%s/tests/lib/archives.py' %s '%s' --tsv %s "
                 "> '%s'", python(), top, kind, out, args, tsv);
        if (system(cmd) != 0) {
            unlink(tsv);
            fail_msg("archives.py failed: %s", cmd);
        }
    }
    fx->buf = slurp(out, &fx->len);
    f = fopen(tsv, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        tab = strchr(line, '\t');
        assert_non_null(tab);
        assert_true(fx->nwant < MAX_WANT);
        *tab = '\0';
        snprintf(fx->want[fx->nwant].sha, 65, "%.64s", line);
        snprintf(fx->want[fx->nwant].chain, sizeof(fx->want[0].chain),
                 "!%s", tab + 1);
        fx->nwant++;
    }
    fclose(f);
    return fx;
}

static void
fixture_free(fixture_t *fx)
{
    free(fx->buf);
    free(fx);
}

/* ---- walking ---- */

static hg_status_t
collect(void *ctx, const hg_inspect_entry_t *e)
{
    walk_t  *w = ctx;
    got_t   *g;

    assert_true(w->n < MAX_GOT);
    g = &w->v[w->n++];
    memset(g, 0, sizeof(*g));
    g->chain = strdup(e->chain);
    g->path = strdup(e->path);
    g->name = strdup(e->name);
    g->format = strdup(e->format);
    g->depth = e->depth;
    g->flags = e->flags;
    g->size = e->size;
    g->algs = e->digests.algs;
    if (e->digests.algs & HG_ALG_BIT(HG_ALG_SHA256)) {
        hg_hex_encode(e->digests.d[HG_ALG_SHA256], 32, g->sha);
    }
    if (w->stop_after && w->n >= w->stop_after) {
        return HG_ECANCEL;
    }
    return HG_OK;
}

static void
walk_free(walk_t *w)
{
    size_t  i;

    for (i = 0; i < w->n; i++) {
        free(w->v[i].chain);
        free(w->v[i].path);
        free(w->v[i].name);
        free(w->v[i].format);
    }
    free(w);
}

static walk_t *
walk_buf(const void *buf, size_t len, const hg_inspect_limits_t *lim,
         unsigned algs)
{
    walk_t  *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    hg_inspect_walk(buf, len, algs, lim, collect, w, &w->done);
    return w;
}

static walk_t *
walk_fx(const fixture_t *fx, const hg_inspect_limits_t *lim)
{
    return walk_buf(fx->buf, fx->len, lim, HG_ALGS_ALL);
}

static const got_t *
got(const walk_t *w, const char *chain)
{
    size_t  i;

    for (i = 0; i < w->n; i++) {
        if (strcmp(w->v[i].chain, chain) == 0) {
            return &w->v[i];
        }
    }
    return NULL;
}

static unsigned
bangs(const char *s)
{
    unsigned  n = 0;

    for (; *s; s++) {
        n += *s == '!';
    }
    return n;
}

/* Every file archives.py put in is reported once with its digest, at its
 * depth; nothing else is reported. */
static void
assert_all_found_flags(const fixture_t *fx, const walk_t *w, unsigned ok)
{
    const got_t  *g;
    size_t        i, j;

    for (i = 0; i < fx->nwant; i++) {
        g = got(w, fx->want[i].chain);
        if (g == NULL) {
            fail_msg("not reported: %s", fx->want[i].chain);
        }
        assert_string_equal(g->sha, fx->want[i].sha);
        assert_int_equal(g->algs, HG_ALGS_ALL);
        assert_int_equal(g->depth, bangs(fx->want[i].chain));
        assert_int_equal(g->flags & ~(HG_INSPECT_F_CONTAINER | ok), 0);
        for (j = 0; j < w->n; j++) {
            if (&w->v[j] != g) {
                assert_string_not_equal(w->v[j].chain, g->chain);
            }
        }
    }
    assert_int_equal(w->n, fx->nwant);
    assert_int_equal(w->done.files, fx->nwant);
}

static void
assert_all_found(const fixture_t *fx, const walk_t *w)
{
    assert_all_found_flags(fx, w, 0);
}

typedef struct {
    const char  *kind;
    const char  *args;
    const char  *format;        /* of the entries at depth 1 */
} kind_t;

static const kind_t kinds[] = {
    { "zip", ODD, "zip" },
    { "zip-stored", ODD, "zip" },
    { "zip-stream", ODD, "zip" },     /* data descriptors: both passes */
    { "7z", ODD, "7z" },
    { "rar4", ODD, "rar" },
    { "rar5", ODD, "rar5" },
    { "tar", ODD, "tar" },
    { "tar.gz", ODD, "tar.gz" },
    { "tar.bz2", ODD, "tar.bz2" },
    { "tar.xz", ODD, "tar.xz" },
    { "tar.zst", ODD, "tar.zst" },
    { "tar.lz4", ODD, "tar.lz4" },
    { "cpio", ODD, "cpio" },
    { "iso9660", ODD, "iso9660" },
    { "iso9660-hybrid", ODD, "iso9660" },   /* an MBR in its system area */
    { "iso9660-sysarea", ODD, "iso9660" },  /* a file in its system area */
    { "ar", ODD, "ar" },
    { "gz", ODD, "gzip" },
    { "bz2", ODD, "bzip2" },
    { "xz", ODD, "xz" },
    { "zst", ODD, "zstd" },
    { "lz4", ODD, "lz4" },
    { "tnef", ODD, "tnef" },
    { "nested", ODD, "zip" },
    { "zip-hidden", ODD, "zip" },
};

/* ---- every format: the originals' digests ---- */

static void
test_walk_format_gives_the_originals_digests(void **state)
{
    const kind_t  *k = *state;
    fixture_t     *fx = fixture(k->kind, k->args);
    walk_t        *w = walk_fx(fx, NULL);
    size_t         i;

    assert_int_equal(w->done.st, HG_OK);
    assert_int_equal(w->done.limit, HG_INSPECT_LIMIT_NONE);
    assert_all_found_flags(fx, w, HG_INSPECT_F_HIDDEN);
    for (i = 0; i < w->n; i++) {
        if (w->v[i].depth == 1) {
            assert_string_equal(w->v[i].format, k->format);
        }
        assert_string_equal(w->v[i].name,
                            strrchr(w->v[i].path, '/')
                            ? strrchr(w->v[i].path, '/') + 1 : w->v[i].path);
    }
    walk_free(w);
    fixture_free(fx);
}

static void
test_walk_hashes_only_the_algorithms_asked(void **state)
{
    fixture_t  *fx = fixture("zip", ODD);
    walk_t     *w;

    (void) state;
    w = walk_buf(fx->buf, fx->len, NULL, HG_ALG_BIT(HG_ALG_SHA256));
    assert_int_equal(w->done.st, HG_OK);
    assert_true(w->n > 0);
    assert_int_equal(w->v[0].algs, HG_ALG_BIT(HG_ALG_SHA256));
    walk_free(w);
    fixture_free(fx);
}

/* ---- nesting ---- */

static void
test_walk_nested_chain_depth_and_container_flag(void **state)
{
    fixture_t     *fx = fixture("nested", "--depth 4");
    walk_t        *w = walk_fx(fx, NULL);
    const got_t   *g;

    (void) state;
    assert_int_equal(w->done.st, HG_OK);
    assert_all_found(fx, w);
    g = got(w, "!mid1.tar!mid2.zip!mid3.tar");
    assert_non_null(g);
    assert_int_equal(g->depth, 3);
    assert_int_equal(g->flags, HG_INSPECT_F_CONTAINER);
    assert_string_equal(g->format, "zip");
    g = got(w, "!mid1.tar!mid2.zip!mid3.tar!l3-file00.bin");
    assert_non_null(g);
    assert_int_equal(g->depth, 4);
    assert_string_equal(g->format, "tar");
    /* a container comes before its files */
    assert_true(got(w, "!mid1.tar") < got(w, "!mid1.tar!l1-file00.bin"));
    g = got(w, "!l0-file00.bin");
    assert_int_equal(g->flags, 0);
    walk_free(w);
    fixture_free(fx);
}

static void
test_walk_depth_limit_stops_with_depth(void **state)
{
    fixture_t            *fx = fixture("nested", "--depth 4");
    hg_inspect_limits_t   lim;
    walk_t               *w;
    const got_t          *g;
    size_t                i;

    (void) state;
    hg_inspect_limits_default(&lim);
    lim.max_depth = 2;
    w = walk_fx(fx, &lim);
    assert_int_equal(w->done.st, HG_ELIMIT);
    assert_int_equal(w->done.limit, HG_INSPECT_LIMIT_DEPTH);
    assert_non_null(strstr(w->done.why, "!mid1.tar!mid2.zip"));
    /* the container too deep is reported as a file, with its digest */
    g = got(w, "!mid1.tar!mid2.zip");
    assert_non_null(g);
    assert_int_equal(g->flags, 0);
    assert_string_not_equal(g->sha, "");
    for (i = 0; i < w->n; i++) {
        assert_true(w->v[i].depth <= 2);
    }
    walk_free(w);
    fixture_free(fx);
}

/* ---- encryption ---- */

static void
test_walk_encrypted_entries_are_named_not_read(void **state)
{
    static const char  *enc[] = { "zip-zipcrypto", "zip-aes",
                                  "7z-encrypted", "rar4-encrypted",
                                  "rar5-encrypted" };
    fixture_t          *fx;
    walk_t             *w;
    const got_t        *g;
    size_t              i, j;

    (void) state;
    for (i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        fx = fixture(enc[i], ODD);
        w = walk_fx(fx, NULL);
        assert_int_equal(w->done.st, HG_OK);
        assert_int_equal(w->n, fx->nwant);
        for (j = 0; j < fx->nwant; j++) {
            g = got(w, fx->want[j].chain);
            if (g == NULL) {
                fail_msg("%s: not reported: %s", enc[i], fx->want[j].chain);
            }
            assert_int_equal(g->flags, HG_INSPECT_F_ENCRYPTED);
            assert_int_equal(g->algs, 0);
            assert_true(g->size >= 2048 && g->size <= 4096);
        }
        assert_int_equal(w->done.bytes, 0);
        walk_free(w);
        fixture_free(fx);
    }
}

static void
test_walk_encrypted_headers_give_one_encrypted_entry(void **state)
{
    static const char  *enc[] = { "7z-encrypted-headers",
                                  "rar4-encrypted-headers",
                                  "rar5-encrypted-headers" };
    fixture_t          *fx;
    walk_t             *w;
    size_t              i;

    (void) state;
    for (i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        fx = fixture(enc[i], ODD);
        w = walk_fx(fx, NULL);
        assert_int_equal(w->done.st, HG_OK);
        assert_int_equal(w->n, 1);
        assert_string_equal(w->v[0].path, "");
        assert_string_equal(w->v[0].chain, "!");
        assert_int_equal(w->v[0].flags, HG_INSPECT_F_ENCRYPTED);
        assert_int_equal(w->v[0].algs, 0);
        walk_free(w);
        fixture_free(fx);
    }
}

/* ---- the zip's second pass ---- */

static void
test_walk_zip_entry_hidden_from_directory_found_once(void **state)
{
    fixture_t    *fx = fixture("zip-hidden", ODD);
    walk_t       *w = walk_fx(fx, NULL);
    const got_t  *g;
    size_t        i;

    (void) state;
    assert_int_equal(w->done.st, HG_OK);
    /* each once, hidden.bin included */
    assert_all_found_flags(fx, w, HG_INSPECT_F_HIDDEN);
    for (i = 0; i < w->n; i++) {
        g = &w->v[i];
        assert_int_equal(g->flags, strcmp(g->path, "hidden.bin") == 0
                                   ? HG_INSPECT_F_HIDDEN : 0);
    }
    /* hidden.bin is reported after the directory's files */
    assert_string_equal(w->v[w->n - 1].path, "hidden.bin");
    walk_free(w);
    fixture_free(fx);
}

/* ---- limits ---- */

static walk_t *
walk_limited(const char *kind, const char *args, hg_inspect_limits_t *lim,
             hg_inspect_limit_t want)
{
    fixture_t  *fx = fixture(kind, args);
    walk_t     *w = walk_fx(fx, lim);

    if (w->done.limit != want) {
        fail_msg("%s: limit %s (%s), want %s", kind,
                 hg_inspect_limit_name(w->done.limit), w->done.why,
                 hg_inspect_limit_name(want));
    }
    if (want == HG_INSPECT_LIMIT_NONE) {
        assert_int_equal(w->done.st, HG_OK);
    } else {
        assert_int_equal(w->done.st, HG_ELIMIT);
        assert_non_null(strstr(w->done.why, hg_inspect_limit_name(want)));
    }
    fixture_free(fx);
    return w;
}

static void
test_walk_files_limit(void **state)
{
    hg_inspect_limits_t  lim;
    walk_t              *w;

    (void) state;
    hg_inspect_limits_default(&lim);
    lim.max_files = 4;
    w = walk_limited("zip", "--files 5 " ODD, &lim, HG_INSPECT_LIMIT_FILES);
    assert_int_equal(w->n, 4);
    assert_int_equal(w->done.files, 4);
    walk_free(w);
    /* exactly the limit passes: 3 files and the odd one */
    w = walk_limited("zip", ODD, &lim, HG_INSPECT_LIMIT_NONE);
    assert_int_equal(w->n, 4);
    walk_free(w);
}

static void
test_walk_bytes_limit(void **state)
{
    hg_inspect_limits_t  lim;
    walk_t              *w;

    (void) state;
    hg_inspect_limits_default(&lim);
    lim.max_bytes = 6000;           /* files of 2048..4096 bytes */
    w = walk_limited("tar.gz", ODD, &lim, HG_INSPECT_LIMIT_BYTES);
    assert_true(w->done.bytes <= 6000);
    assert_true(w->n >= 1 && w->n < 4);
    walk_free(w);
}

static void
test_walk_file_size_limit(void **state)
{
    hg_inspect_limits_t  lim;
    walk_t              *w;

    (void) state;
    hg_inspect_limits_default(&lim);
    lim.max_file_bytes = 1000;
    /* declared in the header: stopped before reading */
    w = walk_limited("zip", ODD, &lim, HG_INSPECT_LIMIT_FILE_BYTES);
    assert_int_equal(w->n, 0);
    assert_int_equal(w->done.bytes, 0);
    walk_free(w);
    /* declared, stopped before a block is inflated: bytes 0, where
     * reading would have hashed a first 256 KiB block */
    lim.max_file_bytes = 300000;
    w = walk_limited("zip", "--files 1 --size 1048576", &lim,
                     HG_INSPECT_LIMIT_FILE_BYTES);
    assert_int_equal(w->done.bytes, 0);
    walk_free(w);
    lim.max_file_bytes = 1000;
    /* not declared (a gzip): stopped while reading */
    w = walk_limited("gz", ODD, &lim, HG_INSPECT_LIMIT_FILE_BYTES);
    assert_int_equal(w->n, 0);
    assert_true(w->done.bytes <= 1000);
    walk_free(w);
}

static void
test_walk_ratio_limit_past_the_grace(void **state)
{
    hg_inspect_limits_t  lim;
    walk_t              *w;

    (void) state;
    hg_inspect_limits_default(&lim);
    /* 32 MiB of zeros in 32 KiB: stopped just past the 10 MiB grace */
    w = walk_limited("bomb-gzip", "--zeros 33554432", &lim,
                     HG_INSPECT_LIMIT_RATIO);
    assert_true(w->done.bytes > HG_INSPECT_RATIO_GRACE - (1 << 20));
    assert_true(w->done.bytes <= HG_INSPECT_RATIO_GRACE);
    walk_free(w);
    /* within the grace any ratio is fine: 8 MiB of zeros pass */
    w = walk_limited("bomb-gzip", "--zeros 8388608", &lim,
                     HG_INSPECT_LIMIT_NONE);
    walk_free(w);
    /* ratio 0: no ratio limit; the file size limit stops it instead */
    lim.max_ratio = 0;
    lim.max_file_bytes = 20 << 20;
    w = walk_limited("bomb-gzip", "--zeros 33554432", &lim,
                     HG_INSPECT_LIMIT_FILE_BYTES);
    walk_free(w);
}

static void
test_walk_time_limit(void **state)
{
    hg_inspect_limits_t  lim;
    walk_t              *w;

    (void) state;
    hg_inspect_limits_default(&lim);
    lim.max_ratio = 0;
    lim.max_file_bytes = 1ull << 40;
    lim.max_bytes = 1ull << 40;
    lim.timeout_ms = 20;
    w = walk_limited("bomb-gzip", "", &lim, HG_INSPECT_LIMIT_TIME);
    assert_true(w->done.bytes < (1ull << 30));
    walk_free(w);
}

/* The memory limit: in a child under RLIMIT_AS, a nested container too
 * big to copy. */
static void
test_walk_memory_limit(void **state)
{
    fixture_t  *fx;
    pid_t       pid;
    int         status;

    (void) state;
    fx = fixture("zip-tar-zeros", "--zeros 100663296");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit        rl;
        hg_inspect_limits_t  lim;
        hg_inspect_done_t    done;
        walk_t               w;
        unsigned long        pages = 0;
        FILE                *f = fopen("/proc/self/statm", "r");

        if (f == NULL || fscanf(f, "%lu", &pages) != 1) {
            _exit(3);
        }
        fclose(f);
        rl.rlim_cur = rl.rlim_max = pages * (unsigned long) getpagesize()
                                    + (64ul << 20);
#ifndef UNDER_ASAN
        if (setrlimit(RLIMIT_AS, &rl) != 0) {
            _exit(4);
        }
#endif
        hg_inspect_limits_default(&lim);
        lim.max_file_bytes = 1ull << 30;
        lim.max_ratio = 0;
        memset(&w, 0, sizeof(w));
        hg_inspect_walk(fx->buf, fx->len, HG_ALGS_ALL, &lim, collect, &w,
                        &done);
        _exit(done.st == HG_ELIMIT && done.limit == HG_INSPECT_LIMIT_MEMORY
              ? 0 : 10 + (int) done.limit);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fixture_free(fx);
}

/* ---- bombs, default limits ---- */

static void
test_walk_bombs_stopped_by_their_limit(void **state)
{
    walk_t  *w;

    (void) state;
    w = walk_limited("bomb-zip42", "", NULL, HG_INSPECT_LIMIT_RATIO);
    walk_free(w);
    w = walk_limited("bomb-overlap", "", NULL, HG_INSPECT_LIMIT_RATIO);
    walk_free(w);
    w = walk_limited("bomb-gzip", "", NULL, HG_INSPECT_LIMIT_FILE_BYTES);
    assert_int_equal(w->done.bytes, HG_INSPECT_MAX_FILE_BYTES);
    walk_free(w);
}

/* ---- damaged input ---- */

static void
test_walk_truncated_archives_are_damaged_not_fatal(void **state)
{
    static const char  *k[] = { "zip", "7z", "rar4", "rar5", "tar.gz",
                                "tar.xz", "cpio", "iso9660", "nested",
                                "tnef", "tar.zst", "zip-hidden",
                                "zip-stream" };
    static const int    pct[] = { 1, 10, 25, 50, 75, 90, 99 };
    fixture_t          *fx;
    walk_t             *w;
    size_t              i, j, cut;

    (void) state;
    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        fx = fixture(k[i], ODD);
        for (j = 0; j <= sizeof(pct) / sizeof(pct[0]); j++) {
            cut = j < sizeof(pct) / sizeof(pct[0])
                  ? fx->len * (size_t) pct[j] / 100 : fx->len - 1;
            w = walk_buf(fx->buf, cut, NULL, HG_ALGS_ALL);
            if (w->done.st != HG_EFORMAT && w->done.st != HG_OK) {
                fail_msg("%s cut at %zu: %s", k[i], cut, w->done.why);
            }
            assert_true(w->n <= fx->nwant);
            /* half a file is never all of it (an ISO 9660 image ends in
             * padding: its files are in the first half) */
            if (j == 3 && strcmp(k[i], "iso9660") != 0) {
                if (w->done.st != HG_EFORMAT && w->n == fx->nwant) {
                    fail_msg("%s cut in half: all read, st %d", k[i],
                             w->done.st);
                }
            }
            walk_free(w);
        }
        fixture_free(fx);
    }
}

/*
 * A compressed archive cut short fails libarchive's bidding before any
 * header: it is a damaged container (the verdict for unreadable ones),
 * never a plain file that was checked. A file that only shares gzip's
 * first two bytes stays a plain file.
 */
static void
test_walk_cut_compressed_archive_is_damaged_not_plain(void **state)
{
    static const char  *k[] = { "tar.gz", "tar.xz", "tar.zst", "tar.bz2",
                                "gz" };
    static const int    pct[] = { 1, 10, 25, 50, 75, 90 };
    static const unsigned char  fake[] = "\x1f\x8bnot a gzip stream at all";
    fixture_t          *fx;
    walk_t             *w;
    size_t              i, j, cut;

    (void) state;
    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        fx = fixture(k[i], ODD);
        for (j = 0; j < sizeof(pct) / sizeof(pct[0]); j++) {
            cut = fx->len * (size_t) pct[j] / 100;
            if (cut < 8) {
                cut = 8;
            }
            w = walk_buf(fx->buf, cut, NULL, HG_ALGS_ALL);
            if (w->done.st != HG_EFORMAT) {
                fail_msg("%s cut at %zu of %zu: st %d (%s), not damaged",
                         k[i], cut, fx->len, w->done.st, w->done.why);
            }
            walk_free(w);
        }
        fixture_free(fx);
    }
    w = walk_buf(fake, sizeof(fake) - 1, NULL, HG_ALGS_ALL);
    assert_int_equal(w->done.st, HG_OK);
    assert_int_equal(w->n, 0);
    assert_non_null(strstr(w->done.why, "not a container"));
    walk_free(w);
}

static void
test_walk_corrupt_bytes_never_crash(void **state)
{
    static const char  *k[] = { "zip", "7z", "rar4", "rar5", "tar.gz",
                                "tar.bz2", "cpio", "iso9660", "nested",
                                "tnef", "ar", "gz" };
    fixture_t          *fx;
    walk_t             *w;
    unsigned char      *b;
    uint32_t            seed = 7;
    size_t              i, j, f, at;

    (void) state;
    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        fx = fixture(k[i], ODD);
        b = malloc(fx->len);
        assert_non_null(b);
        for (j = 0; j < 60; j++) {
            memcpy(b, fx->buf, fx->len);
            for (f = 0; f < 1 + j % 4; f++) {
                seed = seed * 1664525u + 1013904223u;
                /* most flips near the front, where the headers are */
                at = (seed >> 8) % (j % 2 ? fx->len : (fx->len < 600
                                                       ? fx->len : 600));
                b[at] ^= (unsigned char) (1u << (seed & 7));
            }
            w = walk_buf(b, fx->len, NULL, HG_ALGS_ALL);
            assert_true(w->done.st == HG_OK || w->done.st == HG_EFORMAT
                        || w->done.st == HG_ELIMIT);
            walk_free(w);
        }
        free(b);
        fixture_free(fx);
    }
}

static void
test_walk_not_a_container_reports_nothing(void **state)
{
    unsigned char  junk[4096];
    walk_t        *w;
    size_t         i;

    (void) state;
    for (i = 0; i < sizeof(junk); i++) {
        junk[i] = (unsigned char) (i * 131 + 7);
    }
    memcpy(junk, "BZh9", 4);        /* looks like bzip2, is not */
    w = walk_buf(junk, sizeof(junk), NULL, HG_ALGS_ALL);
    assert_int_equal(w->done.st, HG_OK);
    assert_int_equal(w->n, 0);
    assert_non_null(strstr(w->done.why, "not a container"));
    walk_free(w);
    w = walk_buf("", 0, NULL, HG_ALGS_ALL);
    assert_int_equal(w->done.st, HG_OK);
    assert_int_equal(w->n, 0);
    walk_free(w);
}

static void
test_walk_stops_when_the_callback_says(void **state)
{
    fixture_t  *fx = fixture("nested", ODD);
    walk_t     *w = calloc(1, sizeof(*w));

    (void) state;
    assert_non_null(w);
    w->stop_after = 2;
    hg_inspect_walk(fx->buf, fx->len, HG_ALGS_ALL, NULL, collect, w,
                    &w->done);
    assert_int_equal(w->done.st, HG_ECANCEL);
    assert_int_equal(w->n, 2);
    assert_int_equal(w->done.files, 2);
    walk_free(w);
    fixture_free(fx);
}

/* ---- paths: a tar built here, names of any bytes ---- */

static size_t
tar_add(unsigned char *t, size_t at, const char *name, char type,
        const void *data, size_t n)
{
    unsigned char  *h = t + at;
    unsigned        sum = 0;
    size_t          i;

    memset(h, 0, 512);
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0000000", 7);
    memcpy(h + 116, "0000000", 7);
    snprintf((char *) h + 124, 12, "%011zo", n);
    memcpy(h + 136, "00000000000", 11);
    h[156] = (unsigned char) type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    for (i = 0; i < 512; i++) {
        sum += h[i];
    }
    snprintf((char *) h + 148, 8, "%06o", sum);
    memcpy(h + 512, data, n);
    return at + 512 + (n + 511) / 512 * 512;
}

static void
test_walk_paths_cleaned_cut_and_escaped(void **state)
{
    static unsigned char  t[64 * 1024];
    char                  longname[3000];
    size_t                at = 0, i;
    walk_t               *w;
    const got_t          *g;

    (void) state;
    memset(t, 0, sizeof(t));
    at = tar_add(t, at, "caf\xe9.bin", '0', "x", 1);         /* Latin-1 */
    at = tar_add(t, at, "a!b%c/d!.bin", '0', "y", 1);
    for (i = 0; i < sizeof(longname) - 1; i++) {
        longname[i] = i % 50 == 49 ? '/' : 'n';
    }
    longname[sizeof(longname) - 1] = '\0';
    /* a GNU long name: an 'L' entry holding the next one's name */
    at = tar_add(t, at, "././@LongLink", 'L', longname, sizeof(longname));
    at = tar_add(t, at, "short", '0', "z", 1);
    w = walk_buf(t, at + 1024, NULL, HG_ALGS_ALL);
    assert_int_equal(w->done.st, HG_OK);
    assert_int_equal(w->n, 3);

    g = got(w, "!caf\xef\xbf\xbd.bin");
    assert_non_null(g);                         /* U+FFFD for the byte */
    assert_int_equal(g->flags, 0);

    g = got(w, "!a%21b%25c/d%21.bin");
    assert_non_null(g);
    assert_string_equal(g->path, "a!b%c/d!.bin");
    assert_string_equal(g->name, "d!.bin");

    g = &w->v[2];
    assert_int_equal(g->flags, HG_INSPECT_F_PATH_CUT);
    assert_int_equal(strlen(g->path), HG_INSPECT_PATH_MAX);
    assert_memory_equal(g->path, longname, HG_INSPECT_PATH_MAX);
    /* the name is what follows the last '/' of the path as cut */
    assert_int_equal(strlen(g->name), HG_INSPECT_PATH_MAX % 50);
    assert_string_equal(g->name, g->path + HG_INSPECT_PATH_MAX
                                 - HG_INSPECT_PATH_MAX % 50);
    walk_free(w);
}

/* ---- the TNEF reader ---- */

static void
test_tnef_damage_keeps_attachments_before(void **state)
{
    fixture_t      *fx = fixture("tnef", ODD);
    hg_tnef_t       t;
    hg_tnef_att_t   a;
    walk_t         *w;
    unsigned char  *b;
    int             n = 0, r;

    (void) state;
    assert_int_equal(hg_tnef_open(&t, fx->buf, fx->len), 0);
    while ((r = hg_tnef_next(&t, &a)) == 1) {
        n++;
        assert_non_null(a.data);
    }
    assert_int_equal(r, 0);
    assert_int_equal(n, 3);
    assert_int_equal(hg_tnef_open(&t, "x", 1), -1);

    /* the last data byte changed: the checksum says so */
    b = malloc(fx->len);
    assert_non_null(b);
    memcpy(b, fx->buf, fx->len);
    b[fx->len - 3] ^= 1;
    w = walk_buf(b, fx->len, NULL, HG_ALGS_ALL);
    assert_int_equal(w->done.st, HG_EFORMAT);
    assert_non_null(strstr(w->done.why, "checksum"));
    assert_int_equal(w->n, 2);
    walk_free(w);
    /* a length past the end */
    w = walk_buf(fx->buf, fx->len - 5, NULL, HG_ALGS_ALL);
    assert_int_equal(w->done.st, HG_EFORMAT);
    assert_int_equal(w->n, 2);
    walk_free(w);
    free(b);
    fixture_free(fx);
}

/* ---- the sandbox: no open, no exec, no fork ---- */

static void
test_walk_runs_under_seccomp_without_open(void **state)
{
    static const char  *k[] = { "zip", "zip-hidden", "7z", "rar4", "rar5",
                                "tar.gz", "tar.xz", "tar.zst", "tar.lz4",
                                "tar.bz2", "cpio", "iso9660", "ar", "gz",
                                "xz", "tnef", "nested", "zip-zipcrypto",
                                "7z-encrypted", "rar5-encrypted-headers" };
    fixture_t          *fx[sizeof(k) / sizeof(k[0])];
    size_t              i;
    pid_t               pid;
    int                 status;

    (void) state;
    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        fx[i] = fixture(k[i], ODD);
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        scmp_filter_ctx  sc;
        walk_t          *w;
        int              bad = 0;

        sc = seccomp_init(SCMP_ACT_ALLOW);
        if (sc == NULL
            || seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS,
                                SCMP_SYS(open), 0) != 0
            || seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS,
                                SCMP_SYS(openat), 0) != 0
            || seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS,
                                SCMP_SYS(execve), 0) != 0
            || seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS,
                                SCMP_SYS(fork), 0) != 0
            || seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS,
                                SCMP_SYS(clone), 0) != 0
            || seccomp_load(sc) != 0)
        {
            _exit(3);
        }
        for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
            w = calloc(1, sizeof(*w));
            hg_inspect_walk(fx[i]->buf, fx[i]->len, HG_ALGS_ALL, NULL,
                            collect, w, &w->done);
            bad |= w->done.st != HG_OK || w->n == 0;
        }
        _exit(bad ? 4 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        fail_msg("the walk was killed by signal %d (a forbidden call)",
                 WTERMSIG(status));
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        fixture_free(fx[i]);
    }
}

/* ---- the group ---- */

/* Fixtures beyond the kinds table, all made by one archives.py start. */
static const struct {
    const char  *kind, *args;
} more_fixtures[] = {
    { "zip-zipcrypto", ODD }, { "zip-aes", ODD }, { "7z-encrypted", ODD },
    { "rar4-encrypted", ODD }, { "rar5-encrypted", ODD },
    { "7z-encrypted-headers", ODD }, { "rar4-encrypted-headers", ODD },
    { "rar5-encrypted-headers", ODD }, { "nested", "--depth 4" },
    { "zip", "--files 5 " ODD }, { "zip", "--files 1 --size 1048576" }, { "bomb-gzip", "--zeros 33554432" },
    { "bomb-gzip", "--zeros 8388608" }, { "bomb-gzip", "" },
    { "bomb-zip42", "" }, { "bomb-overlap", "" },
    { "zip-tar-zeros", "--zeros 100663296" },
};

static int
make_fixtures(void)
{
    char    cmd[PATH_MAX + 64], out[512];
    size_t  i;
    FILE   *p;

    snprintf(cmd, sizeof(cmd), "%s '%s/tests/lib/archives.py' --batch",
             python(), top);
    p = popen(cmd, "w");
    if (p == NULL) {
        return -1;
    }
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        fixture_path(kinds[i].kind, kinds[i].args, out, sizeof(out));
        fprintf(p, "%s '%s' %s\n", kinds[i].kind, out, kinds[i].args);
    }
    for (i = 0; i < sizeof(more_fixtures) / sizeof(more_fixtures[0]); i++) {
        fixture_path(more_fixtures[i].kind, more_fixtures[i].args, out,
                     sizeof(out));
        fprintf(p, "%s '%s' %s\n", more_fixtures[i].kind, out,
                more_fixtures[i].args);
    }
    return pclose(p) == 0 ? 0 : -1;
}

static int
group_setup(void **state)
{
    (void) state;
    find_top();
    /* as the helper does before its sandbox (HG_TEST_NO_WALK_INIT: not,
     * to see the seccomp test fail without it) */
    if (getenv("HG_TEST_NO_WALK_INIT") == NULL
        && hg_inspect_walk_init() != HG_OK)
    {
        return -1;
    }
    if (hg_test_tmpdir_make("walk") != 0) {
        return -1;
    }
    return make_fixtures();
}

static int
group_teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

#define K(i)  cmocka_unit_test_prestate(                                 \
                  test_walk_format_gives_the_originals_digests,          \
                  (void *) &kinds[i])

int
main(void)
{
    struct CMUnitTest  tests[64];
    size_t             n = 0, i;

    /* names say which format: "..._digests(zip)" */
    static char  names[sizeof(kinds) / sizeof(kinds[0])][96];

    /* first: no walk before it has loaded what the sandbox forbids */
    tests[n++] = (struct CMUnitTest)
                 cmocka_unit_test(test_walk_runs_under_seccomp_without_open);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        snprintf(names[i], sizeof(names[i]),
                 "test_walk_format_gives_the_originals_digests(%s)",
                 kinds[i].kind);
        tests[n] = (struct CMUnitTest) K(i);
        tests[n].name = names[i];
        n++;
    }
#define T(fn)  tests[n++] = (struct CMUnitTest) cmocka_unit_test(fn)
    T(test_walk_hashes_only_the_algorithms_asked);
    T(test_walk_nested_chain_depth_and_container_flag);
    T(test_walk_depth_limit_stops_with_depth);
    T(test_walk_encrypted_entries_are_named_not_read);
    T(test_walk_encrypted_headers_give_one_encrypted_entry);
    T(test_walk_zip_entry_hidden_from_directory_found_once);
    T(test_walk_files_limit);
    T(test_walk_bytes_limit);
    T(test_walk_file_size_limit);
    T(test_walk_ratio_limit_past_the_grace);
    T(test_walk_time_limit);
    T(test_walk_memory_limit);
    T(test_walk_bombs_stopped_by_their_limit);
    T(test_walk_truncated_archives_are_damaged_not_fatal);
    T(test_walk_cut_compressed_archive_is_damaged_not_plain);
    T(test_walk_corrupt_bytes_never_crash);
    T(test_walk_not_a_container_reports_nothing);
    T(test_walk_stops_when_the_callback_says);
    T(test_walk_paths_cleaned_cut_and_escaped);
    T(test_tnef_damage_keeps_attachments_before);
#undef T
    return _cmocka_run_group_tests("test_inspect_walk", tests, n,
                                   group_setup, group_teardown);
}
