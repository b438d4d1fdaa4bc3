/*
 * hash_par.h - helper threads that run one piece of work beside the caller
 * (private to hash.c; the public side is hg_hash_par_t in hashgate/hash.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_SCAN_HASH_PAR_H
#define HG_SCAN_HASH_PAR_H

#include <stddef.h>

#include "hashgate/hash.h"

typedef struct hg_par_helper_s hg_par_helper_t;

/* The size at which updates are split (hg_hash_par_new's min). */
size_t hg_hash_par_min(const hg_hash_par_t *par);

/*
 * An idle helper of par, now the caller's, or NULL when all are busy (the
 * caller then works alone: on a host whose helpers are taken, nothing is
 * waited for).
 */
hg_par_helper_t *hg_hash_par_take(hg_hash_par_t *par);

/* Run fn(arg) on the helper; the caller goes on with its own share. */
void hg_hash_par_start(hg_par_helper_t *w, void (*fn)(void *arg), void *arg);

/* Wait until fn has returned; the helper goes back to par. */
void hg_hash_par_join(hg_hash_par_t *par, hg_par_helper_t *w);

#endif
