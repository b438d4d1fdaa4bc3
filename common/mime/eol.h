/*
 * eol.h - convert the line ends of a part's bytes as they stream by.
 *
 * Internal to hashgate (milter and CLI), not part of the public API: see
 * common/mime/eol.c for why a part is hashed in a second line-end form.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_EOL_H
#define HASHGATE_EOL_H

#include <stddef.h>

#include "hashgate/status.h"

typedef enum {
    HG_EOL_TO_LF = 0,       /* each CRLF as LF; a bare CR or LF stays */
    HG_EOL_TO_CRLF          /* each bare LF as CRLF; CRLF, a bare CR stay */
} hg_eol_mode_t;

/* Where converted bytes go; a status other than HG_OK stops the converter. */
typedef hg_status_t (*hg_eol_out_t)(void *ctx, const unsigned char *buf,
                                    size_t len);

typedef struct {
    hg_eol_mode_t   mode;
    hg_eol_out_t    out;
    void           *ctx;
    int             cr;         /* the last byte seen was a CR (HG_EOL_TO_LF:
                                 * held back until the next byte says) */
    int             changed;    /* a line end was converted: the output
                                 * differs from the input */
} hg_eol_t;

/* Start a converter writing to out(ctx, ...). Never fails. */
void hg_eol_init(hg_eol_t *e, hg_eol_mode_t mode, hg_eol_out_t out,
                 void *ctx);

/* Convert the next bytes. Returns the first status out gave that was
 * not HG_OK (the converter is then spoiled for this object). */
hg_status_t hg_eol_update(hg_eol_t *e, const unsigned char *buf, size_t len);

/* End of the object: a CR held back is written. */
hg_status_t hg_eol_final(hg_eol_t *e);

/* An hg_eol_out_t for an open scan context: ctx is the hg_scan_t. */
hg_status_t hg_eol_out_scan(void *scan, const unsigned char *buf, size_t len);

/*
 * 1 if a part with this Content-Transfer-Encoding (NULL: none given) reaches
 * a reader without decoding: 7bit, 8bit, binary or anything unknown. Its
 * line ends are then whatever the transport or the mailbox made them.
 */
int hg_eol_undecoded(const char *encoding);

#endif
