/*
 * test_db_sign.c - signed databases: keys made, read and refused; a
 * database signed as it is written, its signature checked against trusted
 * keys, and every kind of tampering refused (a byte flipped in the header
 * with its checksum mended, a byte flipped in the data, the signature
 * stripped, another key's signature). Databases hold seeded digests:
 * synthetic data only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
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

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "db/db_format.h"
#include "hashgate/db.h"
#include "hashgate/db_sign.h"
#include "helper_tmpdir.h"

#define tpath(name)  hg_test_path(name)

static int
setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("sign");
}

static int
teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

/* A database of n seeded SHA-256 digests, signed by key (NULL: unsigned). */
static void
make_db(const char *path, const char *key, unsigned n)
{
    hg_dbb_t        *b = hg_dbb_new();
    hg_db_signer_t  *s = NULL;
    hg_entry_t       e;
    hg_err_t         err;
    uint32_t         id;
    unsigned         i, k;

    assert_non_null(b);
    if (key != NULL) {
        assert_int_equal(hg_db_signer_load(key, &s, &err), HG_OK);
        hg_dbb_set_signer(b, s);
    }
    assert_int_equal(hg_dbb_list(b, "cam", NULL, HG_LIST_BLOCK, &id, &err),
                     HG_OK);
    for (i = 0; i < n; i++) {
        memset(&e, 0, sizeof(e));
        e.alg = HG_ALG_SHA256;
        for (k = 0; k < 32; k++) {
            e.digest[k] = (unsigned char) ((i * 104729u + 17) >> (k % 4 * 8)
                                           ^ k);
        }
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    if (hg_dbb_write(b, path, 1700000000, &err) != HG_OK) {
        fail_msg("write %s: %s", path, err.msg);
    }
    hg_dbb_free(b);
    hg_db_signer_free(s);
}

static void
keygen(const char *name, char *id)
{
    hg_err_t  err;

    if (hg_db_keygen(tpath(name), id, &err) != HG_OK) {
        fail_msg("keygen %s: %s", name, err.msg);
    }
}

/* The whole file at path, malloc'd; *len its size. */
static unsigned char *
slurp(const char *path, size_t *len)
{
    struct stat     st;
    unsigned char  *p;
    int             fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    p = malloc((size_t) st.st_size);
    assert_non_null(p);
    assert_int_equal(read(fd, p, (size_t) st.st_size), st.st_size);
    close(fd);
    *len = (size_t) st.st_size;
    return p;
}

static void
spit(const char *path, const unsigned char *p, size_t len)
{
    int  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t) len);
    close(fd);
}

/* Open path and check it against keys as a server does; the status. */
static hg_status_t
trusted(const char *path, const hg_db_keys_t *keys, hg_err_t *err)
{
    hg_db_t      *db = NULL;
    hg_status_t   st;

    err->msg[0] = '\0';
    st = hg_db_open_trusted(path, 0, keys, &db, err);
    assert_true((st == HG_OK) == (db != NULL));
    hg_db_close(db);
    return st;
}

/* Open path and check its signature with the key it names, as `hashgate
 * info --verify` does; the status. */
static hg_status_t
self_checked(const char *path, hg_err_t *err)
{
    hg_db_t      *db = NULL;
    hg_status_t   st;

    err->msg[0] = '\0';
    st = hg_db_open(path, HG_DB_OPEN_VERIFY, &db, err);
    if (st == HG_OK) {
        st = hg_db_check_signature(db, NULL, err);
        hg_db_close(db);
    }
    return st;
}

static void
assert_contains(const char *s, const char *want)
{
    if (strstr(s, want) == NULL) {
        fail_msg("'%s' does not say '%s'", s, want);
    }
}

/* ---- keys ---- */

static void
test_keygen_writes_a_private_key_only_its_owner_reads_and_a_public_one(
    void **state)
{
    struct stat      st;
    hg_db_signer_t  *s;
    hg_db_keys_t    *k;
    hg_err_t         err;
    char             id[HG_DB_KEY_ID_LEN + 1], again[HG_DB_KEY_ID_LEN + 1];

    (void) state;
    keygen("k", id);
    assert_int_equal(strlen(id), HG_DB_KEY_ID_LEN);
    assert_int_equal(strncmp(id, "ed25519:", 8), 0);
    assert_int_equal(stat(tpath("k"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(tpath("k.pub"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* the same ID from the private key and from the public one */
    assert_int_equal(hg_db_signer_load(tpath("k"), &s, &err), HG_OK);
    assert_string_equal(hg_db_signer_id(s), id);
    hg_db_signer_free(s);
    assert_int_equal(hg_db_keys_load(tpath("k.pub"), &k, &err), HG_OK);
    assert_int_equal(hg_db_keys_count(k), 1);
    assert_string_equal(hg_db_keys_id(k, 0), id);
    hg_db_keys_free(k);

    /* never over an existing key; a second key has another ID */
    assert_int_equal(hg_db_keygen(tpath("k"), again, &err), HG_EIO);
    assert_contains(err.msg, "cannot create");
    keygen("k2", again);
    assert_string_not_equal(again, id);
}

static void
test_keys_file_may_hold_several_keys_and_nothing_else(void **state)
{
    hg_db_keys_t   *k = NULL;
    hg_err_t        err;
    unsigned char  *a, *b, *both;
    size_t          la, lb;
    char            ida[HG_DB_KEY_ID_LEN + 1], idb[HG_DB_KEY_ID_LEN + 1];

    (void) state;
    keygen("a", ida);
    keygen("b", idb);
    a = slurp(tpath("a.pub"), &la);
    b = slurp(tpath("b.pub"), &lb);
    /* a comment and a blank line are allowed between keys */
    both = malloc(la + lb + 32);
    assert_non_null(both);
    memcpy(both, a, la);
    memcpy(both + la, "\n# the new key\n", 15);
    memcpy(both + la + 15, b, lb);
    spit(tpath("both.pub"), both, la + 15 + lb);
    assert_int_equal(hg_db_keys_load(tpath("both.pub"), &k, &err), HG_OK);
    assert_int_equal(hg_db_keys_count(k), 2);
    assert_string_equal(hg_db_keys_id(k, 0), ida);
    assert_string_equal(hg_db_keys_id(k, 1), idb);
    hg_db_keys_free(k);

    /* a key then garbage: refused, not read as one key */
    memcpy(both + la, "not a key\n", 10);
    spit(tpath("junk.pub"), both, la + 10);
    assert_int_equal(hg_db_keys_load(tpath("junk.pub"), &k, &err),
                     HG_EFORMAT);
    assert_null(k);
    assert_contains(err.msg, "junk.pub:4:");
    /* empty, and a private key where public keys belong */
    spit(tpath("empty.pub"), (const unsigned char *) "", 0);
    assert_int_equal(hg_db_keys_load(tpath("empty.pub"), &k, &err),
                     HG_EFORMAT);
    assert_contains(err.msg, "no public key");
    assert_int_equal(hg_db_keys_load(tpath("a"), &k, &err), HG_EFORMAT);
    assert_int_equal(hg_db_keys_load(tpath("missing.pub"), &k, &err), HG_EIO);
    assert_contains(err.msg, "missing.pub");
    free(a);
    free(b);
    free(both);
}

static void
test_keys_of_another_kind_are_refused(void **state)
{
    EVP_PKEY        *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    hg_db_signer_t  *s = NULL;
    hg_db_keys_t    *k = NULL;
    hg_err_t         err;
    FILE            *f;

    (void) state;
    assert_non_null(pk);
    f = fopen(tpath("ec"), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL),
                     1);
    fclose(f);
    f = fopen(tpath("ec.pub"), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
    fclose(f);
    EVP_PKEY_free(pk);

    assert_int_equal(hg_db_signer_load(tpath("ec"), &s, &err), HG_EFORMAT);
    assert_null(s);
    assert_contains(err.msg, "not an Ed25519 key");
    assert_int_equal(hg_db_keys_load(tpath("ec.pub"), &k, &err), HG_EFORMAT);
    assert_null(k);
    assert_contains(err.msg, "not an Ed25519 public key");
    spit(tpath("text"), (const unsigned char *) "hello\n", 6);
    assert_int_equal(hg_db_signer_load(tpath("text"), &s, &err), HG_EFORMAT);
    assert_contains(err.msg, "not a PEM private key");
}

/* ---- signed databases ---- */

static void
test_a_signed_database_opens_for_its_key_and_names_its_signer(void **state)
{
    hg_db_keys_t      *k, *other;
    hg_db_t           *db;
    hg_db_sig_info_t   si;
    hg_err_t           err;
    char               id[HG_DB_KEY_ID_LEN + 1], id2[HG_DB_KEY_ID_LEN + 1];

    (void) state;
    keygen("k", id);
    keygen("k2", id2);
    make_db(tpath("db"), tpath("k"), 1000);
    assert_int_equal(hg_db_keys_load(tpath("k.pub"), &k, &err), HG_OK);
    assert_int_equal(hg_db_keys_load(tpath("k2.pub"), &other, &err), HG_OK);

    assert_int_equal(trusted(tpath("db"), k, &err), HG_OK);
    assert_int_equal(hg_db_open(tpath("db"), HG_DB_OPEN_VERIFY, &db, &err),
                     HG_OK);
    assert_int_equal(hg_db_signature(db, &si, &err), HG_OK);
    assert_true(si.is_signed);
    assert_string_equal(si.key_id, id);
    /* integrity alone: the key it names */
    assert_int_equal(hg_db_check_signature(db, NULL, &err), HG_OK);
    hg_db_close(db);

    /* signed, but not by a trusted key */
    assert_int_equal(trusted(tpath("db"), other, &err), HG_EFORMAT);
    assert_contains(err.msg, id);
    assert_contains(err.msg, "not among the trusted keys");

    /* unsigned: still opens without keys, refused with them */
    make_db(tpath("plain"), NULL, 1000);
    assert_int_equal(trusted(tpath("plain"), NULL, &err), HG_OK);
    assert_int_equal(trusted(tpath("plain"), k, &err), HG_EFORMAT);
    assert_contains(err.msg, "not signed");
    hg_db_keys_free(k);
    hg_db_keys_free(other);
}

static void
test_signed_and_unsigned_files_differ_only_in_the_signature_block(
    void **state)
{
    unsigned char  *a, *b;
    size_t          la, lb, i;
    char            id[HG_DB_KEY_ID_LEN + 1];

    (void) state;
    keygen("k", id);
    make_db(tpath("signed"), tpath("k"), 300);
    make_db(tpath("plain"), NULL, 300);
    a = slurp(tpath("signed"), &la);
    b = slurp(tpath("plain"), &lb);
    assert_int_equal(la, lb);
    for (i = 0; i < la; i++) {
        if (a[i] != b[i] && (i < HDR_SIG_AT || i >= HDR_SIG_AT + HDR_SIG_LEN)) {
            fail_msg("byte %zu differs outside the signature block", i);
        }
    }
    assert_memory_not_equal(a + HDR_SIG_AT, b + HDR_SIG_AT, HDR_SIG_LEN);
    free(a);
    free(b);
}

/*
 * Every byte of the file matters: flipped in the header (the header's
 * checksum mended, as an attacker would), in the metadata, in the digest
 * tables; the signature stripped (the block zeroed), replaced by another
 * key's, or its own bytes flipped.
 */
static void
test_tampered_signed_databases_are_refused(void **state)
{
    hg_db_keys_t   *k;
    hg_err_t        err;
    unsigned char  *good, *bad, *other, sum[32];
    size_t          len, olen, at;
    char            id[HG_DB_KEY_ID_LEN + 1], id2[HG_DB_KEY_ID_LEN + 1];
    size_t          hdr = HDR_SIG_AT + HDR_SIG_LEN;

    (void) state;
    keygen("k", id);
    keygen("k2", id2);
    make_db(tpath("db"), tpath("k"), 2000);
    make_db(tpath("db2"), tpath("k2"), 2001);    /* another file */
    assert_int_equal(hg_db_keys_load(tpath("k.pub"), &k, &err), HG_OK);
    good = slurp(tpath("db"), &len);
    other = slurp(tpath("db2"), &olen);
    bad = malloc(len);
    assert_non_null(bad);

    /* one flipped byte at many places past the header: the checksums */
    for (at = hdr; at < len; at += (len - hdr) / 37 + 1) {
        memcpy(bad, good, len);
        bad[at] ^= 0x10;
        spit(tpath("bad"), bad, len);
        if (trusted(tpath("bad"), k, &err) != HG_EFORMAT) {
            fail_msg("a byte flipped at %zu of %zu was not refused", at, len);
        }
    }

    /* the creation time changed and the header checksum mended */
    memcpy(bad, good, len);
    bad[HDR_CREATED] ^= 1;
    assert_int_equal(hg_db_meta_sha256(bad, bad + hdr,
                                       hg_le64(bad + HDR_META_LEN), sum), 0);
    memcpy(bad + HDR_META_SHA256, sum, 32);
    spit(tpath("bad"), bad, len);
    assert_int_equal(self_checked(tpath("bad"), &err), HG_EFORMAT);
    assert_contains(err.msg, "does not verify");
    assert_int_equal(trusted(tpath("bad"), k, &err), HG_EFORMAT);
    assert_contains(err.msg, "does not verify");

    /* stripped: the file is as if never signed, which keys refuse */
    memcpy(bad, good, len);
    memset(bad + HDR_SIG_AT, 0, HDR_SIG_LEN);
    spit(tpath("bad"), bad, len);
    assert_int_equal(trusted(tpath("bad"), NULL, &err), HG_OK);
    assert_int_equal(self_checked(tpath("bad"), &err), HG_EFORMAT);
    assert_contains(err.msg, "not signed");
    assert_int_equal(trusted(tpath("bad"), k, &err), HG_EFORMAT);
    assert_contains(err.msg, "not signed");

    /* another key's block pasted in: it names the other key */
    memcpy(bad, good, len);
    memcpy(bad + HDR_SIG_AT, other + HDR_SIG_AT, HDR_SIG_LEN);
    spit(tpath("bad"), bad, len);
    assert_int_equal(trusted(tpath("bad"), k, &err), HG_EFORMAT);
    assert_contains(err.msg, "not among the trusted keys");
    /* and checked with the key it names, it does not verify either */
    assert_int_equal(self_checked(tpath("bad"), &err), HG_EFORMAT);
    assert_contains(err.msg, "does not verify");

    /* the trusted key with another file's signature value */
    memcpy(bad, good, len);
    bad[HDR_SIG_AT + 40] ^= 0x01;
    spit(tpath("bad"), bad, len);
    assert_int_equal(trusted(tpath("bad"), k, &err), HG_EFORMAT);
    assert_contains(err.msg, "does not verify");

    /* a block of an unknown kind */
    memcpy(bad, good, len);
    bad[HDR_SIG_AT] = 7;
    spit(tpath("bad"), bad, len);
    assert_int_equal(trusted(tpath("bad"), k, &err), HG_EFORMAT);
    assert_contains(err.msg, "unknown kind");

    free(good);
    free(bad);
    free(other);
    hg_db_keys_free(k);
}

static void
test_a_header_without_room_cannot_be_signed(void **state)
{
    hg_db_signer_t  *s;
    hg_err_t         err;
    unsigned char    hdr[512];
    char             id[HG_DB_KEY_ID_LEN + 1];

    (void) state;
    keygen("k", id);
    assert_int_equal(hg_db_signer_load(tpath("k"), &s, &err), HG_OK);
    memset(hdr, 0, sizeof(hdr));
    assert_int_equal(hg_db_sign_header(hdr, sizeof(hdr), s, &err), HG_EINVAL);
    assert_contains(err.msg, "no room");
    hg_db_signer_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_keygen_writes_a_private_key_only_its_owner_reads_and_a_public_one,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_keys_file_may_hold_several_keys_and_nothing_else,
            setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_of_another_kind_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_signed_database_opens_for_its_key_and_names_its_signer,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_signed_and_unsigned_files_differ_only_in_the_signature_block,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tampered_signed_databases_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_header_without_room_cannot_be_signed, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
