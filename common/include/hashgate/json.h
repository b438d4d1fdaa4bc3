/*
 * json.h - a small JSON writer that never emits broken JSON.
 *
 * Builds one value (usually an object on one line) in a growing buffer.
 * Every string is escaped; invalid UTF-8 is replaced by U+FFFD; control
 * characters become \uXXXX. Commas are placed by the writer. On allocation
 * failure the writer remembers it and hg_json_done returns HG_ENOMEM.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_JSON_H
#define HASHGATE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/status.h"

#define HG_JSON_MAX_DEPTH  16

typedef struct {
    char           *buf;
    size_t          len;
    size_t          cap;
    int             oom;
    int             depth;
    int             need_comma[HG_JSON_MAX_DEPTH];
} hg_json_t;

void hg_json_init(hg_json_t *j);
void hg_json_reset(hg_json_t *j);      /* empty, keep the buffer */
void hg_json_free(hg_json_t *j);

void hg_json_obj_begin(hg_json_t *j);
void hg_json_obj_end(hg_json_t *j);
void hg_json_arr_begin(hg_json_t *j);
void hg_json_arr_end(hg_json_t *j);

/* An object key; the next call writes its value. */
void hg_json_key(hg_json_t *j, const char *key);

void hg_json_str(hg_json_t *j, const char *s);         /* NULL writes null */
void hg_json_strn(hg_json_t *j, const char *s, size_t n);
void hg_json_uint(hg_json_t *j, uint64_t v);
void hg_json_int(hg_json_t *j, int64_t v);
void hg_json_bool(hg_json_t *j, int v);
void hg_json_null(hg_json_t *j);

/* key + value shorthands */
void hg_json_kv_str(hg_json_t *j, const char *key, const char *s);
void hg_json_kv_uint(hg_json_t *j, const char *key, uint64_t v);

/* Append '\n' and check: HG_OK, or HG_ENOMEM / HG_EINVAL (unbalanced). */
hg_status_t hg_json_done(hg_json_t *j);

#endif
