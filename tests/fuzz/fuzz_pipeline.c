/*
 * fuzz_pipeline.c - libFuzzer target for the whole path a mail takes in the
 * milter: hg_mail_scan (hg_unpack, hg_scan per part, block, copy and
 * line-end reading) -> libmagic -> hg_decide -> hg_verdict_merge ->
 * hg_record_format, with the part's attacker-chosen strings (path, file
 * name, types, encoding) in the record.
 *
 * A small database (built once, from synthetic strings) lists some bytes
 * the seeds contain, so matches and records happen. Every record must pass
 * the strict JSON validator; a part that cannot be scanned must never merge
 * into a clean verdict.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashgate/db.h"
#include "hashgate/decide.h"
#include "hashgate/magic.h"
#include "hashgate/mail_scan.h"
#include "hashgate/record.h"
#include "json_check.h"

#define FUZZ_MAX_TOTAL  (4 * 1024 * 1024)

/* Bytes the database lists; gen_seeds.py puts them in attachments. */
static const char *const listed[] = { "synthetic listed object one\n",
                                      "synthetic listed object two\n" };

typedef struct {
    hg_mail_scan_t *ms;
    hg_policy_t     policy;
    hg_verdict_t    merged;
    hg_json_t       j;
} px_t;

static hg_db_t     *db;
static hg_magic_t  *magic;

static void
init_once(void)
{
    hg_dbb_t       *b;
    hg_hash_t      *h;
    hg_digests_t    d;
    hg_entry_t      e;
    hg_err_t        err;
    uint32_t        blk, alw;
    char            path[64];
    size_t          i;

    b = hg_dbb_new();
    h = hg_hash_new();
    if (b == NULL || h == NULL
        || hg_dbb_list(b, "block-a", "v1", HG_LIST_BLOCK, &blk, &err) != HG_OK
        || hg_dbb_list(b, "allow-b", "", HG_LIST_ALLOW, &alw, &err) != HG_OK) {
        abort();
    }
    for (i = 0; i < 2; i++) {
        hg_hash_init(h, HG_ALGS_ALL);
        hg_hash_update(h, listed[i], strlen(listed[i]));
        hg_hash_final(h, &d);
        memset(&e, 0, sizeof(e));
        e.alg = i ? HG_ALG_MD5 : HG_ALG_SHA256;
        memcpy(e.digest, d.d[e.alg], hg_alg_len(e.alg));
        e.label = "synthetic \"label\"\n";
        hg_dbb_add(b, blk, &e);
        if (i == 1) {
            e.alg = HG_ALG_SHA1;
            memcpy(e.digest, d.d[e.alg], hg_alg_len(e.alg));
            hg_dbb_add(b, alw, &e);
        }
    }
    /* the mapping outlives the name */
    snprintf(path, sizeof(path), "/tmp/hg-fuzz-pipeline-%d.db", (int) getpid());
    if (hg_dbb_write(b, path, 1, &err) != HG_OK
        || hg_db_open(path, 0, &db, &err) != HG_OK) {
        abort();
    }
    unlink(path);
    hg_dbb_free(b);
    hg_hash_free(h);
    magic = hg_magic_new(&err);     /* NULL is tolerated by hg_magic_type */
}

/* One reading of an object: decided, merged, recorded as the milter does. */
static void
reading_done(px_t *p, const hg_mail_object_t *obj, const hg_mail_reading_t *rd)
{
    const hg_part_info_t  *info = obj->info;
    hg_verdict_t           v;
    hg_record_t            r;
    hg_status_t            st = rd->st;
    char                   type[128];

    v = hg_decide(&p->policy, st == HG_OK ? &rd->res : NULL, st);
    hg_verdict_merge(&p->merged, &v);
    if (st == HG_OK) {
        hg_magic_type(magic, rd->res.head, rd->res.head_len, type,
                      sizeof(type));
    } else {
        type[0] = '\0';
    }

    memset(&r, 0, sizeof(r));
    r.channel = "smtp";
    r.part = info->path;
    r.filename = info->filename;
    r.declared_type = info->content_type;
    r.detected_type = type;
    r.encoding = info->encoding;
    r.res = st == HG_OK ? &rd->res : NULL;
    r.verdict = &v;
    hg_record_add(&r, "field_name", info->field_name);
    hg_record_add(&r, "queue_id", "4XyzFUZZ");
    if (hg_record_format(&r, &p->j) != HG_OK
        || jc_validate(p->j.buf, p->j.len) != 0) {
        abort();
    }
}

static hg_status_t
object(void *ctx, const hg_mail_object_t *obj)
{
    px_t      *p = ctx;
    unsigned   i;

    if (obj->nreadings < 1 || obj->nreadings > HG_MAIL_READINGS) {
        abort();
    }
    for (i = 0; i < obj->nreadings; i++) {
        reading_done(p, obj, &obj->reading[i]);
    }
    return HG_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static px_t         p;
    hg_unpack_limits_t  lim;
    hg_err_t            err;
    hg_verdict_t        fail;
    hg_status_t         st = HG_OK;
    size_t              off, n, step;

    if (db == NULL) {
        init_once();
        p.ms = hg_mail_scan_new(db, 0);
        if (p.ms == NULL) {
            abort();
        }
        hg_json_init(&p.j);
    }
    if (size < 1) {
        return 0;
    }
    hg_policy_init(&p.policy);
    p.policy.monitor = data[0] & 1;
    p.policy.on_fail = (data[0] & 2) ? HG_FAIL_ACCEPT : HG_FAIL_TEMPFAIL;
    p.policy.on_fail_set = (data[0] >> 4) & 1;
    p.policy.default_action = (hg_action_t) (HG_ACT_LOG + (data[0] >> 2) % 4);
    step = (size_t) (data[0] >> 4) * 97 + 1;
    data++;
    size--;
    memset(&p.merged, 0, sizeof(p.merged));

    hg_unpack_limits_default(&lim);
    lim.max_total_bytes = FUZZ_MAX_TOTAL;
    if (hg_mail_scan_begin(p.ms, &lim, object, &p, &err) != HG_OK) {
        abort();
    }
    for (off = 0; off < size && st == HG_OK; off += n) {
        n = size - off < step ? size - off : step;
        st = hg_mail_scan_feed(p.ms, data + off, n, &err);
    }
    if (st == HG_OK) {
        st = hg_mail_scan_finish(p.ms, &err);
    }
    hg_mail_scan_abort(p.ms);

    /* what the milter does with a message it could not parse to the end */
    if (st != HG_OK) {
        fail = hg_decide(&p.policy, NULL, st);
        hg_verdict_merge(&p.merged, &fail);
        /*
         * unscanned must not look scanned: the failure shows, and under
         * OnFail tempfail nothing weaker than a tempfail decides; under
         * fail-open (accept) a part that matched a tag or log list before
         * the failure still gets its tag or record. Monitor mode without
         * an explicit OnFail fails open (hg_policy_fail_mode).
         */
        if (!p.merged.failed || p.merged.action == HG_ACT_NONE
            || (hg_policy_fail_mode(&p.policy) == HG_FAIL_TEMPFAIL
                && (p.merged.action == HG_ACT_LOG
                    || p.merged.action == HG_ACT_TAG
                    || p.merged.action == HG_ACT_ACCEPT)))
        {
            abort();
        }
    }
    return 0;
}
