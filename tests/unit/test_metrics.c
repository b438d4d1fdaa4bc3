/*
 * test_metrics.c - the metrics block and its Prometheus text: every family
 * with HELP and TYPE, cumulative histogram buckets ending in +Inf, label
 * escaping, the bounded list table and its ~other row, loads and refusals
 * counted once per file, the snprintf-like sizing, and the block used
 * through two mappings at different addresses (as nginx workers do).
 * Databases hold seeded random digests: synthetic data only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "hashgate/db.h"
#include "hashgate/metrics.h"
#include "helper_tmpdir.h"

static int
setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("metrics");
}

static int
teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

/* The whole text of m (mail channel), malloc'd. */
static char *
render(hg_metrics_t *m, unsigned channels)
{
    size_t  n = hg_metrics_render(m, channels, 1000, NULL, 0);
    char   *buf = malloc(n + 1);

    assert_non_null(buf);
    assert_int_equal(hg_metrics_render(m, channels, 1000, buf, n + 1), n);
    assert_int_equal(strlen(buf), n);
    return buf;
}

/* The value of the sample line that starts with series + ' ', or -1. */
static double
sample(const char *text, const char *series)
{
    const char *p = text;
    size_t      n = strlen(series);

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return -1;
}

static void
test_every_family_has_help_and_type(void **state)
{
    static const char *const families[] = {
        "hashgate_scanned_total counter",
        "hashgate_parts_scanned_total counter",
        "hashgate_parts_scanned_bytes_total counter",
        "hashgate_matches_total counter",
        "hashgate_fail_verdicts_total counter",
        "hashgate_evidence_write_failures_total counter",
        "hashgate_not_checked_total counter",
        "hashgate_scan_duration_seconds histogram",
        "hashgate_database_loaded gauge",
        "hashgate_database_entries gauge",
        "hashgate_database_lists gauge",
        "hashgate_database_list_info gauge",
        "hashgate_database_reloads_total counter",
        "hashgate_database_reloads_refused_total counter",
        "hashgate_inspect_helper_restarts_total counter",
    };
    hg_metrics_t    m;
    char           *t, line[128], *name;
    size_t          i;

    (void) state;
    hg_metrics_init(&m);
    assert_true(hg_metrics_valid(&m));
    t = render(&m, 1u << HG_METRICS_MAIL);
    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        snprintf(line, sizeof(line), "# TYPE %s\n", families[i]);
        assert_non_null(strstr(t, line));
        name = strdup(families[i]);
        *strchr(name, ' ') = '\0';
        snprintf(line, sizeof(line), "# HELP %s ", name);
        assert_non_null(strstr(t, line));
        free(name);
    }
    /* the channel asked for only, every fail reason from zero */
    assert_true(sample(t, "hashgate_scanned_total{channel=\"mail\"}") == 0);
    assert_null(strstr(t, "channel=\"upload\""));
    assert_true(sample(t, "hashgate_fail_verdicts_total{channel=\"mail\","
                          "reason=\"evidence\"}") == 0);
    assert_true(sample(t, "hashgate_not_checked_total{channel=\"mail\","
                          "reason=\"encrypted\"}") == 0);
    assert_true(sample(t, "hashgate_not_checked_total{channel=\"mail\","
                          "reason=\"unreadable\"}") == 0);
    assert_true(sample(t, "hashgate_database_loaded") == 0);
    /* no database loaded yet: no load time, no age */
    assert_null(strstr(t, "hashgate_database_load_timestamp_seconds "));
    assert_null(strstr(t, "hashgate_database_file_age_seconds "));
    free(t);
}

static void
test_not_checked_counts_by_channel_and_reason(void **state)
{
    hg_metrics_t    m;
    char           *t;

    (void) state;
    hg_metrics_init(&m);
    hg_metrics_not_checked(&m, HG_METRICS_MAIL, HG_METRICS_NC_ENCRYPTED);
    hg_metrics_not_checked(&m, HG_METRICS_MAIL, HG_METRICS_NC_ENCRYPTED);
    hg_metrics_not_checked(&m, HG_METRICS_UPLOAD, HG_METRICS_NC_UNREADABLE);
    hg_metrics_not_checked(NULL, HG_METRICS_MAIL, HG_METRICS_NC_ENCRYPTED);
    t = render(&m, (1u << HG_METRICS_MAIL) | (1u << HG_METRICS_UPLOAD));
    assert_true(sample(t, "hashgate_not_checked_total{channel=\"mail\","
                          "reason=\"encrypted\"}") == 2);
    assert_true(sample(t, "hashgate_not_checked_total{channel=\"mail\","
                          "reason=\"unreadable\"}") == 0);
    assert_true(sample(t, "hashgate_not_checked_total{channel=\"upload\","
                          "reason=\"unreadable\"}") == 1);
    assert_true(sample(t, "hashgate_not_checked_total{channel=\"upload\","
                          "reason=\"encrypted\"}") == 0);
    /* not a part hashed, nor a match */
    assert_true(sample(t, "hashgate_parts_scanned_total{channel=\"mail\"}")
                == 0);
    free(t);
}

static void
test_histogram_is_cumulative_with_inf(void **state)
{
    hg_metrics_t    m;
    char           *t;

    (void) state;
    hg_metrics_init(&m);
    hg_metrics_scanned(&m, HG_METRICS_UPLOAD, 300000);         /* 0.3 ms */
    hg_metrics_scanned(&m, HG_METRICS_UPLOAD, 3000000);        /* 3 ms */
    hg_metrics_scanned(&m, HG_METRICS_UPLOAD, 2000000000ull);  /* 2 s */
    hg_metrics_scanned(&m, HG_METRICS_UPLOAD, 100000000000ull);/* 100 s */
    t = render(&m, 1u << HG_METRICS_UPLOAD);
#define B(le) sample(t, "hashgate_scan_duration_seconds_bucket" \
                        "{channel=\"upload\",le=\"" le "\"}")
    assert_true(B("0.0005") == 1);
    assert_true(B("0.001") == 1);
    assert_true(B("0.005") == 2);
    assert_true(B("1") == 2);
    assert_true(B("2.5") == 3);
    assert_true(B("30") == 3);
    assert_true(B("+Inf") == 4);
#undef B
    assert_true(sample(t, "hashgate_scan_duration_seconds_count"
                          "{channel=\"upload\"}") == 4);
    assert_true(sample(t, "hashgate_scan_duration_seconds_sum"
                          "{channel=\"upload\"}") > 102.003
                && sample(t, "hashgate_scan_duration_seconds_sum"
                             "{channel=\"upload\"}") < 102.004);
    assert_true(sample(t, "hashgate_scanned_total{channel=\"upload\"}") == 4);
    free(t);
}

static void
test_lists_past_the_table_share_other(void **state)
{
    hg_metrics_t    m;
    char           *t, name[32], series[128];
    int             i;

    (void) state;
    hg_metrics_init(&m);
    for (i = 0; i < HG_METRICS_MAX_LISTS + 6; i++) {
        snprintf(name, sizeof(name), "list%d", i);
        hg_metrics_match(&m, name, HG_ACT_REJECT);
        hg_metrics_match(&m, name, HG_ACT_REJECT);
    }
    hg_metrics_match(&m, "list0", HG_ACT_LOG);
    /* not a match's action: never counted */
    hg_metrics_match(&m, "list0", HG_ACT_TEMPFAIL);
    hg_metrics_match(&m, NULL, HG_ACT_REJECT);
    t = render(&m, 1u << HG_METRICS_MAIL);
    assert_true(sample(t, "hashgate_matches_total{list=\"list0\","
                          "action=\"reject\"}") == 2);
    assert_true(sample(t, "hashgate_matches_total{list=\"list0\","
                          "action=\"log\"}") == 1);
    snprintf(series, sizeof(series), "hashgate_matches_total{list=\"list%d\","
             "action=\"reject\"}", HG_METRICS_MAX_LISTS - 1);
    assert_true(sample(t, series) == 2);
    snprintf(series, sizeof(series), "hashgate_matches_total{list=\"list%d\","
             "action=\"reject\"}", HG_METRICS_MAX_LISTS);
    assert_true(sample(t, series) == -1);
    assert_true(sample(t, "hashgate_matches_total{list=\"~other\","
                          "action=\"reject\"}") == 12);
    assert_null(strstr(t, "tempfail"));
    free(t);
}

static void
test_label_values_are_escaped(void **state)
{
    hg_metrics_t    m;
    char           *t;

    (void) state;
    hg_metrics_init(&m);
    hg_metrics_match(&m, "a\"b\\c\nd", HG_ACT_HOLD);
    t = render(&m, 1u << HG_METRICS_MAIL);
    assert_true(sample(t, "hashgate_matches_total{list=\"a\\\"b\\\\c\\nd\","
                          "action=\"hold\"}") == 1);
    free(t);
}

static void
test_render_sizes_like_snprintf(void **state)
{
    hg_metrics_t    m;
    char            small[100];
    size_t          n;

    (void) state;
    hg_metrics_init(&m);
    n = hg_metrics_render(&m, 3, 1000, NULL, 0);
    assert_true(n > sizeof(small));
    memset(small, 'x', sizeof(small));
    assert_int_equal(hg_metrics_render(&m, 3, 1000, small, sizeof(small)), n);
    assert_true(strlen(small) < sizeof(small));
    assert_memory_equal(small, "# HELP hashgate_scanned_total", 29);
}

/* A database of n seeded digests in the temp dir, opened. */
static hg_db_t *
make_db(const char *name, const char *version, unsigned seed, unsigned n)
{
    hg_dbb_t    *b = hg_dbb_new();
    hg_entry_t   e;
    hg_err_t     err;
    hg_db_t     *db;
    uint32_t     id;
    unsigned     i, k;
    const char  *path = hg_test_path(name);

    assert_non_null(b);
    assert_int_equal(hg_dbb_list(b, "cam", version, HG_LIST_BLOCK, &id,
                                 &err), HG_OK);
    for (i = 0; i < n; i++) {
        memset(&e, 0, sizeof(e));
        e.alg = HG_ALG_SHA256;
        for (k = 0; k < 32; k++) {
            e.digest[k] = (unsigned char) ((seed * 2654435761u + i * 40503u
                                            + k * 97u) >> 7);
        }
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    assert_int_equal(hg_dbb_write(b, path, 0, &err), HG_OK);
    hg_dbb_free(b);
    assert_int_equal(hg_db_open(path, HG_DB_OPEN_VERIFY, &db, &err), HG_OK);
    return db;
}

static hg_db_ident_t
ident(unsigned ino)
{
    hg_db_ident_t   id;

    memset(&id, 0, sizeof(id));
    id.valid = 1;
    id.dev = 1;
    id.ino = ino;
    id.size = 4096;
    id.mtime.tv_sec = 900;
    return id;
}

static void
test_loads_and_refusals_count_once_per_file(void **state)
{
    hg_metrics_t    m;
    hg_db_t        *db = make_db("a.hgdb", "v1", 1, 50);
    hg_db_ident_t   a = ident(10), b = ident(11), bad = ident(12),
                    bad2 = ident(13);
    char           *t;

    (void) state;
    hg_metrics_init(&m);
    /* the first load is no reload; every worker loading it is one file */
    hg_metrics_db_loaded(&m, db, &a, 950);
    hg_metrics_db_loaded(&m, db, &a, 951);
    hg_metrics_db_loaded(&m, db, &b, 960);
    hg_metrics_db_loaded(&m, db, &b, 961);
    hg_metrics_db_refused(&m, &bad);
    hg_metrics_db_refused(&m, &bad);
    hg_metrics_db_refused(&m, &bad2);
    t = render(&m, 1u << HG_METRICS_MAIL);
    assert_true(sample(t, "hashgate_database_reloads_total") == 1);
    assert_true(sample(t, "hashgate_database_reloads_refused_total") == 2);
    assert_true(sample(t, "hashgate_database_loaded") == 1);
    assert_true(sample(t, "hashgate_database_entries{algorithm=\"sha256\"}")
                == 50);
    assert_true(sample(t, "hashgate_database_entries{algorithm=\"md5\"}")
                == 0);
    assert_true(sample(t, "hashgate_database_lists") == 1);
    assert_true(sample(t, "hashgate_database_list_info{list=\"cam\","
                          "version=\"v1\"}") == 1);
    assert_true(sample(t, "hashgate_database_load_timestamp_seconds") == 961);
    /* rendered at 1000, the file's mtime is 900 */
    assert_true(sample(t, "hashgate_database_file_age_seconds") == 100);
    free(t);

    hg_metrics_db_dropped(&m);
    t = render(&m, 1u << HG_METRICS_MAIL);
    assert_true(sample(t, "hashgate_database_loaded") == 0);
    assert_null(strstr(t, "hashgate_database_list_info{"));
    free(t);
    hg_db_close(db);
}

/* Two mappings of one memory file at different addresses: the block
 * holds no pointer, so what one adds the other renders. */
static void
test_block_works_at_any_address(void **state)
{
    int             fd;
    hg_metrics_t   *a, *b;
    char           *t;

    (void) state;
    fd = memfd_create("hg-metrics-test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, sizeof(hg_metrics_t)), 0);
    a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(a != MAP_FAILED && b != MAP_FAILED && a != b);
    hg_metrics_init(a);
    assert_true(hg_metrics_valid(b));
    hg_metrics_match(a, "cam", HG_ACT_REJECT);
    hg_metrics_part(a, HG_METRICS_UPLOAD, 1234);
    hg_metrics_fail(a, HG_METRICS_UPLOAD, HG_METRICS_FAIL_LIMIT);
    hg_metrics_helper_restart(a);
    t = render(b, 1u << HG_METRICS_UPLOAD);
    assert_true(sample(t, "hashgate_matches_total{list=\"cam\","
                          "action=\"reject\"}") == 1);
    assert_true(sample(t, "hashgate_parts_scanned_bytes_total"
                          "{channel=\"upload\"}") == 1234);
    assert_true(sample(t, "hashgate_fail_verdicts_total{channel=\"upload\","
                          "reason=\"limit\"}") == 1);
    assert_true(sample(t, "hashgate_inspect_helper_restarts_total") == 1);
    free(t);
    munmap(a, sizeof(*a));
    munmap(b, sizeof(*b));
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_family_has_help_and_type),
        cmocka_unit_test(test_not_checked_counts_by_channel_and_reason),
        cmocka_unit_test(test_histogram_is_cumulative_with_inf),
        cmocka_unit_test(test_lists_past_the_table_share_other),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_render_sizes_like_snprintf),
        cmocka_unit_test(test_loads_and_refusals_count_once_per_file),
        cmocka_unit_test(test_block_works_at_any_address),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
