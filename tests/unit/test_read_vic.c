/*
 * test_read_vic.c - Project VIC / VICS OData JSON exports, streamed.
 * Every sample is synthetic: made-up hex and ids shaped like the public
 * description of the format.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "helper_lists.h"

#define MD5_A    "0123456789ABCDEF0123456789ABCDEF"
#define MD5_B    "FEDCBA9876543210FEDCBA9876543210"
#define SHA1_A   "00112233445566778899AABBCCDDEEFF00112233"
#define SHA1_B   "FFEEDDCCBBAA99887766554433221100FFEEDDCC"

/* "list.json:N: " where N is the offset of needle in content */
static const char *
at(const char *content, const char *needle)
{
    static char  buf[64];
    const char  *p = strstr(content, needle);

    assert_non_null(p);
    snprintf(buf, sizeof(buf), "list.json:%zu: ", (size_t) (p - content));
    return buf;
}

static void
test_vic_reads_media_digests_sizes_and_labels(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "export.json",
        "{\n"
        "  \"odata.metadata\": \"http://example.invalid/$metadata#Media\",\n"
        "  \"value\": [\n"
        "    {\"MediaID\": 1001, \"Category\": 1, \"MediaSize\": 2048,\n"
        "     \"MD5\": \"" MD5_A "\", \"SHA1\": \"" SHA1_A "\",\n"
        "     \"Exifs\": [{\"k\": \"v\", \"n\": [1, 2.5e3, true, null]}]},\n"
        "    {\"MediaID\": \"m-2\", \"Category\": 2, \"MediaSize\": 10,\n"
        "     \"MD5\": null, \"SHA1\": \"" SHA1_B "\"},\n"
        "    {\"CaseID\": 7, \"Media\": [\n"
        "       {\"MediaID\": 3003, \"Category\": 0, \"MD5\": \"" MD5_B "\"}]}\n"
        "  ]\n"
        "}\n", 0, NULL), HG_OK);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0].e.alg, HG_ALG_MD5);
    assert_string_equal(hgt_hex(&r, 0), "0123456789abcdef0123456789abcdef");
    assert_int_equal(r.v[0].e.has_size, 1);
    assert_int_equal(r.v[0].e.size, 2048);
    assert_string_equal(r.v[0].e.label, "1001/1");
    assert_int_equal(r.v[1].e.alg, HG_ALG_SHA1);
    assert_string_equal(r.v[1].e.label, "1001/1");
    assert_string_equal(hgt_hex(&r, 2), "ffeeddccbbaa99887766554433221100ffeeddcc");
    assert_string_equal(r.v[2].e.label, "m-2/2");
    assert_int_equal(r.v[2].e.size, 10);
    assert_string_equal(hgt_hex(&r, 3), "fedcba9876543210fedcba9876543210");
    assert_string_equal(r.v[3].e.label, "3003/0");
    assert_int_equal(r.v[3].e.has_size, 0);
    /* a media object's digests are one record (one file), each object its own */
    assert_true(r.v[0].e.record != 0);
    assert_true(r.v[0].e.record == r.v[1].e.record);
    assert_true(r.v[2].e.record != r.v[1].e.record);
    assert_true(r.v[3].e.record != r.v[2].e.record);
    assert_int_equal(r.stats.skipped, 0);
    assert_int_equal(r.nwarn, 0);
    hgt_read_free(&r);
}

/* A MediaID longer than the 80 bytes kept is cut before a character that
 * would straddle the cut, so the label stays valid UTF-8. */
static void
test_vic_long_media_id_is_cut_between_characters(void **state)
{
    hgt_read_t  r;
    char        doc[512], id[128];

    (void) state;
    memset(id, 'a', 79);
    id[79] = '\0';
    snprintf(doc, sizeof(doc), "{\"value\":[{\"MediaID\":\"%s\\u00e9xyz\","
             "\"Category\":1,\"MD5\":\"" MD5_A "\"}]}", id);
    assert_int_equal(hgt_read(&r, "vic", "export.json", doc, 0, NULL), HG_OK);
    assert_int_equal(r.n, 1);
    strcat(id, "/1");
    assert_string_equal(r.v[0].e.label, id);
    hgt_read_free(&r);
}

static const char vic_three_categories[] =
    "{\"value\":[\n"
    "{\"MediaID\":1,\"Category\":1,\"MD5\":\"" MD5_A "\",\"SHA1\":\"" SHA1_A "\"},\n"
    "{\"MediaID\":2,\"Category\":3,\"MD5\":\"" MD5_B "\",\"SHA1\":\"" SHA1_B "\"},\n"
    "{\"MediaID\":3,\"Category\":2,\"MD5\":\"" MD5_B "\"},\n"
    "{\"MediaID\":4,\"MD5\":\"" MD5_A "\"}\n"
    "]}\n";

static void
test_vic_category_filter_keeps_only_those_categories(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, "vic", "list.json", vic_three_categories, 0,
                              "1, 2"), HG_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.v[0].e.label, "1/1");
    assert_string_equal(r.v[2].e.label, "3/2");
    assert_int_equal(r.stats.ignored, 3);   /* 2 of category 3, 1 without */
    assert_int_equal(r.stats.skipped, 0);
    assert_int_equal(r.nwarn, 1);
    assert_true(hgt_warned(&r, "3 digests outside categories 1, 2 ignored"));
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "vic", "list.json", vic_three_categories, 0,
                              NULL), HG_OK);
    assert_int_equal(r.n, 6);
    assert_string_equal(r.v[5].e.label, "4");
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "vic", "list.json", vic_three_categories, 0,
                              "1,x"), HG_EINVAL);
    assert_non_null(strstr(r.err.msg, "bad category list \"1,x\""));
    hgt_read_free(&r);
}

static void
test_vic_bad_media_objects_are_skipped_with_their_offset(void **state)
{
    hgt_read_t  r;
    const char *s =
        "{\"value\":[\n"
        "{\"MediaID\":1,\"MD5\":12345},\n"
        "{\"MediaID\":2,\"MD5\":\"" MD5_A "\",\"md5\":\"" MD5_B "\"},\n"
        "{\"MediaID\":3,\"SHA1\":\"" MD5_A "\"},\n"
        "{\"MediaID\":4,\"MD5\":\"0123456789ABCDEF0123456789ABCDEZ\"},\n"
        "{\"MediaID\":5,\"MD5\":\"" MD5_B "\",\"MediaSize\":-1},\n"
        "{\"MediaID\":6,\"Category\":\"1\",\"MD5\":\"" MD5_B "\"},\n"
        "{\"MediaID\":7},\n"
        "42,\n"
        "{\"MediaID\":8,\"MD5\":\"" MD5_B "\"}\n"
        "]}";

    (void) state;
    assert_int_equal(hgt_read(&r, "vic", "list.json", s, 0, NULL), HG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].e.label, "8");
    assert_int_equal(r.stats.skipped, 8);
    assert_true(hgt_warned(&r, at(s, "12345")));
    assert_true(hgt_warned(&r, "\"MD5\" is a number, expected a string"));
    assert_true(hgt_warned(&r, at(s, "\"md5\"")));
    assert_true(hgt_warned(&r, "duplicate key \"MD5\""));
    assert_true(hgt_warned(&r, "\"SHA1\": a 32-digit digest, expected 40"));
    assert_true(hgt_warned(&r, "\"MD5\": bad hex"));
    assert_true(hgt_warned(&r, at(s, "-1}")));
    assert_true(hgt_warned(&r, "\"MediaSize\" is not a non-negative integer"));
    assert_true(hgt_warned(&r, "\"Category\" is a string, expected a number"));
    assert_true(hgt_warned(&r, at(s, "{\"MediaID\":7}")));
    assert_true(hgt_warned(&r, "media object has no MD5 or SHA1"));
    assert_true(hgt_warned(&r, at(s, "42,")));
    hgt_read_free(&r);
}

static void
test_vic_strict_refuses_the_first_bad_object(void **state)
{
    hgt_read_t  r;
    const char *s = "{\"value\":[{\"MD5\":\"" MD5_A "\"},{\"MD5\":true}]}";

    (void) state;
    assert_int_equal(hgt_read(&r, "vic", "list.json", s, 1, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, at(s, "true")));
    assert_non_null(strstr(r.err.msg, "is a boolean, expected a string"));
    assert_int_equal(r.n, 1);
    hgt_read_free(&r);
}

static void
test_vic_truncated_or_broken_json_refuses_the_file(void **state)
{
    hgt_read_t  r;
    const char *s = "{\"value\":[{\"MD5\":\"" MD5_A "\"},{\"MD5\":\"" MD5_B;

    (void) state;
    /* cut inside a string: everything up to it was read, then refused */
    assert_int_equal(hgt_read(&r, "vic", "list.json", s, 0, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "truncated JSON: unterminated string"));
    assert_int_equal(r.n, 1);
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "vic", "list.json",
                              "{\"value\":[{\"MD5\":\"" MD5_A "\"}", 0, NULL),
                     HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "truncated JSON: unterminated array"));
    hgt_read_free(&r);

    s = "{\"value\":[{\"MD5\" \"x\"}]}";
    assert_int_equal(hgt_read(&r, "vic", "list.json", s, 0, NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, at(s, "\"x\"}")));
    assert_non_null(strstr(r.err.msg, "expected ':' after a key"));
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "vic", "list.json", "[1,2]", 0, NULL),
                     HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.json:0: a VIC export is a JSON object"));
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "vic", "list.json", "{\"Value\":[]}", 0,
                              NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "no \"value\" array"));
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "vic", "list.json", "{\"value\":[]} x", 0,
                              NULL), HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "list.json:13: text after the JSON value"));
    hgt_read_free(&r);
}

static hg_status_t
count_cb(void *ctx, const hg_entry_t *e)
{
    (void) e;
    (*(uint64_t *) ctx)++;
    return HG_OK;
}

static long
maxrss_kb(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void
test_vic_export_of_50_mb_is_read_in_small_memory(void **state)
{
    char             *path;
    FILE             *fp;
    uint64_t          i, n = 0, media = 0;
    long              before, after;
    hg_read_stats_t   st;
    hg_err_t          err;

    (void) state;
    path = hgt_write_file("big.json", "", 0);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"odata.metadata\":\"synthetic\",\"value\":[\n");
    /* one object holding an 8 MB array nobody needs: memory must not follow
     * the size of an object either */
    fprintf(fp, "{\"MediaID\":0,\"MD5\":\"" MD5_A "\",\"Exifs\":[");
    for (i = 0; i < 1000000; i++) {
        fprintf(fp, "%s\"abcdef\"", i ? "," : "");
    }
    fprintf(fp, "]}");
    media++;
    while (ftell(fp) < 50L * 1024 * 1024) {
        /* seeded, made-up digests: the index in hex, padded */
        fprintf(fp, ",\n{\"MediaID\":%llu,\"Category\":%llu,\"MediaSize\":%llu,"
                "\"MD5\":\"%032llX\",\"SHA1\":\"%040llX\",\"Comment\":\"%s\"}",
                (unsigned long long) media, (unsigned long long) (media % 3),
                (unsigned long long) (media * 7919),
                (unsigned long long) (media * 2654435761u),
                (unsigned long long) media,
                "synthetic media object used to fill the file");
        media++;
    }
    fprintf(fp, "\n]}\n");
    assert_int_equal(fclose(fp), 0);

    before = maxrss_kb();
    assert_int_equal(hg_list_read_file(path, NULL, NULL, count_cb, &n, &st,
                                       &err), HG_OK);
    after = maxrss_kb();
    hgt_rm(path);

    assert_int_equal(n, 2 * media - 1);
    assert_int_equal(st.entries, n);
    assert_int_equal(st.skipped, 0);
    /* the file is 58 MB; reading it may add a few pages, not the file */
    fprintf(stderr, "# %llu media, %llu entries, maxrss %ld -> %ld KiB\n", (unsigned long long) media, (unsigned long long) n, before, after);
    assert_true(after - before < 2048);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vic_reads_media_digests_sizes_and_labels),
        cmocka_unit_test(test_vic_long_media_id_is_cut_between_characters),
        cmocka_unit_test(test_vic_category_filter_keeps_only_those_categories),
        cmocka_unit_test(test_vic_bad_media_objects_are_skipped_with_their_offset),
        cmocka_unit_test(test_vic_strict_refuses_the_first_bad_object),
        cmocka_unit_test(test_vic_truncated_or_broken_json_refuses_the_file),
        cmocka_unit_test(test_vic_export_of_50_mb_is_read_in_small_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
