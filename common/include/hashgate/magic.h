/*
 * magic.h - name an object's true type with libmagic.
 *
 * A libmagic cookie is not thread-safe: each thread or worker owns one
 * hg_magic_t. Loading the magic database takes milliseconds, so create one
 * per thread/process, not per object.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_MAGIC_H
#define HASHGATE_MAGIC_H

#include <stddef.h>

#include "hashgate/status.h"

typedef struct hg_magic_s hg_magic_t;

/* NULL with err set when libmagic cannot load its database. */
hg_magic_t *hg_magic_new(hg_err_t *err);
void hg_magic_free(hg_magic_t *m);

/*
 * MIME type ("image/png") of the leading bytes of an object, copied into out
 * (size outlen). Gives "application/octet-stream" when libmagic cannot tell,
 * and "" when m is NULL.
 */
void hg_magic_type(hg_magic_t *m, const void *head, size_t len, char *out,
                   size_t outlen);

#endif
