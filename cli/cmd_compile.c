/*
 * cmd_compile.c - hashgate compile: digest lists in, one database file out.
 *
 * Each input is NAME=FILE[@VERSION] (a list file in any format a reader
 * knows) or NAME=DIR/ (every regular file under DIR is hashed: lists made
 * from the operator's own confirmed material). Every source is recorded with
 * the SHA-256 of the bytes the reader actually consumed: the file is hashed
 * through the same stream the reader reads, so the recorded digest is of
 * what was compiled even if the file changes meanwhile.
 *
 * Order of work, which makes an incremental update (--base OLD plus
 * additions and --remove) produce the same file as a full compile of the
 * same content: the base first, then additions and allow-lists in command
 * line order, then removals. Bad lines are warned as "file:line: reason"
 * and counted; --strict refuses the first. The database is written to a
 * temp file beside OUT, fsynced and renamed by hg_dbb_write.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/db.h"
#include "hashgate/db_sign.h"
#include "hashgate/db_pdq.h"
#include "hashgate/hash.h"
#include "hashgate/list.h"
#include "util.h"

/* Bytes given to the readers' probes: room for a CSV header or a JSON/XML prologue. */
#define COMPILE_HEAD_MAX        8192

/* Entries between clock checks for the progress line; keeps the check cheap. */
#define COMPILE_PROGRESS_EVERY  65536

/* Seconds between progress line updates on a terminal. */
#define COMPILE_PROGRESS_SECS   0.5

typedef struct {
    char           *arg;        /* owned copy of the argument; fields point in */
    const char     *name;
    const char     *path;
    const char     *version;    /* NULL when none was given */
    unsigned        kind;       /* HG_LIST_BLOCK or HG_LIST_ALLOW */
    int             remove;
} compile_input_t;

typedef struct {
    char           *name;
    unsigned        kind;
} compile_name_t;

typedef struct {
    hg_dbb_t       *b;
    hg_hash_t      *hash;       /* SHA-256 of sources */
    int             tty;        /* stderr is a terminal: show progress */
    int             strict;
    const char     *format;
    const char     *categories;

    compile_name_t *names;      /* lists known so far, with their kind */
    size_t          nnames;

    /* the input being read */
    uint32_t        list;
    int             remove;
    const char     *path;
    uint64_t        seen;
    int             shown;      /* a progress line is on the terminal */
    struct timespec last;

    /* NAME=DIR/ */
    hg_hash_t      *file_hash;
    const char     *dir;
    size_t          dir_len;
    uint64_t        files;
    unsigned char  *buf;
} compile_ctx_t;

static const char _compile_help[] =
    "Usage: hashgate compile -o OUT [OPTIONS] NAME=FILE[@VERSION]...\n"
    "\n"
    "Compile digest lists into one database file. Each input is read under\n"
    "a list name; several inputs may share a name. NAME=DIR/ hashes every\n"
    "regular file under DIR (SHA-256 with its size).\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT        database to write (atomically: temp, fsync, rename)\n"
    "  -f, --format NAME       read every input as format NAME (default: detect)\n"
    "      --strict            refuse an input at its first bad line\n"
    "      --category LIST     keep only these categories (VIC: \"1,2\")\n"
    "      --base OLD          start from the database OLD (incremental update)\n"
    "      --allow NAME=FILE   an allow-list: its digests never trigger an action\n"
    "      --remove NAME=FILE  remove the digests of FILE from list NAME\n"
    "      --all-digests       make scans compute MD5, SHA-1 and SHA-256 for\n"
    "                          every object (default: the cheapest set that\n"
    "                          covers every listed file; see hashgate info)\n"
    "      --sign KEY          sign the database with the private key KEY\n"
    "                          (hashgate keygen); with --base, sign again\n"
    "      --pdq-index on|off  on: a search index for PDQ hashes (searches\n"
    "                          2-3x faster at 10M entries, for a file of\n"
    "                          about 2.5x their 32 bytes, not 1.0x); off by\n"
    "                          default (a search scans them), kept by --base\n"
    "      --pdq-threshold NAME=BITS\n"
    "                          an image matches a PDQ hash of list NAME within\n"
    "                          BITS (0-64; default 31, or the base's)\n"
    "  -h, --help              this help\n"
    "\n"
    "Bad lines are warned as \"file:line: reason\" and skipped; each input\n"
    "ends with a count. HASHGATE_CREATED=UNIXTIME fixes the creation time\n"
    "for reproducible builds.\n"
    "\n"
    "Formats:\n";

static void
_compile_usage(FILE *fp)
{
    const hg_reader_t *const  *r;

    fputs(_compile_help, fp);
    for (r = hg_readers(); r != NULL && *r != NULL; r++) {
        fprintf(fp, "  %-10s %s\n", (*r)->name,
                (*r)->describe != NULL ? (*r)->describe : "");
    }
}

/*
 * Split "NAME=FILE[@VERSION]". The version is what follows the last '@'
 * when it holds no '/', unless FILE exists as given with the '@' in it.
 */
static int
_compile_parse_input(const char *arg, unsigned kind, int remove,
                     compile_input_t *in)
{
    char  *eq, *at;

    memset(in, 0, sizeof(*in));
    in->arg = strdup(arg);
    if (in->arg == NULL) {
        return -1;
    }
    eq = strchr(in->arg, '=');
    if (eq == NULL || eq == in->arg || eq[1] == '\0') {
        free(in->arg);
        in->arg = NULL;
        return -1;
    }
    *eq = '\0';
    in->name = in->arg;
    in->path = eq + 1;
    in->kind = kind;
    in->remove = remove;

    at = strrchr(eq + 1, '@');
    if (at != NULL && at != eq + 1 && at[1] != '\0' && strchr(at, '/') == NULL
        && access(in->path, F_OK) != 0)
    {
        *at = '\0';
        in->version = at + 1;
    }
    return 0;
}

static void
_compile_progress(compile_ctx_t *c)
{
    struct timespec  now;
    double           dt;

    if (!c->tty) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double) (now.tv_sec - c->last.tv_sec)
         + (double) (now.tv_nsec - c->last.tv_nsec) / 1e9;
    /* the first line comes at once, so a long compile shows itself early */
    if (c->shown && dt < COMPILE_PROGRESS_SECS) {
        return;
    }
    c->last = now;
    fprintf(stderr, "\r\033[Khashgate: %s: %" PRIu64 " entries read",
            c->path, c->seen);
    c->shown = 1;
}

static void
_compile_progress_clear(compile_ctx_t *c)
{
    if (c->shown) {
        fputs("\r\033[K", stderr);
        c->shown = 0;
    }
}

static void
_compile_warn(void *ctx, const char *msg)
{
    compile_ctx_t  *c = ctx;

    _compile_progress_clear(c);
    fprintf(stderr, "hashgate: warning: %s\n", msg);
}

static hg_status_t
_compile_entry(void *ctx, const hg_entry_t *e)
{
    compile_ctx_t  *c = ctx;
    hg_entry_t      r;

    c->seen++;
    if (c->seen % COMPILE_PROGRESS_EVERY == 0) {
        _compile_progress(c);
    }
    if (c->remove && !e->remove) {
        r = *e;
        r.remove = 1;
        return hg_dbb_add(c->b, c->list, &r);
    }
    return hg_dbb_add(c->b, c->list, e);
}

/* ---- a list file, hashed through the stream its reader reads ---- */

/*
 * The head read for format detection is served again before the rest of
 * the file, so a pipe (L=/dev/stdin) reads as well as a file.
 */
typedef struct {
    int             fd;
    hg_hash_t      *hash;
    int             failed;     /* errno of a read error, or 0 */
    const unsigned char *head;
    size_t          head_len;
    size_t          head_off;   /* bytes of head already served */
} compile_src_t;

static ssize_t
_src_read(void *cookie, char *buf, size_t size)
{
    compile_src_t  *s = cookie;
    ssize_t         n;

    if (s->head_off < s->head_len) {
        n = (ssize_t) (s->head_len - s->head_off < size
                       ? s->head_len - s->head_off : size);
        memcpy(buf, s->head + s->head_off, (size_t) n);
        s->head_off += (size_t) n;
    } else {
        do {
            n = read(s->fd, buf, size);
        } while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
        s->failed = errno;
        return -1;
    }
    if (n > 0 && hg_hash_update(s->hash, buf, (size_t) n) != HG_OK) {
        s->failed = EIO;
        return -1;
    }
    return n;
}

/* Hash what the reader left unread, so the digest covers the whole file. */
static void
_src_drain(compile_src_t *s, unsigned char *buf)
{
    while (_src_read(s, (char *) buf, CLI_READ_SIZE) > 0) {
    }
}

static int
_compile_list_file(compile_ctx_t *c, const compile_input_t *in)
{
    const hg_reader_t       *r;
    compile_src_t            src;
    cookie_io_functions_t    io = { .read = _src_read };
    hg_read_opts_t           opts;
    hg_read_stats_t          stats;
    hg_digests_t             dg;
    hg_err_t                 err;
    hg_status_t              st;
    unsigned char            head[COMPILE_HEAD_MAX];
    ssize_t                  hlen;
    FILE                    *fp;
    int                      fd;

    fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("compile: %s: %s", in->path, strerror(errno));
        return -1;
    }
    memset(&src, 0, sizeof(src));
    src.fd = fd;
    src.hash = c->hash;
    src.head = head;

    hlen = cli_read_full(fd, head, sizeof(head));
    if (hlen < 0) {
        cli_error("compile: %s: %s", in->path, strerror(errno));
        close(fd);
        return -1;
    }
    src.head_len = (size_t) hlen;
    if (c->format != NULL) {
        r = hg_reader_find(c->format);
    } else {
        r = hg_reader_detect(in->path, head, (size_t) hlen);
        if (r == NULL) {
            cli_error("compile: %s: format not recognised (use --format)",
                      in->path);
            close(fd);
            return -1;
        }
    }

    if (hg_hash_init(c->hash, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK
        || (fp = fopencookie(&src, "r", io)) == NULL)
    {
        cli_error("compile: %s: cannot set up reading", in->path);
        close(fd);
        return -1;
    }

    memset(&opts, 0, sizeof(opts));
    opts.strict = c->strict;
    opts.warn = _compile_warn;
    opts.warn_ctx = c;
    opts.categories = c->categories;
    memset(&stats, 0, sizeof(stats));
    err.msg[0] = '\0';

    st = r->read(fp, in->path, &opts, _compile_entry, c, &stats, &err);
    fclose(fp);
    _compile_progress_clear(c);

    if (st == HG_OK && src.failed == 0) {
        _src_drain(&src, c->buf);
    }
    close(fd);

    if (src.failed != 0) {
        cli_error("compile: %s: %s", in->path, strerror(src.failed));
        return -1;
    }
    if (st != HG_OK) {
        if (err.msg[0] != '\0') {
            cli_error("compile: %s", err.msg);
        } else {
            cli_error("compile: %s: %s", in->path, hg_status_str(st));
        }
        if (c->strict && st == HG_EFORMAT) {
            cli_error("compile: %s refused (--strict); nothing written",
                      in->path);
        }
        return -1;
    }

    if (hg_hash_final(c->hash, &dg) != HG_OK
        || hg_dbb_source(c->b, c->list, in->path,
                         dg.d[HG_ALG_SHA256]) != HG_OK)
    {
        cli_error("compile: %s: cannot record the source", in->path);
        return -1;
    }

    fprintf(stderr, "%s: %s%s: %" PRIu64 " entries, %" PRIu64 " skipped",
            in->path, in->remove ? "removals from " : "", in->name,
            stats.entries, stats.skipped);
    if (stats.ignored > 0) {
        fprintf(stderr, ", %" PRIu64 " ignored", stats.ignored);
    }
    fprintf(stderr, " (%s)\n", r->name);
    return 0;
}

/* ---- NAME=DIR/ ---- */

static int
_compile_dir_visit(void *ctx, cli_walk_kind_t kind, const char *path,
                   const struct stat *st, int errno_val)
{
    compile_ctx_t  *c = ctx;
    hg_digests_t    dg;
    hg_entry_t      e;
    hg_status_t     hs;
    ssize_t         n;
    int             fd;
    const char     *rel;
    char            hex[HG_HEX_MAX];

    (void) st;
    if (kind == CLI_WALK_DIR) {
        return 0;
    }
    if (kind == CLI_WALK_ERROR) {
        cli_error("compile: %s: %s", path, strerror(errno_val));
        return -1;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("compile: %s: %s", path, strerror(errno));
        return -1;
    }
    hs = hg_hash_init(c->file_hash, HG_ALG_BIT(HG_ALG_SHA256));
    while (hs == HG_OK && (n = cli_read_full(fd, c->buf, CLI_READ_SIZE)) > 0) {
        hs = hg_hash_update(c->file_hash, c->buf, (size_t) n);
    }
    if (hs == HG_OK && n < 0) {
        cli_error("compile: %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    if (hs != HG_OK || hg_hash_final(c->file_hash, &dg) != HG_OK) {
        cli_error("compile: %s: hashing failed", path);
        return -1;
    }

    rel = path;
    if (strncmp(path, c->dir, c->dir_len) == 0) {
        rel = path + c->dir_len;
        while (*rel == '/') {
            rel++;
        }
    }

    memset(&e, 0, sizeof(e));
    e.alg = HG_ALG_SHA256;
    memcpy(e.digest, dg.d[HG_ALG_SHA256], 32);
    e.has_size = 1;
    e.size = dg.size;
    e.label = rel;
    e.remove = c->remove;
    if (hg_dbb_add(c->b, c->list, &e) != HG_OK) {
        cli_error("compile: %s: out of memory", path);
        return -1;
    }

    /* the source's digest is that of a sha256sum-style manifest */
    hg_hex_encode(dg.d[HG_ALG_SHA256], 32, hex);
    if (hg_hash_update(c->hash, hex, 64) != HG_OK
        || hg_hash_update(c->hash, "  ", 2) != HG_OK
        || hg_hash_update(c->hash, rel, strlen(rel)) != HG_OK
        || hg_hash_update(c->hash, "\n", 1) != HG_OK)
    {
        cli_error("compile: %s: hashing failed", path);
        return -1;
    }
    c->files++;
    c->seen++;
    if (c->seen % 256 == 0) {
        _compile_progress(c);
    }
    return 0;
}

static int
_compile_dir(compile_ctx_t *c, const compile_input_t *in)
{
    hg_digests_t  dg;

    c->dir = in->path;
    c->dir_len = strlen(in->path);
    c->files = 0;
    if (c->file_hash == NULL && (c->file_hash = hg_hash_new()) == NULL) {
        cli_error("compile: cannot set up hashing");
        return -1;
    }
    if (hg_hash_init(c->hash, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK) {
        cli_error("compile: cannot set up hashing");
        return -1;
    }
    if (cli_walk(in->path, _compile_dir_visit, c) < 0) {
        _compile_progress_clear(c);
        return -1;
    }
    _compile_progress_clear(c);
    if (hg_hash_final(c->hash, &dg) != HG_OK
        || hg_dbb_source(c->b, c->list, in->path,
                         dg.d[HG_ALG_SHA256]) != HG_OK)
    {
        cli_error("compile: %s: cannot record the source", in->path);
        return -1;
    }
    fprintf(stderr, "%s: %s%s: %" PRIu64 " files hashed (sha256)\n",
            in->path, in->remove ? "removals from " : "", in->name, c->files);
    return 0;
}

/* ---- lists and their kinds ---- */

static compile_name_t *
_compile_name_find(compile_ctx_t *c, const char *name)
{
    size_t  i;

    for (i = 0; i < c->nnames; i++) {
        if (strcmp(c->names[i].name, name) == 0) {
            return &c->names[i];
        }
    }
    return NULL;
}

static int
_compile_name_add(compile_ctx_t *c, const char *name, unsigned kind)
{
    compile_name_t  *n;

    n = realloc(c->names, (c->nnames + 1) * sizeof(*n));
    if (n == NULL) {
        return -1;
    }
    c->names = n;
    n[c->nnames].name = strdup(name);
    if (n[c->nnames].name == NULL) {
        return -1;
    }
    n[c->nnames].kind = kind;
    c->nnames++;
    return 0;
}

static int
_compile_input(compile_ctx_t *c, const compile_input_t *in)
{
    compile_name_t  *known;
    hg_err_t         err;
    hg_status_t      st;

    known = _compile_name_find(c, in->name);
    if (known == NULL && in->remove) {
        cli_error("compile: --remove %s=%s: no list named %s", in->name,
                  in->path, in->name);
        return -1;
    }
    if (known != NULL && !in->remove && known->kind != in->kind) {
        cli_error("compile: %s=%s: list %s is already %s", in->name,
                  in->path, in->name,
                  known->kind == HG_LIST_ALLOW ? "an allow-list"
                                               : "a block list");
        return -1;
    }
    err.msg[0] = '\0';
    st = hg_dbb_list(c->b, in->name, in->version != NULL ? in->version : "",
                     known != NULL ? known->kind : in->kind, &c->list, &err);
    if (st != HG_OK) {
        cli_error("compile: %s=%s: %s", in->name, in->path,
                  cli_errstr(&err, st));
        return -1;
    }
    if (known == NULL && _compile_name_add(c, in->name, in->kind) != 0) {
        cli_error("compile: out of memory");
        return -1;
    }

    c->remove = in->remove;
    c->path = in->path;
    c->seen = 0;
    /* each file numbers its records (listed files) from 1 */
    hg_dbb_record_scope(c->b);
    clock_gettime(CLOCK_MONOTONIC, &c->last);
    if (cli_is_dir(in->path)) {
        return _compile_dir(c, in);
    }
    return _compile_list_file(c, in);
}

/* unsigned: the new file will not be signed (warn if the base was) */
static int
_compile_base(compile_ctx_t *c, const char *base, int unsigned_out)
{
    hg_db_t          *db = NULL;
    hg_db_list_t      l;
    hg_db_sig_info_t  si;
    hg_err_t          err;
    hg_status_t    st;
    size_t         i;

    if (cli_db_open("compile: --base", base, HG_DB_OPEN_VERIFY, &db) != 0) {
        return -1;
    }
    err.msg[0] = '\0';
    st = hg_dbb_load(c->b, db, &err);
    if (st != HG_OK) {
        cli_error("compile: --base %s: %s", base, cli_errstr(&err, st));
        hg_db_close(db);
        return -1;
    }
    for (i = 0; i < hg_db_nlists(db); i++) {
        if (hg_db_list(db, i, &l) != HG_OK
            || _compile_name_add(c, l.name, l.kind) != 0)
        {
            cli_error("compile: --base %s: cannot read list %zu", base, i);
            hg_db_close(db);
            return -1;
        }
    }
    fprintf(stderr, "%s: base with %zu lists\n", base, hg_db_nlists(db));
    if (unsigned_out && hg_db_signature(db, &si, &err) == HG_OK
        && si.is_signed)
    {
        fprintf(stderr, "hashgate: compile: warning: %s was signed by %s; "
                "the new file will not be (give --sign KEY)\n", base,
                si.key_id);
    }
    hg_db_close(db);
    return 0;
}

/* --pdq-threshold NAME=BITS */
typedef struct {
    const char     *name;
    int             bits;
} compile_thr_t;

/* Parse "NAME=BITS"; -1 with a message printed. */
static int
_compile_parse_thr(char *arg, compile_thr_t *t)
{
    char  *eq = strchr(arg, '='), *end;
    long   v;

    if (eq == NULL || eq == arg || eq[1] == '\0') {
        cli_usage("compile", "--pdq-threshold '%s' is not NAME=BITS", arg);
        return -1;
    }
    *eq = '\0';
    v = strtol(eq + 1, &end, 10);
    if (*end != '\0' || v < 0) {
        cli_usage("compile", "--pdq-threshold %s=%s: not a number of bits",
                  arg, eq + 1);
        return -1;
    }
    if (v > HG_PDQ_THRESHOLD_MAX) {
        cli_usage("compile", "--pdq-threshold %s=%s: past the maximum of %d "
                  "bits (at 64 an unrelated image is already near many "
                  "entries)", arg, eq + 1, HG_PDQ_THRESHOLD_MAX);
        return -1;
    }
    t->name = arg;
    t->bits = (int) v;
    return 0;
}

/* Set the thresholds once every list is known. */
static int
_compile_thresholds(compile_ctx_t *c, const compile_thr_t *thr, size_t n)
{
    compile_name_t  *known;
    uint32_t         id;
    hg_err_t         err;
    size_t           i;

    for (i = 0; i < n; i++) {
        known = _compile_name_find(c, thr[i].name);
        if (known == NULL) {
            cli_error("compile: --pdq-threshold %s=%d: no list named %s",
                      thr[i].name, thr[i].bits, thr[i].name);
            return -1;
        }
        err.msg[0] = '\0';
        if (hg_dbb_list(c->b, thr[i].name, "", known->kind, &id, &err) != HG_OK
            || hg_dbb_pdq_threshold(c->b, id, thr[i].bits, &err) != HG_OK)
        {
            cli_error("compile: --pdq-threshold %s=%d: %s", thr[i].name,
                      thr[i].bits, err.msg);
            return -1;
        }
    }
    return 0;
}

enum {
    OPT_STRICT = 256,
    OPT_CATEGORY,
    OPT_BASE,
    OPT_ALLOW,
    OPT_REMOVE,
    OPT_ALL_DIGESTS,
    OPT_SIGN,
    OPT_PDQ_THRESHOLD,
    OPT_PDQ_INDEX
};

int
cmd_compile(int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "output",   required_argument, NULL, 'o' },
        { "format",   required_argument, NULL, 'f' },
        { "strict",   no_argument,       NULL, OPT_STRICT },
        { "category", required_argument, NULL, OPT_CATEGORY },
        { "base",     required_argument, NULL, OPT_BASE },
        { "allow",    required_argument, NULL, OPT_ALLOW },
        { "remove",   required_argument, NULL, OPT_REMOVE },
        { "all-digests", no_argument,    NULL, OPT_ALL_DIGESTS },
        { "sign",     required_argument, NULL, OPT_SIGN },
        { "pdq-threshold", required_argument, NULL, OPT_PDQ_THRESHOLD },
        { "pdq-index", required_argument, NULL, OPT_PDQ_INDEX },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    compile_ctx_t     c;
    compile_input_t  *ins;
    compile_thr_t    *thr;
    const char       *out = NULL, *base = NULL, *arg;
    size_t            nins = 0, nthr = 0, i;
    unsigned          kind;
    uint64_t          created;
    hg_err_t          err;
    hg_status_t       st;
    int               opt, remove, rc = CLI_EXIT_ERROR, pass;
    int               all_digests = 0;
    const char       *sign = NULL;
    int               pdq_index = -1;     /* not given: off, or the base's */
    hg_db_signer_t   *signer = NULL;

    memset(&c, 0, sizeof(c));
    ins = calloc((size_t) argc, sizeof(*ins));
    thr = calloc((size_t) argc, sizeof(*thr));
    if (ins == NULL || thr == NULL) {
        free(ins);
        free(thr);
        cli_error("compile: out of memory");
        return CLI_EXIT_ERROR;
    }

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "-o:f:h", longopts, NULL)) != -1) {
        kind = HG_LIST_BLOCK;
        remove = 0;
        arg = optarg;
        switch (opt) {
        case 'o':
            out = optarg;
            continue;
        case 'f':
            c.format = optarg;
            continue;
        case OPT_STRICT:
            c.strict = 1;
            continue;
        case OPT_CATEGORY:
            c.categories = optarg;
            continue;
        case OPT_BASE:
            base = optarg;
            continue;
        case OPT_ALL_DIGESTS:
            all_digests = 1;
            continue;
        case OPT_SIGN:
            sign = optarg;
            continue;
        case OPT_PDQ_INDEX:
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                rc = cli_usage("compile", "--pdq-index '%s': on or off",
                               optarg);
                goto done;
            }
            pdq_index = strcmp(optarg, "on") == 0;
            continue;
        case OPT_PDQ_THRESHOLD:
            if (_compile_parse_thr(optarg, &thr[nthr]) != 0) {
                rc = CLI_EXIT_ERROR;
                goto done;
            }
            nthr++;
            continue;
        case 'h':
            _compile_usage(stdout);
            rc = CLI_EXIT_OK;
            goto done;
        case OPT_ALLOW:
            kind = HG_LIST_ALLOW;
            break;
        case OPT_REMOVE:
            remove = 1;
            break;
        case 1:
            break;
        case '?':
        default:
            rc = cli_usage("compile", "unknown option or missing argument: '%s'",
                           argv[optind - 1]);
            goto done;
        }
        if (_compile_parse_input(arg, kind, remove, &ins[nins]) != 0) {
            rc = cli_usage("compile", "'%s' is not NAME=FILE[@VERSION]", arg);
            goto done;
        }
        nins++;
    }
    for (; optind < argc; optind++) {       /* after "--" */
        if (_compile_parse_input(argv[optind], HG_LIST_BLOCK, 0,
                                 &ins[nins]) != 0)
        {
            rc = cli_usage("compile", "'%s' is not NAME=FILE[@VERSION]",
                           argv[optind]);
            goto done;
        }
        nins++;
    }

    if (out == NULL) {
        rc = cli_usage("compile", "no output file (-o OUT)");
        goto done;
    }
    if (nins == 0 && base == NULL) {
        rc = cli_usage("compile", "no input lists (NAME=FILE)");
        goto done;
    }
    if (c.format != NULL && hg_reader_find(c.format) == NULL) {
        rc = cli_usage("compile", "unknown format '%s'", c.format);
        goto done;
    }
    if (cli_created_time(&created) != 0) {
        rc = cli_usage("compile", "HASHGATE_CREATED is not a Unix time");
        goto done;
    }

    /* lists and the database file are checksummed with SHA-256 */
    if (hg_hash_check(HG_ALG_BIT(HG_ALG_SHA256), &err) != HG_OK) {
        cli_error("compile: %s", err.msg);
        goto done;
    }

    c.tty = isatty(STDERR_FILENO);
    c.b = hg_dbb_new();
    c.hash = hg_hash_new();
    c.buf = malloc(CLI_READ_SIZE);
    if (c.b == NULL || c.hash == NULL || c.buf == NULL) {
        cli_error("compile: out of memory or OpenSSL unavailable");
        goto done;
    }

    /* a bad key fails before the lists are read, not after */
    if (sign != NULL) {
        err.msg[0] = '\0';
        if ((st = hg_db_signer_load(sign, &signer, &err)) != HG_OK) {
            cli_error("compile: --sign: %s", cli_errstr(&err, st));
            goto done;
        }
        hg_dbb_set_signer(c.b, signer);
    }
    if (base != NULL && _compile_base(&c, base, signer == NULL) != 0) {
        goto done;
    }
    if (all_digests) {
        hg_dbb_set_all_digests(c.b, 1);
    }
    if (pdq_index >= 0) {
        hg_dbb_set_pdq_index(c.b, pdq_index);
    }
    /* additions and allow-lists in command-line order, then removals */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < nins; i++) {
            if (ins[i].remove != pass) {
                continue;
            }
            if (_compile_input(&c, &ins[i]) != 0) {
                goto done;
            }
        }
    }
    if (_compile_thresholds(&c, thr, nthr) != 0) {
        goto done;
    }

    err.msg[0] = '\0';
    st = hg_dbb_write(c.b, out, created, &err);
    if (st != HG_OK) {
        cli_error("compile: %s", cli_errstr(&err, st));
        goto done;
    }
    fprintf(stderr, "wrote %s (scans compute", out);
    for (i = 0; i < HG_ALG_COUNT; i++) {
        if (hg_dbb_algs(c.b) & HG_ALG_BIT(i)) {
            fprintf(stderr, " %s", hg_alg_name((hg_alg_t) i));
        }
    }
    fprintf(stderr, "%s; hashgate info says why)\n",
            hg_dbb_algs(c.b) == 0 ? " nothing" : "");
    if (signer != NULL) {
        fprintf(stderr, "signed by %s\n", hg_db_signer_id(signer));
    }
    rc = CLI_EXIT_OK;

done:
    for (i = 0; i < nins; i++) {
        free(ins[i].arg);
    }
    free(ins);
    free(thr);
    for (i = 0; i < c.nnames; i++) {
        free(c.names[i].name);
    }
    free(c.names);
    free(c.buf);
    hg_hash_free(c.hash);
    hg_hash_free(c.file_hash);
    hg_dbb_free(c.b);
    hg_db_signer_free(signer);
    return rc;
}
