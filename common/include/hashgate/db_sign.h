/*
 * db_sign.h - signed databases: Ed25519 keys, signing a database as it is
 * written, and checking the signature of one that is opened.
 *
 * A fleet maps the same compiled file on every node, distributed by the
 * operator's own tools; a signature lets each node refuse a file that did
 * not come from the list job (a mirror serving garbage, a half-finished
 * copy made by hand, an attacker who can write to the path). The
 * signature covers the header (format 3, docs/db-format.md), and the
 * header holds SHA-256 of the metadata and of every byte after it, so one
 * flipped byte anywhere in the file fails: the header's own checksums at
 * open, the whole-file one where the caller verifies it (both servers do
 * before they use a file; with a signature required that is not optional).
 *
 * Keys are PEM files OpenSSL writes and reads: the private key PKCS#8
 * ("BEGIN PRIVATE KEY", mode 0600), public keys SubjectPublicKeyInfo
 * ("BEGIN PUBLIC KEY"). A file of trusted keys may hold several, so a
 * fleet can roll to a new signing key without a flag day. A key is named
 * by its ID: "ed25519:" and the first 8 bytes of SHA-256 of the raw
 * 32-byte public key, in hex.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DB_SIGN_H
#define HASHGATE_DB_SIGN_H

#include <stddef.h>

#include "hashgate/db.h"
#include "hashgate/status.h"

#define HG_DB_KEY_ID_LEN    24      /* "ed25519:" + 16 hex digits */
#define HG_DB_MAX_KEYS      64      /* trusted keys in one file */

typedef struct hg_db_signer_s hg_db_signer_t;  /* a private key */
typedef struct hg_db_keys_s   hg_db_keys_t;    /* trusted public keys */

/*
 * Make a new key pair: the private key at path (created, never replaced,
 * mode 0600) and its public key at path ".pub" (mode 0644). *id (may be
 * NULL) gets the key's ID (HG_DB_KEY_ID_LEN + 1 bytes).
 */
hg_status_t hg_db_keygen(const char *path, char *id, hg_err_t *err);

/* Read a private key (Ed25519 only; HG_EFORMAT for anything else). */
hg_status_t hg_db_signer_load(const char *path, hg_db_signer_t **out,
                              hg_err_t *err);
void hg_db_signer_free(hg_db_signer_t *s);
const char *hg_db_signer_id(const hg_db_signer_t *s);

/*
 * Read the trusted public keys at path: one or more PEM public keys,
 * Ed25519 only; a file with none, or with anything else, is refused with
 * a message naming it.
 */
hg_status_t hg_db_keys_load(const char *path, hg_db_keys_t **out,
                            hg_err_t *err);
void hg_db_keys_free(hg_db_keys_t *k);
size_t hg_db_keys_count(const hg_db_keys_t *k);
const char *hg_db_keys_id(const hg_db_keys_t *k, size_t i);
const char *hg_db_keys_path(const hg_db_keys_t *k);

/*
 * Sign the database the builder writes (hg_dbb_write) with s, which must
 * outlive the write. The builder does not own it.
 */
void hg_dbb_set_signer(hg_dbb_t *b, const hg_db_signer_t *s);

/* What a database says of its signature. */
typedef struct {
    int     is_signed;
    char    key_id[HG_DB_KEY_ID_LEN + 1];   /* "" when unsigned */
} hg_db_sig_info_t;

/*
 * Read the signature block: HG_OK (unsigned, or signed: info says), or
 * HG_EFORMAT for a block that is not one this build writes. Checks
 * nothing cryptographic.
 */
hg_status_t hg_db_signature(const hg_db_t *db, hg_db_sig_info_t *info,
                            hg_err_t *err);

/*
 * Check that db is signed by one of keys and that the signature verifies
 * (over the header; its checksums cover the rest, see above: callers that
 * require a signature must also hg_db_verify or open with
 * HG_DB_OPEN_VERIFY). keys NULL: the signature must verify with the key it
 * names, trusted or not (`hashgate info --verify` without --key).
 * HG_EFORMAT with the reason: unsigned, signed by a key not in the file,
 * signature does not verify.
 */
hg_status_t hg_db_check_signature(const hg_db_t *db, const hg_db_keys_t *keys,
                                  hg_err_t *err);

/*
 * hg_db_open, and when keys is not NULL, the whole-file checksum (flags
 * gain HG_DB_OPEN_VERIFY) and hg_db_check_signature: what a server that
 * requires a signature does with every file it loads. On failure nothing
 * is left open and err says why.
 */
hg_status_t hg_db_open_trusted(const char *path, unsigned flags,
                               const hg_db_keys_t *keys, hg_db_t **out,
                               hg_err_t *err);

/* ---- below the API: the header block (db_write.c, tests) ---- */

/*
 * Sign a header of hdr_len bytes in place: the signature block is
 * written into it; everything else must be final. HG_EINVAL when the
 * header has no room for one (a format before 3).
 */
hg_status_t hg_db_sign_header(unsigned char *hdr, size_t hdr_len,
                              const hg_db_signer_t *s, hg_err_t *err);

#endif
