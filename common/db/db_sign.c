/*
 * db_sign.c - Ed25519 signatures of compiled databases (db_sign.h).
 *
 * The signature block is the last HDR_SIG_LEN bytes of a format-3 header
 * (docs/db-format.md):
 *   +0   u32  algorithm: 1 = Ed25519 (0: the file is unsigned, and the
 *             whole block is zero)
 *   +4   u32  zero
 *   +8   [32] the signer's raw public key
 *   +40  [64] the signature
 *   +104 ..   zero
 * The signed message is a fixed context string followed by the whole
 * header with the block zeroed. The header's checksums are computed with
 * the block zeroed too (db_open.c), so signing changes nothing else and
 * a signed file is the unsigned one plus 256 bytes filled in.
 *
 * The public key is carried in the file so that `hashgate info` can name
 * the signer without being given keys; trust comes only from the keys a
 * server is configured with (hg_db_check_signature compares raw keys).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "db/db_build.h"
#include "db/db_format.h"
#include "hashgate/db_sign.h"

#define SIG_ALG             0       /* u32 */
#define SIG_KEY             8       /* [32] */
#define SIG_VALUE           40      /* [64] */
#define SIG_USED            104
#define SIG_ALG_ED25519     1u

#define ED25519_KEY_LEN     32
#define ED25519_SIG_LEN     64

/* Domain separation: these bytes sign nothing but a hashgate database. */
static const char  hg_sig_context[] = "hashgate database signature v1";

struct hg_db_signer_s {
    EVP_PKEY       *pkey;
    unsigned char   raw[ED25519_KEY_LEN];
    char            id[HG_DB_KEY_ID_LEN + 1];
};

struct hg_db_keys_s {
    char           *path;
    size_t          n;
    unsigned char   raw[HG_DB_MAX_KEYS][ED25519_KEY_LEN];
    char            id[HG_DB_MAX_KEYS][HG_DB_KEY_ID_LEN + 1];
};

/* ---- keys ---- */

static void
_key_id(const unsigned char raw[ED25519_KEY_LEN], char *out)
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      md[32];
    unsigned int       mdlen = 0;
    int                i;

    memset(md, 0, sizeof(md));
    (void) EVP_Digest(raw, ED25519_KEY_LEN, md, &mdlen, EVP_sha256(), NULL);
    memcpy(out, "ed25519:", 8);
    for (i = 0; i < 8; i++) {
        out[8 + 2 * i] = hex[md[i] >> 4];
        out[9 + 2 * i] = hex[md[i] & 0xf];
    }
    out[HG_DB_KEY_ID_LEN] = '\0';
}

/* The raw public key of an Ed25519 key; -1 for another kind of key. */
static int
_raw_public(EVP_PKEY *pkey, unsigned char raw[ED25519_KEY_LEN])
{
    size_t  len = ED25519_KEY_LEN;

    if (!EVP_PKEY_is_a(pkey, "ED25519")
        || EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1
        || len != ED25519_KEY_LEN)
    {
        return -1;
    }
    return 0;
}

static hg_status_t
_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, int private,
           hg_err_t *err)
{
    FILE   *f;
    int     fd, ok;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return hg_err_sys(err, HG_EIO, "%s: cannot create", path);
    }
    if ((f = fdopen(fd, "w")) == NULL) {
        close(fd);
        unlink(path);
        return hg_err_sys(err, HG_EIO, "%s", path);
    }
    ok = private ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_PUBKEY(f, pkey);
    if (fflush(f) != 0 || fsync(fd) != 0) {
        ok = 0;
    }
    if (fclose(f) != 0 || ok != 1) {
        unlink(path);
        return hg_err_set(err, HG_EIO, "%s: cannot write the key", path);
    }
    return HG_OK;
}

hg_status_t
hg_db_keygen(const char *path, char *id, hg_err_t *err)
{
    EVP_PKEY       *pkey;
    unsigned char   raw[ED25519_KEY_LEN];
    char           *pub;
    size_t          n = strlen(path);
    hg_status_t     st;

    if ((pub = malloc(n + 5)) == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    memcpy(pub, path, n);
    memcpy(pub + n, ".pub", 5);
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL || _raw_public(pkey, raw) != 0) {
        EVP_PKEY_free(pkey);
        free(pub);
        return hg_err_set(err, HG_ECRYPTO, "OpenSSL cannot make an Ed25519 "
                          "key");
    }
    /* the public file first: a clash there leaves no stray private key */
    st = _write_pem(pub, 0644, pkey, 0, err);
    if (st == HG_OK && (st = _write_pem(path, 0600, pkey, 1, err)) != HG_OK) {
        unlink(pub);
    }
    if (st == HG_OK && id != NULL) {
        _key_id(raw, id);
    }
    EVP_PKEY_free(pkey);
    free(pub);
    return st;
}

hg_status_t
hg_db_signer_load(const char *path, hg_db_signer_t **out, hg_err_t *err)
{
    hg_db_signer_t  *s;
    FILE            *f;
    EVP_PKEY        *pkey;

    *out = NULL;
    if ((f = fopen(path, "re")) == NULL) {
        return hg_err_sys(err, HG_EIO, "%s: cannot open the signing key",
                          path);
    }
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (pkey == NULL) {
        return hg_err_set(err, HG_EFORMAT, "%s: not a PEM private key "
                          "(make one with hashgate keygen)", path);
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        EVP_PKEY_free(pkey);
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    s->pkey = pkey;
    if (_raw_public(pkey, s->raw) != 0) {
        hg_db_signer_free(s);
        return hg_err_set(err, HG_EFORMAT, "%s: not an Ed25519 key (make "
                          "one with hashgate keygen)", path);
    }
    _key_id(s->raw, s->id);
    *out = s;
    return HG_OK;
}

void
hg_db_signer_free(hg_db_signer_t *s)
{
    if (s != NULL) {
        EVP_PKEY_free(s->pkey);
        free(s);
    }
}

const char *
hg_db_signer_id(const hg_db_signer_t *s)
{
    return s->id;
}

/*
 * The lines outside the PEM blocks: blank or '#' comments only, so a file
 * that is not what it should be is refused, not read for the keys it
 * happens to hold. The line of the first other one, or 0.
 */
static size_t
_stray_line(const char *p, size_t len)
{
    const char  *end = p + len, *nl;
    size_t       line = 0;
    int          in_block = 0;

    for (; p < end; p = nl + 1) {
        size_t  n;

        line++;
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }
        n = (size_t) (nl - p);
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '
                         || p[n - 1] == '\t'))
        {
            n--;
        }
        if (in_block) {
            in_block = !(n == 24 && memcmp(p, "-----END PUBLIC KEY-----", 24)
                                    == 0);
        } else if (n == 26 && memcmp(p, "-----BEGIN PUBLIC KEY-----", 26)
                              == 0)
        {
            in_block = 1;
        } else if (n > 0 && p[0] != '#') {
            return line;
        }
    }
    return 0;
}

#define HG_DB_KEYS_FILE_MAX  (1u << 20)

hg_status_t
hg_db_keys_load(const char *path, hg_db_keys_t **out, hg_err_t *err)
{
    hg_db_keys_t  *k;
    FILE          *f;
    BIO           *bio;
    EVP_PKEY      *pkey;
    char          *buf;
    size_t         len, line;
    hg_status_t    st = HG_OK;

    *out = NULL;
    if ((f = fopen(path, "re")) == NULL) {
        return hg_err_sys(err, HG_EIO, "%s: cannot open the trusted keys",
                          path);
    }
    if ((buf = malloc(HG_DB_KEYS_FILE_MAX + 1)) == NULL) {
        fclose(f);
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    len = fread(buf, 1, HG_DB_KEYS_FILE_MAX + 1, f);
    if (ferror(f)) {
        st = hg_err_sys(err, HG_EIO, "%s: cannot read", path);
    } else if (len > HG_DB_KEYS_FILE_MAX) {
        st = hg_err_set(err, HG_ELIMIT, "%s: over %u bytes: not a file of "
                        "public keys", path, HG_DB_KEYS_FILE_MAX);
    } else if ((line = _stray_line(buf, len)) != 0) {
        st = hg_err_set(err, HG_EFORMAT, "%s:%zu: not PEM public keys "
                        "(expected BEGIN PUBLIC KEY blocks, as hashgate "
                        "keygen writes to KEY.pub, blank lines and # "
                        "comments)", path, line);
    }
    fclose(f);
    if (st != HG_OK) {
        free(buf);
        return st;
    }
    if ((k = calloc(1, sizeof(*k))) == NULL
        || (k->path = strdup(path)) == NULL
        || (bio = BIO_new_mem_buf(buf, (int) len)) == NULL)
    {
        hg_db_keys_free(k);
        free(buf);
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    while (st == HG_OK
           && (pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL)
    {
        if (k->n == HG_DB_MAX_KEYS) {
            st = hg_err_set(err, HG_ELIMIT, "%s: more than %d keys", path,
                            HG_DB_MAX_KEYS);
        } else if (_raw_public(pkey, k->raw[k->n]) != 0) {
            st = hg_err_set(err, HG_EFORMAT, "%s: key %zu is not an Ed25519 "
                            "public key", path, k->n + 1);
        } else {
            _key_id(k->raw[k->n], k->id[k->n]);
            k->n++;
        }
        EVP_PKEY_free(pkey);
    }
    BIO_free(bio);
    free(buf);
    if (st == HG_OK && k->n == 0) {
        st = hg_err_set(err, HG_EFORMAT, "%s: no public key in the file "
                        "(expected BEGIN PUBLIC KEY blocks, as hashgate "
                        "keygen writes to KEY.pub)", path);
    }
    if (st != HG_OK) {
        hg_db_keys_free(k);
        return st;
    }
    *out = k;
    return HG_OK;
}

void
hg_db_keys_free(hg_db_keys_t *k)
{
    if (k != NULL) {
        free(k->path);
        free(k);
    }
}

size_t
hg_db_keys_count(const hg_db_keys_t *k)
{
    return k->n;
}

const char *
hg_db_keys_id(const hg_db_keys_t *k, size_t i)
{
    return i < k->n ? k->id[i] : NULL;
}

const char *
hg_db_keys_path(const hg_db_keys_t *k)
{
    return k->path;
}

/* ---- the header block ---- */

/* The message: the context string, then the header with its block zeroed. */
static unsigned char *
_message(const unsigned char *hdr, size_t hdr_len, size_t *len)
{
    unsigned char  *m;

    *len = sizeof(hg_sig_context) + hdr_len;
    if ((m = malloc(*len)) == NULL) {
        return NULL;
    }
    memcpy(m, hg_sig_context, sizeof(hg_sig_context));
    memcpy(m + sizeof(hg_sig_context), hdr, hdr_len);
    memset(m + sizeof(hg_sig_context) + HDR_SIG_AT, 0, HDR_SIG_LEN);
    return m;
}

hg_status_t
hg_db_sign_header(unsigned char *hdr, size_t hdr_len, const hg_db_signer_t *s,
                  hg_err_t *err)
{
    EVP_MD_CTX     *ctx;
    unsigned char  *m, sig[ED25519_SIG_LEN];
    size_t          mlen, slen = sizeof(sig);
    int             ok;

    if (hdr_len < HDR_SIG_AT + HDR_SIG_LEN) {
        return hg_err_set(err, HG_EINVAL, "this database format has no room "
                          "for a signature");
    }
    if ((m = _message(hdr, hdr_len, &mlen)) == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL
         && EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1
         && EVP_DigestSign(ctx, sig, &slen, m, mlen) == 1
         && slen == sizeof(sig);
    EVP_MD_CTX_free(ctx);
    free(m);
    if (!ok) {
        return hg_err_set(err, HG_ECRYPTO, "OpenSSL cannot sign with %s",
                          s->id);
    }
    memset(hdr + HDR_SIG_AT, 0, HDR_SIG_LEN);
    hg_put32(hdr + HDR_SIG_AT + SIG_ALG, SIG_ALG_ED25519);
    memcpy(hdr + HDR_SIG_AT + SIG_KEY, s->raw, ED25519_KEY_LEN);
    memcpy(hdr + HDR_SIG_AT + SIG_VALUE, sig, ED25519_SIG_LEN);
    return HG_OK;
}

void
hg_dbb_set_signer(hg_dbb_t *b, const hg_db_signer_t *s)
{
    b->signer = s;
}

/* The header of db and its length; 0 for a format without a signature. */
static size_t
_header(const hg_db_t *db, const unsigned char **hdr)
{
    *hdr = db->base;
    return db->format >= 3 ? hg_db_header_size(db->format) : 0;
}

hg_status_t
hg_db_signature(const hg_db_t *db, hg_db_sig_info_t *info, hg_err_t *err)
{
    const unsigned char  *hdr, *blk;
    size_t                len = _header(db, &hdr);

    memset(info, 0, sizeof(*info));
    if (len < HDR_SIG_AT + HDR_SIG_LEN) {
        return HG_OK;
    }
    blk = hdr + HDR_SIG_AT;
    if (hg_db_all_zero(blk, HDR_SIG_LEN)) {
        return HG_OK;
    }
    if (hg_le32(blk + SIG_ALG) != SIG_ALG_ED25519
        || !hg_db_all_zero(blk + 4, 4)
        || !hg_db_all_zero(blk + SIG_USED, HDR_SIG_LEN - SIG_USED))
    {
        return hg_err_set(err, HG_EFORMAT, "%s: signature block of an "
                          "unknown kind (algorithm %u)", hg_db_path(db),
                          hg_le32(blk + SIG_ALG));
    }
    info->is_signed = 1;
    _key_id(blk + SIG_KEY, info->key_id);
    return HG_OK;
}

hg_status_t
hg_db_check_signature(const hg_db_t *db, const hg_db_keys_t *keys,
                      hg_err_t *err)
{
    hg_db_sig_info_t      info;
    const unsigned char  *hdr, *raw;
    unsigned char        *m;
    EVP_PKEY             *pkey;
    EVP_MD_CTX           *ctx;
    size_t                len = _header(db, &hdr), mlen, i;
    int                   ok;

    if (hg_db_signature(db, &info, err) != HG_OK) {
        return HG_EFORMAT;
    }
    if (!info.is_signed) {
        return hg_err_set(err, HG_EFORMAT, "%s: not signed (format %u%s); "
                          "compile it with --sign", hg_db_path(db),
                          hg_db_version(db),
                          hg_db_version(db) < 3 ? ", which cannot be" : "");
    }
    raw = hdr + HDR_SIG_AT + SIG_KEY;
    if (keys != NULL) {
        for (i = 0; i < keys->n; i++) {
            if (memcmp(keys->raw[i], raw, ED25519_KEY_LEN) == 0) {
                break;
            }
        }
        if (i == keys->n) {
            return hg_err_set(err, HG_EFORMAT, "%s: signed by %s, which is "
                              "not among the trusted keys in %s",
                              hg_db_path(db), info.key_id, keys->path);
        }
    }
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
                                       ED25519_KEY_LEN);
    if (pkey == NULL) {
        return hg_err_set(err, HG_EFORMAT, "%s: the signer's key (%s) is not "
                          "a valid Ed25519 key", hg_db_path(db), info.key_id);
    }
    if ((m = _message(hdr, len, &mlen)) == NULL) {
        EVP_PKEY_free(pkey);
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL
         && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1
         && EVP_DigestVerify(ctx, hdr + HDR_SIG_AT + SIG_VALUE,
                             ED25519_SIG_LEN, m, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(m);
    if (!ok) {
        return hg_err_set(err, HG_EFORMAT, "%s: the signature by %s does not "
                          "verify (the file was changed after it was "
                          "signed)", hg_db_path(db), info.key_id);
    }
    return HG_OK;
}

hg_status_t
hg_db_open_trusted(const char *path, unsigned flags, const hg_db_keys_t *keys,
                   hg_db_t **out, hg_err_t *err)
{
    hg_db_t      *db;
    hg_status_t   st;

    *out = NULL;
    if (keys != NULL) {
        flags |= HG_DB_OPEN_VERIFY;
    }
    if ((st = hg_db_open(path, flags, &db, err)) != HG_OK) {
        return st;
    }
    if (keys != NULL && (st = hg_db_check_signature(db, keys, err)) != HG_OK) {
        hg_db_close(db);
        return st;
    }
    *out = db;
    return HG_OK;
}
