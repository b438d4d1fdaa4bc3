/*
 * test_db_watch.c - the database file watcher, driven as a server drives
 * it (check, open and verify a new file, report the outcome) over real
 * files in a temp dir: a file renamed over the path, rewritten in place,
 * removed, and a bad file refused once and not opened again until it
 * changes. Databases hold seeded random digests: synthetic data only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "hashgate/db.h"
#include "hashgate/db_watch.h"
#include "helper_tmpdir.h"

#define tpath(name)  hg_test_path(name)
#define tmpdir       hg_test_tmpdir

static int
setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("watch");
}

static int
teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

/* A good database of n seeded SHA-256 digests, written to path. */
static void
make_db(const char *path, unsigned seed, unsigned n)
{
    hg_dbb_t    *b = hg_dbb_new();
    hg_entry_t   e;
    hg_err_t     err;
    uint32_t     id;
    unsigned     i, k;

    assert_non_null(b);
    assert_int_equal(hg_dbb_list(b, "cam", NULL, HG_LIST_BLOCK, &id, &err),
                     HG_OK);
    for (i = 0; i < n; i++) {
        memset(&e, 0, sizeof(e));
        e.alg = HG_ALG_SHA256;
        for (k = 0; k < 32; k++) {
            e.digest[k] = (unsigned char) ((seed * 7919u + i * 104729u)
                                           >> (k % 4 * 8) ^ k);
        }
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    if (hg_dbb_write(b, path, 1700000000, &err) != HG_OK) {
        fail_msg("write %s: %s", path, err.msg);
    }
    hg_dbb_free(b);
}

static void
write_file(const char *path, const char *bytes, int flags)
{
    int  fd = open(path, O_WRONLY | O_CREAT | flags, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t) strlen(bytes));
    close(fd);
}

/* What an update job does: write beside, rename over. */
static void
install_db(const char *path, unsigned seed)
{
    make_db(tpath("next.db"), seed, 100);
    assert_int_equal(rename(tpath("next.db"), path), 0);
}

static void
install_garbage(const char *path, const char *text)
{
    write_file(tpath("next.db"), text, O_TRUNC);
    assert_int_equal(rename(tpath("next.db"), path), 0);
}

/* One look at the file, as a server takes it. */
typedef struct {
    hg_db_watch_state_t  seen;      /* what check said */
    hg_db_watch_state_t  outcome;   /* for NEW: SAME when loaded, else
                                     * what _refused said */
    int                  opened;    /* the file was opened */
    char                 msg[HG_ERR_MAX];   /* what to log, or "" */
} look_t;

static hg_db_t  *in_use;

static look_t
look(hg_db_watch_t *w, int force)
{
    look_t          r;
    hg_db_ident_t   id;
    hg_db_t        *db;
    hg_err_t        msg, why;

    memset(&r, 0, sizeof(r));
    r.seen = hg_db_watch_check(w, force, &id, &msg);
    strcpy(r.msg, msg.msg);
    if (r.seen != HG_DB_WATCH_NEW) {
        r.outcome = r.seen;
        return r;
    }
    r.opened = 1;
    if (hg_db_open(w->path, HG_DB_OPEN_VERIFY, &db, &why) == HG_OK) {
        hg_db_watch_loaded(w, &id);
        hg_db_close(in_use);
        in_use = db;
        r.outcome = HG_DB_WATCH_SAME;
        return r;
    }
    r.outcome = hg_db_watch_refused(w, &id, &why, &msg);
    strcpy(r.msg, msg.msg);
    if (r.outcome == HG_DB_WATCH_SPOILED) {
        hg_db_close(in_use);
        in_use = NULL;
    }
    return r;
}

static void
done(void)
{
    hg_db_close(in_use);
    in_use = NULL;
}

static void
test_db_watch_opens_a_new_file_once_then_leaves_it_alone(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    const char    *path = tpath("a.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_SAME);
    assert_string_equal(r.msg, "");
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_SAME);
    assert_false(r.opened);
    assert_string_equal(r.msg, "");
    /* an operator's reload opens it again */
    r = look(&w, 1);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_SAME);
    done();
}

static void
test_db_watch_takes_a_file_renamed_over_the_one_in_use(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    hg_db_t       *before;
    const char    *path = tpath("b.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    before = in_use;
    install_db(path, 2);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_SAME);
    assert_ptr_not_equal(in_use, before);
    assert_int_equal(look(&w, 0).seen, HG_DB_WATCH_SAME);
    done();
}

static void
test_db_watch_refuses_a_bad_file_once_and_retries_only_when_it_changes(
    void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    hg_db_t       *good;
    struct timespec  t[2];
    int            i, fd;
    const char    *path = tpath("c.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    good = in_use;

    install_garbage(path, "not a database, by any reading\n");
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_REFUSED);
    assert_non_null(strstr(r.msg, "new database refused: "));
    assert_non_null(strstr(r.msg, path));
    assert_ptr_equal(in_use, good);
    for (i = 0; i < 3; i++) {
        r = look(&w, 0);
        assert_int_equal(r.seen, HG_DB_WATCH_REFUSED);
        assert_false(r.opened);
        assert_string_equal(r.msg, "");
    }

    /* the refused file changed (its mtime alone): tried again */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    t[0].tv_sec = t[1].tv_sec = 1600000000;
    t[0].tv_nsec = t[1].tv_nsec = 123;
    assert_int_equal(futimens(fd, t), 0);
    close(fd);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_REFUSED);
    assert_int_equal(look(&w, 0).seen, HG_DB_WATCH_REFUSED);

    /* an operator's reload tries it even unchanged, and says so again */
    r = look(&w, 1);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_REFUSED);
    assert_non_null(strstr(r.msg, "new database refused"));
    assert_ptr_equal(in_use, good);

    /* a good file after it is taken */
    install_db(path, 3);
    r = look(&w, 0);
    assert_int_equal(r.outcome, HG_DB_WATCH_SAME);
    assert_ptr_not_equal(in_use, good);
    assert_int_equal(look(&w, 0).seen, HG_DB_WATCH_SAME);
    done();
}

static void
test_db_watch_reports_a_missing_file_once_each_time_it_goes(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    hg_db_t       *good;
    const char    *path = tpath("d.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    good = in_use;

    assert_int_equal(unlink(path), 0);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_MISSING);
    assert_non_null(strstr(r.msg, path));
    assert_non_null(strstr(r.msg, "unavailable: No such file or directory"));
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_MISSING);
    assert_string_equal(r.msg, "");
    assert_ptr_equal(in_use, good);

    /* back, then gone again: reported again */
    install_db(path, 2);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    assert_int_equal(unlink(path), 0);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_MISSING);
    assert_non_null(strstr(r.msg, "unavailable"));
    done();
}

static void
test_db_watch_missing_at_the_first_check_is_reported(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    const char    *path = tpath("never.db");

    (void) state;
    hg_db_watch_init(&w, path);
    r = look(&w, 1);
    assert_int_equal(r.seen, HG_DB_WATCH_MISSING);
    assert_non_null(strstr(r.msg, "never.db unavailable"));
    assert_null(in_use);
}

static void
test_db_watch_file_in_use_rewritten_in_place_and_bad_is_spoiled(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    const char    *path = tpath("e.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);

    /* cp over it, not a rename: the same inode, now garbage */
    write_file(path, "half a download", O_TRUNC);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_SPOILED);
    assert_non_null(strstr(r.msg, "was modified in place and is unusable: "));
    assert_null(in_use);
    /* not retried while it stays as it is */
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_REFUSED);
    assert_false(r.opened);

    /* written on again, still bad: no file is in use, so a plain refusal */
    write_file(path, " and more", O_APPEND);
    r = look(&w, 0);
    assert_int_equal(r.outcome, HG_DB_WATCH_REFUSED);
    assert_non_null(strstr(r.msg, "new database refused"));

    install_db(path, 2);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    assert_non_null(in_use);
    done();
}

static void
test_db_watch_file_in_use_rewritten_in_place_and_good_is_taken(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    unsigned char *p;
    struct stat    st;
    int            in, out;
    const char    *path = tpath("f.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);

    /* another good database copied over it in place */
    make_db(tpath("other.db"), 2, 300);
    in = open(tpath("other.db"), O_RDONLY);
    assert_true(in >= 0);
    assert_int_equal(fstat(in, &st), 0);
    p = malloc((size_t) st.st_size);
    assert_non_null(p);
    assert_int_equal(read(in, p, (size_t) st.st_size), st.st_size);
    close(in);
    out = open(path, O_WRONLY | O_TRUNC);
    assert_true(out >= 0);
    assert_int_equal(write(out, p, (size_t) st.st_size), st.st_size);
    close(out);
    free(p);

    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_SAME);
    assert_int_equal(hg_db_file_size(in_use), (uint64_t) st.st_size);
    done();
}

static void
test_db_watch_after_a_drop_offers_the_same_file_again(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    const char    *path = tpath("g.db");

    (void) state;
    install_db(path, 1);
    hg_db_watch_init(&w, path);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    hg_db_watch_dropped(&w);
    r = look(&w, 0);
    assert_int_equal(r.seen, HG_DB_WATCH_NEW);
    assert_int_equal(r.outcome, HG_DB_WATCH_SAME);
    assert_int_equal(look(&w, 0).seen, HG_DB_WATCH_SAME);
    done();
}

static void
test_db_watch_bad_file_at_start_is_refused_not_spoiled(void **state)
{
    hg_db_watch_t  w;
    look_t         r;
    const char    *path = tpath("h.db");

    (void) state;
    install_garbage(path, "garbage from the start");
    hg_db_watch_init(&w, path);
    r = look(&w, 0);
    assert_int_equal(r.outcome, HG_DB_WATCH_REFUSED);
    assert_int_equal(look(&w, 0).seen, HG_DB_WATCH_REFUSED);
    install_db(path, 1);
    assert_int_equal(look(&w, 0).outcome, HG_DB_WATCH_SAME);
    done();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_watch_opens_a_new_file_once_then_leaves_it_alone),
        cmocka_unit_test(test_db_watch_takes_a_file_renamed_over_the_one_in_use),
        cmocka_unit_test(test_db_watch_refuses_a_bad_file_once_and_retries_only_when_it_changes),
        cmocka_unit_test(test_db_watch_reports_a_missing_file_once_each_time_it_goes),
        cmocka_unit_test(test_db_watch_missing_at_the_first_check_is_reported),
        cmocka_unit_test(test_db_watch_file_in_use_rewritten_in_place_and_bad_is_spoiled),
        cmocka_unit_test(test_db_watch_file_in_use_rewritten_in_place_and_good_is_taken),
        cmocka_unit_test(test_db_watch_after_a_drop_offers_the_same_file_again),
        cmocka_unit_test(test_db_watch_bad_file_at_start_is_refused_not_spoiled),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
