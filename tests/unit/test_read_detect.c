/*
 * test_read_detect.c - picking the reader for a file, the reader table,
 * and every reader surviving truncated and corrupted input. Samples are
 * synthetic (made-up hex and ids).
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
#include <cmocka.h>

#include "helper_lists.h"

#define MD5_A    "0123456789abcdef0123456789abcdef"
#define SHA1_A   "00112233445566778899aabbccddeeff00112233"

static const struct {
    const char  *name;
    const char  *content;
    const char  *reader;
} samples[] = {
    /* each format under a neutral name: the content decides */
    { "list", "# made up\n" MD5_A "\r\n" SHA1_A "\n", "text" },
    { "list", MD5_A ":1234:Synthetic.Sig:73\n", "clamav" },
    { "list", MD5_A, "text" },                  /* one line, no newline */
    { "list", "Label;MD5;SHA1\n\"x\";" MD5_A ";" SHA1_A "\n", "csv" },
    { "list", "{\"odata.metadata\":\"x\",\"value\":[{\"MD5\":\""
              MD5_A "\",\"MediaID\":1,\"Category\":1}]}", "vic" },
    { "list", "{\n  \"value\": [\n    {\"MediaID\": 1, \"MD5\": \"" MD5_A
              "\", \"Category\": 2}\n  ]\n}\n", "vic" },
    { "list", "{\"md5\":\"" MD5_A "\",\"label\":\"x\"}\n", "jsonl" },
    { "list", "<?xml version=\"1.0\"?>\n<queryResult xmlns=\"https://"
              "hashsharing.ncmec.org/hashsharing/v2\"><images><image><id>1</id>"
              "<fingerprints><md5>" MD5_A "</md5></fingerprints></image>"
              "</images></queryResult>\n", "ncmec" },
    { "list", MD5_A MD5_A ",90,x.jpg\n" MD5_A MD5_A "\n", "pdq" },
    /* the name decides when the content is not telling */
    { "sigs.hdb", "", "clamav" },
    { "x.jsonl", "", "jsonl" },
    { "x.csv", "", "csv" },
    { "x.txt", "", "text" },
    { "x.pdq", "", "pdq" },
    /* ambiguous cases, resolved as docs/list-formats.md says */
    { "digests.csv", MD5_A "\n" SHA1_A "\n", "text" },     /* no header */
    { "list.txt", "md5\n" MD5_A "\n", "csv" },              /* a header */
    { "hashes.json", "{\"sha1\":\"" SHA1_A "\"}\n", "jsonl" },
    { "sigs.hdb", MD5_A "\n", "clamav" },                   /* name wins */
    { "list.txt", "\xEF\xBB\xBF" MD5_A "\n", "text" },      /* BOM */
};

/* the first NSAMPLES samples are complete lists, every format among them */
#define NSAMPLES 9

static void
test_detect_picks_the_right_reader_for_each_sample(void **state)
{
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const char *got = hgt_detect(samples[i].name, samples[i].content);

        if (strcmp(got, samples[i].reader) != 0) {
            fail_msg("sample %zu (%s): detected %s, expected %s", i,
                     samples[i].name, got, samples[i].reader);
        }
    }
}

static void
test_detected_samples_read_one_entry_or_more(void **state)
{
    hgt_read_t  r;
    size_t      i;

    (void) state;
    for (i = 0; i < NSAMPLES; i++) {
        assert_int_equal(hgt_read(&r, NULL, "sample", samples[i].content, 1,
                                  NULL), HG_OK);
        if (r.n == 0) {
            fail_msg("sample %zu gave no entries", i);
        }
        /* the PDQ sample's hash is MD5_A twice */
        assert_memory_equal(hgt_hex(&r, 0), MD5_A, 32);
        hgt_read_free(&r);
    }
}

static void
test_undetectable_file_is_refused_with_a_hint(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_null(hg_reader_detect("blob", (const unsigned char *) "\x7f" "ELF",
                                 4));
    assert_int_equal(hgt_read(&r, NULL, "blob", "hello world\n", 0, NULL),
                     HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "blob: cannot tell the list format"));
    assert_non_null(strstr(r.err.msg, "--format"));
    hgt_read_free(&r);
}

static void
test_reader_table_names_every_format_once(void **state)
{
    const hg_reader_t *const  *r;
    const char                *want[] = { "text", "clamav", "csv", "vic",
                                          "jsonl", "ncmec", "pdq" };
    size_t                     i, n = 0;

    (void) state;
    for (r = hg_readers(); *r != NULL; r++) {
        assert_non_null((*r)->describe);
        assert_ptr_equal(hg_reader_find((*r)->name), *r);
        n++;
    }
    assert_int_equal(n, 7);
    for (i = 0; i < 7; i++) {
        assert_non_null(hg_reader_find(want[i]));
    }
    assert_ptr_equal(hg_reader_find("CSV"), hg_reader_find("csv"));
    assert_null(hg_reader_find("nosuch"));
    assert_null(hg_reader_find(NULL));
}

static void
test_entry_parse_hex_names_what_is_wrong(void **state)
{
    hg_entry_t   e;
    const char  *why;

    (void) state;
    memset(&e, 0, sizeof(e));
    assert_int_equal(hg_entry_parse_hex(&e, " " SHA1_A "\t", 42, &why), 0);
    assert_int_equal(e.alg, HG_ALG_SHA1);
    assert_int_equal(e.digest[19], 0x33);
    assert_int_equal(hg_entry_parse_hex(&e, MD5_A, 31, &why), -1);
    assert_string_equal(why, "digest length 31 is not 32, 40 or 64");
    assert_int_equal(hg_entry_parse_hex(&e, "g123456789abcdef0123456789abcdef",
                                        32, &why), -1);
    assert_string_equal(why, "bad hex");
}

static hg_status_t
stop_cb(void *ctx, const hg_entry_t *e)
{
    (void) e;
    (void) ctx;
    return HG_ECANCEL;
}

static void
test_callback_status_stops_the_reader(void **state)
{
    char            *path;
    hg_read_stats_t  st;
    hg_err_t         err;
    size_t           i;

    (void) state;
    for (i = 0; i < NSAMPLES; i++) {
        path = hgt_write_file("sample", samples[i].content,
                              strlen(samples[i].content));
        assert_int_equal(hg_list_read_file(path, NULL, NULL, stop_cb, NULL,
                                           &st, &err), HG_ECANCEL);
        assert_int_equal(st.entries, 1);
        hgt_rm(path);
    }
}

static hg_status_t
null_cb(void *ctx, const hg_entry_t *e)
{
    (void) ctx;
    if (e->label != NULL) {
        assert_true(strlen(e->label) < 100000);
    }
    return HG_OK;
}

/* read buf with reader rd from memory: must end in OK or a named error */
static void
read_mem(const hg_reader_t *rd, const char *buf, size_t len, int strict)
{
    FILE            *fp = fmemopen((void *) buf, len ? len : 1, "rb");
    hg_read_opts_t   o;
    hg_read_stats_t  st;
    hg_err_t         err;
    hg_status_t      s;

    assert_non_null(fp);
    if (len == 0) {
        fgetc(fp);      /* fmemopen wants size > 0: consume the one byte */
    }
    memset(&o, 0, sizeof(o));
    memset(&st, 0, sizeof(st));
    o.strict = strict;
    err.msg[0] = '\0';
    s = rd->read(fp, "mem", &o, null_cb, NULL, &st, &err);
    fclose(fp);
    if (s != HG_OK) {
        assert_int_equal(s, HG_EFORMAT);
        assert_true(strncmp(err.msg, "mem:", 4) == 0);
    }
}

static void
test_every_reader_survives_truncation_and_corruption_of_every_sample(void **state)
{
    const hg_reader_t *const  *r;
    size_t                     i, cut, len, k;
    char                      *buf;
    unsigned                   seed = 12345;

    (void) state;
    for (r = hg_readers(); *r != NULL; r++) {
        for (i = 0; i < NSAMPLES; i++) {
            len = strlen(samples[i].content);
            buf = malloc(len + 1);
            for (cut = 0; cut <= len; cut++) {
                memcpy(buf, samples[i].content, len);
                read_mem(*r, buf, cut, (int) (cut & 1));
            }
            /* seeded random byte flips */
            for (k = 0; k < 200; k++) {
                memcpy(buf, samples[i].content, len);
                seed = seed * 1103515245u + 12345u;
                buf[(seed >> 8) % len] = (char) (seed >> 16);
                seed = seed * 1103515245u + 12345u;
                buf[(seed >> 8) % len] = "\"{}[]<>:;,\n\\&#"[(seed >> 16) % 15];
                read_mem(*r, buf, len, (int) (k & 1));
            }
            free(buf);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_picks_the_right_reader_for_each_sample),
        cmocka_unit_test(test_detected_samples_read_one_entry_or_more),
        cmocka_unit_test(test_undetectable_file_is_refused_with_a_hint),
        cmocka_unit_test(test_reader_table_names_every_format_once),
        cmocka_unit_test(test_entry_parse_hex_names_what_is_wrong),
        cmocka_unit_test(test_callback_status_stops_the_reader),
        cmocka_unit_test(test_every_reader_survives_truncation_and_corruption_of_every_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
