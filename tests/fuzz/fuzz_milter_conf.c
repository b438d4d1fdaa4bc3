/*
 * fuzz_milter_conf.c - libFuzzer target for hashgate-milter's configuration
 * parser (milter/conf.c, hg_mconf_load).
 *
 * The input is the configuration file, written to a memfd and loaded by its
 * /proc path. A bad file must give an error ("path:line: reason"), never a
 * crash or a leak; hg_mconf_free must be safe whatever the outcome.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "milter.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int    fd = -1;
    static char   path[64];
    hg_mconf_t    conf;
    hg_err_t      err;

    if (fd < 0) {
        fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
        if (fd < 0) {
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t) size) {
        abort();
    }
    memset(&err, 0, sizeof(err));
    if (hg_mconf_load(path, &conf, &err) != HG_OK) {
        (void) strlen(err.msg);
    }
    hg_mconf_free(&conf);
    return 0;
}
