/*
 * test_read_ncmec.c - NCMEC hash-sharing XML. The samples are synthetic,
 * written from the public shape of the v2 entries response; every digest
 * and id is made up.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "helper_lists.h"

#define MD5_A    "0123456789abcdef0123456789abcdef"
#define MD5_B    "fedcba9876543210fedcba9876543210"
#define MD5_C    "aaaabbbbccccddddeeeeffff00001111"
#define SHA1_A   "00112233445566778899aabbccddeeff00112233"
#define SHA1_B   "ffeeddccbbaa99887766554433221100ffeeddcc"

static const char ncmec_sample[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">\n"
    "  <images count=\"3\" maxTimestamp=\"2020-01-01T00:00:00Z\">\n"
    "    <image>\n"
    "      <member id=\"1\">Synthetic Member</member>\n"
    "      <timestamp>2020-01-01T00:00:00Z</timestamp>\n"
    "      <id>img-1</id>\n"
    "      <classification>A1</classification>\n"
    "      <fingerprints>\n"
    "        <md5>" MD5_A "</md5>\n"
    "        <sha1>\n  " SHA1_A "\n  </sha1>\n"
    "        <pdna>AAAA,BBBB,CCCC</pdna>\n"
    "      </fingerprints>\n"
    "      <feedback/>\n"
    "    </image>\n"
    "    <!-- a comment -->\n"
    "    <image>\n"
    "      <id>img-&amp;2</id>\n"
    "      <fingerprints>\n"
    "        <fingerprint type=\"MD5\"><![CDATA[" MD5_B "]]></fingerprint>\n"
    "        <pdq>" MD5_A MD5_A "</pdq>\n"
    "      </fingerprints>\n"
    "    </image>\n"
    "    <image>\n"
    "      <id>img-3</id>\n"
    "      <fingerprints><pdna>DDDD</pdna></fingerprints>\n"
    "    </image>\n"
    "    <deletedImage>\n"
    "      <id>img-9</id>\n"
    "      <fingerprints><md5>" MD5_C "</md5></fingerprints>\n"
    "    </deletedImage>\n"
    "    <deletedImage><id>img-10</id></deletedImage>\n"
    "  </images>\n"
    "  <videos count=\"1\">\n"
    "    <video deleted=\"true\">\n"
    "      <id>vid-1</id>\n"
    "      <fingerprints>\n"
    "        <sha1>" SHA1_B "</sha1>\n"
    "        <tmk-pdqf rel=\"self\" href=\"/v2/entries/1/fingerprints/TMK_PDQF\"/>\n"
    "      </fingerprints>\n"
    "    </video>\n"
    "  </videos>\n"
    "  <paging><next>/v2/entries?from=a&amp;to=b</next></paging>\n"
    "</queryResult>\n";

static void
test_ncmec_reads_md5_sha1_labels_and_deletions(void **state)
{
    hgt_read_t  r;

    (void) state;
    assert_int_equal(hgt_read(&r, NULL, "entries.xml", ncmec_sample, 0, NULL),
                     HG_OK);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.v[0].e.alg, HG_ALG_MD5);
    assert_string_equal(hgt_hex(&r, 0), MD5_A);
    assert_string_equal(r.v[0].e.label, "img-1/A1");
    assert_int_equal(r.v[0].e.remove, 0);
    assert_int_equal(r.v[1].e.alg, HG_ALG_SHA1);
    assert_string_equal(hgt_hex(&r, 1), SHA1_A);
    /* an <image>'s <md5> and <sha1> are one record (one file) */
    assert_true(r.v[0].e.record != 0);
    assert_true(r.v[0].e.record == r.v[1].e.record);
    assert_true(r.v[2].e.record != r.v[1].e.record);
    assert_string_equal(hgt_hex(&r, 2), MD5_B);
    assert_string_equal(r.v[2].e.label, "img-&2");
    /* a <pdq> is a PDQ entry with the image's label (test_db_pdq.c) */
    assert_int_equal(r.v[3].e.pdq, 1);
    assert_string_equal(hgt_hex(&r, 3), MD5_A MD5_A);
    assert_string_equal(r.v[3].e.label, "img-&2");
    assert_string_equal(hgt_hex(&r, 4), MD5_C);
    assert_int_equal(r.v[4].e.remove, 1);
    assert_string_equal(r.v[4].e.label, "img-9");
    assert_string_equal(hgt_hex(&r, 5), SHA1_B);
    assert_int_equal(r.v[5].e.remove, 1);
    assert_int_equal(r.stats.entries, 6);
    assert_int_equal(r.stats.skipped, 0);
    /* pdna x2, tmk-pdqf, and one deletion by id only */
    assert_int_equal(r.stats.ignored, 4);
    assert_int_equal(r.nwarn, 2);
    assert_true(hgt_warned(&r, "entries.xml: 3 fingerprints of types other "
                           "than md5/sha1/sha256/pdq ignored (pdna, tmk-pdqf)"));
    assert_true(hgt_warned(&r, "entries.xml: 1 deleted entries name no md5/sha1"));
    hgt_read_free(&r);
}

static void
test_ncmec_bad_entries_are_skipped_with_their_line(void **state)
{
    hgt_read_t  r;
    const char *s =
        "<queryResult>\n"                                         /* 1 */
        "<images>\n"                                              /* 2 */
        "<image><id>a</id><fingerprints><md5>xyz</md5>"
        "</fingerprints></image>\n"                               /* 3 */
        "<image><id>b</id><fingerprints><sha1>" MD5_A "</sha1>"
        "</fingerprints></image>\n"                               /* 4 */
        "<image><id>c</id><id>d</id><fingerprints><md5>" MD5_A
        "</md5></fingerprints></image>\n"                         /* 5 */
        "<image><id>e</id></image>\n"                             /* 6 */
        "<image><id>f</id><fingerprints><fingerprint>" MD5_A
        "</fingerprint></fingerprints></image>\n"                 /* 7 */
        "<image><id>g</id><fingerprints><md5>" MD5_B
        "</md5></fingerprints></image>\n"                         /* 8 */
        "</images>\n"
        "</queryResult>\n";

    (void) state;
    assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", s, 0, NULL), HG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].e.label, "g");
    assert_int_equal(r.stats.skipped, 5);
    assert_true(hgt_warned(&r, "entries.xml:3: <md5> fingerprint: digest length 3"));
    assert_true(hgt_warned(&r, "entries.xml:4: <sha1> fingerprint: a 32-digit digest, expected 40"));
    assert_true(hgt_warned(&r, "entries.xml:5: <image> has more than one <id>"));
    assert_true(hgt_warned(&r, "entries.xml:6: <image> has no fingerprints"));
    assert_true(hgt_warned(&r, "entries.xml:7: <fingerprint> without a type"));
    hgt_read_free(&r);

    assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", s, 1, NULL),
                     HG_EFORMAT);
    assert_non_null(strstr(r.err.msg, "entries.xml:3: <md5> fingerprint"));
    assert_int_equal(r.n, 0);
    hgt_read_free(&r);
}

static void
test_ncmec_truncated_or_malformed_xml_refuses_the_file(void **state)
{
    hgt_read_t   r;
    size_t       i;
    static const struct { const char *xml, *msg; } cases[] = {
        { "<queryResult>\n<images>\n<image><id>a</id><fingerprints><md5>"
          MD5_A "</md5></fingerprints></image>\n",
          "entries.xml:4: truncated XML: <images> is not closed" },
        { "<a>\n<b></c>\n</a>", "entries.xml:2: </c> does not close <b>" },
        { "<!DOCTYPE a [<!ENTITY x \"y\">]>\n<a/>",
          "entries.xml:1: DOCTYPE is not accepted" },
        { "<a>&x;</a>", "entries.xml:1: unknown entity &x;" },
        { "<a b=\"1\" b=\"2\"/>", "entries.xml:1: duplicate attribute b" },
        { "<a/>\n<b/>", "entries.xml:2: a second root element" },
        { "<a><b", "entries.xml:1: truncated XML inside a tag" },
        { "<a><!-- open", "entries.xml:1: truncated XML: unterminated comment" },
        { "", "entries.xml:1: no XML element" },
    };

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", cases[i].xml, 0,
                                  NULL), HG_EFORMAT);
        if (strstr(r.err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, r.err.msg,
                     cases[i].msg);
        }
        hgt_read_free(&r);
    }
    /* the entries before a cut were handed on before the refusal */
    assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", cases[0].xml, 0,
                              NULL), HG_EFORMAT);
    assert_int_equal(r.n, 1);
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

/* One entry, id and classification as given, in a document that starts
 * with decl (an XML declaration, or ""). */
#define NCMEC_ONE(decl, id, cls)                                        \
    decl "<queryResult><images><image><id>" id "</id><classification>"  \
    cls "</classification><fingerprints><md5>" MD5_A "</md5>"           \
    "</fingerprints></image></images></queryResult>\n"

/*
 * The declared encoding is honoured: an ISO-8859-1 export's "caf\xe9" is
 * stored as UTF-8 "café" (it was stored as invalid UTF-8), Windows-1252
 * and the other names of Latin-1 too.
 */
static void
test_ncmec_iso_8859_1_export_is_stored_as_utf8(void **state)
{
    hgt_read_t  r;
    size_t      i;
    static const struct { const char *xml, *label; } cases[] = {
        { NCMEC_ONE("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n",
                    "caf\xe9", "A1"), "caf\xc3\xa9/A1" },
        { NCMEC_ONE("<?xml version='1.0' encoding='latin1'?>",
                    "caf\xe9", "\xbd"), "caf\xc3\xa9/\xc2\xbd" },
        { NCMEC_ONE("<?xml version=\"1.0\" encoding=\"windows-1252\"?>",
                    "\x80uro \x93q\x94", "A1"),
          "\xe2\x82\xacuro \xe2\x80\x9cq\xe2\x80\x9d/A1" },
        { NCMEC_ONE("<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                    "caf\xc3\xa9", "A1"), "caf\xc3\xa9/A1" },
        { NCMEC_ONE("", "caf\xc3\xa9 &#xe9;&#233;", "A1"),
          "caf\xc3\xa9 \xc3\xa9\xc3\xa9/A1" },
        { NCMEC_ONE("\xef\xbb\xbf", "caf\xc3\xa9", "A1"), "caf\xc3\xa9/A1" },
        { NCMEC_ONE("", "\xf0\x9f\x98\x80", "A1"), "\xf0\x9f\x98\x80/A1" },
    };

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", cases[i].xml,
                                  0, NULL), HG_OK);
        assert_int_equal(r.n, 1);
        if (strcmp(r.v[0].e.label, cases[i].label) != 0) {
            fail_msg("case %zu: label \"%s\", expected \"%s\"", i,
                     r.v[0].e.label, cases[i].label);
        }
        hgt_read_free(&r);
    }
}

/* A UTF-16 export (little-endian, with its byte order mark). */
static void
test_ncmec_utf16_export_is_stored_as_utf8(void **state)
{
    static const char doc[] = NCMEC_ONE("<?xml version=\"1.0\" "
                                        "encoding=\"UTF-16\"?>\n",
                                        "caf\xe9", "A1");
    unsigned char  buf[2 * sizeof(doc) + 2];
    size_t         i, n = 0;
    char          *path;
    hgt_read_t     r;

    (void) state;
    buf[n++] = 0xff;
    buf[n++] = 0xfe;
    for (i = 0; i + 1 < sizeof(doc); i++) {     /* Latin-1 is U+0000..FF */
        buf[n++] = (unsigned char) doc[i];
        buf[n++] = 0;
    }
    path = hgt_write_file("entries.xml", buf, n);
    assert_int_equal(hgt_read_path(&r, "ncmec", path, 0, NULL), HG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(hgt_hex(&r, 0), MD5_A);
    assert_string_equal(r.v[0].e.label, "caf\xc3\xa9/A1");
    hgt_read_free(&r);
    hgt_rm(path);
}

/*
 * An encoding that is not supported, a file whose bytes are not what it
 * declares, and an undeclared Latin-1 file (invalid UTF-8) are refused
 * with file:line and what to do, not stored as invalid UTF-8.
 */
static void
test_ncmec_unsupported_or_wrong_encoding_refuses_the_file(void **state)
{
    hgt_read_t   r;
    size_t       i;
    static const struct { const char *xml, *msg; } cases[] = {
        { NCMEC_ONE("<?xml version=\"1.0\" encoding=\"KOI8-R\"?>\n",
                    "a", "A1"),
          "entries.xml:1: encoding \"KOI8-R\" is not supported (UTF-8, "
          "UTF-16, ISO-8859-1, US-ASCII and windows-1252 are)" },
        { NCMEC_ONE("<?xml version=\"1.0\"?>\n", "caf\xe9", "A1"),
          "entries.xml:2: bytes that are not valid UTF-8 (a file in another "
          "encoding must say so: <?xml version=\"1.0\" "
          "encoding=\"ISO-8859-1\"?>)" },
        { NCMEC_ONE("", "caf\xe9", "A1"),
          "entries.xml:1: bytes that are not valid UTF-8" },
        { NCMEC_ONE("<?xml version=\"1.0\" encoding=\"windows-1252\"?>",
                    "a\x81", "A1"), "entries.xml:1: XML error: " },
        { NCMEC_ONE("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "a",
                    "A1"), "entries.xml:1: the file is not in the encoding" },
    };

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", cases[i].xml,
                                  0, NULL), HG_EFORMAT);
        if (strstr(r.err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, r.err.msg,
                     cases[i].msg);
        }
        assert_int_equal(r.n, 0);
        hgt_read_free(&r);
    }
}

/* An <id> longer than the 80 bytes kept is cut between characters. */
static void
test_ncmec_long_id_is_cut_between_characters(void **state)
{
    hgt_read_t  r;
    char        doc[1024], id[128];

    (void) state;
    memset(id, 'a', 79);
    id[79] = '\0';
    snprintf(doc, sizeof(doc), NCMEC_ONE("", "%s\xc3\xa9xyz", "A1"), id);
    assert_int_equal(hgt_read(&r, "ncmec", "entries.xml", doc, 0, NULL),
                     HG_OK);
    assert_int_equal(r.n, 1);
    strcat(id, "/A1");
    assert_string_equal(r.v[0].e.label, id);
    hgt_read_free(&r);
}

/*
 * Text, however long or split (references, CDATA, comments inside), comes
 * through in pieces, but a single comment too long to hold is refused
 * rather than held: expat's memory stays capped.
 */
static void
test_ncmec_huge_comment_is_refused_within_capped_memory(void **state)
{
    static const char head[] = "<queryResult><images>\n<image><id>a</id>"
                               "<fingerprints><md5>0123<!-- c -->"
                               "4567<![CDATA[89ab]]>cdef&#x30;123456789abcdef"
                               "</md5></fingerprints></image>\n<!-- ";
    static const char tail[] = " -->\n</images></queryResult>\n";
    char          *path, pad[64 * 1024];
    FILE          *fp;
    size_t         sizes[] = { 300 * 1024, 16 * 1024 * 1024 };
    size_t         i, n;
    long           before, after;
    hgt_read_t     r;

    (void) state;
    memset(pad, 'x', sizeof(pad));
    for (i = 0; i < 2; i++) {
        path = hgt_write_file("big.xml", "", 0);
        fp = fopen(path, "w");
        assert_non_null(fp);
        assert_int_equal(fwrite(head, 1, sizeof(head) - 1, fp),
                         sizeof(head) - 1);
        for (n = 0; n < sizes[i]; n += sizeof(pad)) {
            assert_int_equal(fwrite(pad, 1, sizeof(pad), fp), sizeof(pad));
        }
        assert_int_equal(fwrite(tail, 1, sizeof(tail) - 1, fp),
                         sizeof(tail) - 1);
        assert_int_equal(fclose(fp), 0);
        before = maxrss_kb();
        hgt_read_path(&r, "ncmec", path, 0, NULL);
        after = maxrss_kb();
        hgt_rm(path);
        if (i == 0) {
            assert_int_equal(r.st, HG_OK);
            assert_int_equal(r.n, 1);
            assert_string_equal(hgt_hex(&r, 0), MD5_A);
        } else {
            assert_int_equal(r.st, HG_EFORMAT);
            assert_non_null(strstr(r.err.msg, "big.xml:3: an XML tag, comment "
                                   "or processing instruction too long"));
            assert_int_equal(r.n, 1);       /* handed on before the comment */
            fprintf(stderr, "# 16 MiB comment: maxrss %ld -> %ld KiB\n",
                    before, after);
            assert_true(after - before < 6144);
        }
        hgt_read_free(&r);
    }
}

static void
test_ncmec_detected_by_namespace_or_fingerprints(void **state)
{
    (void) state;
    assert_string_equal(hgt_detect("download", ncmec_sample), "ncmec");
    assert_string_equal(hgt_detect("x.xml", "<a><fingerprints/></a>"), "ncmec");
}

static void
test_ncmec_download_of_30_mb_is_read_in_small_memory(void **state)
{
    char             *path;
    FILE             *fp;
    uint64_t          i = 0, n = 0;
    long              before, after;
    hg_read_stats_t   st;
    hg_err_t          err;

    (void) state;
    path = hgt_write_file("big.xml", "", 0);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "<?xml version=\"1.0\"?>\n<queryResult xmlns=\"https://"
            "hashsharing.ncmec.org/hashsharing/v2\">\n<images>\n");
    while (ftell(fp) < 30L * 1024 * 1024) {
        /* made-up digests: the index in hex, padded */
        fprintf(fp, "<image><member id=\"1\">Synthetic</member>"
                "<id>i%llu</id><classification>A1</classification>"
                "<fingerprints><md5>%032llx</md5><sha1>%040llx</sha1>"
                "<pdna>%s</pdna></fingerprints></image>\n",
                (unsigned long long) i, (unsigned long long) i,
                (unsigned long long) (i * 2654435761u),
                "AAAABBBBCCCCDDDDEEEEFFFF0000111122223333");
        i++;
    }
    fprintf(fp, "</images>\n</queryResult>\n");
    assert_int_equal(fclose(fp), 0);

    before = maxrss_kb();
    assert_int_equal(hg_list_read_file(path, NULL, NULL, count_cb, &n, &st,
                                       &err), HG_OK);
    after = maxrss_kb();
    hgt_rm(path);

    assert_int_equal(n, 2 * i);
    assert_int_equal(st.ignored, i);
    assert_int_equal(st.skipped, 0);
    fprintf(stderr, "# %llu images, maxrss %ld -> %ld KiB\n",
            (unsigned long long) i, before, after);
    assert_true(after - before < 2048);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ncmec_reads_md5_sha1_labels_and_deletions),
        cmocka_unit_test(test_ncmec_bad_entries_are_skipped_with_their_line),
        cmocka_unit_test(test_ncmec_truncated_or_malformed_xml_refuses_the_file),
        cmocka_unit_test(test_ncmec_iso_8859_1_export_is_stored_as_utf8),
        cmocka_unit_test(test_ncmec_utf16_export_is_stored_as_utf8),
        cmocka_unit_test(test_ncmec_unsupported_or_wrong_encoding_refuses_the_file),
        cmocka_unit_test(test_ncmec_long_id_is_cut_between_characters),
        cmocka_unit_test(test_ncmec_detected_by_namespace_or_fingerprints),
        cmocka_unit_test(test_ncmec_download_of_30_mb_is_read_in_small_memory),
        cmocka_unit_test(test_ncmec_huge_comment_is_refused_within_capped_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
