/*
 * limits.c - the defaults of archive inspection and the names its limits
 * are logged and recorded under (the same words as the config keys).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hashgate/inspect.h"

void
hg_inspect_limits_default(hg_inspect_limits_t *l)
{
    l->max_depth = HG_INSPECT_MAX_DEPTH;
    l->max_files = HG_INSPECT_MAX_FILES;
    l->max_bytes = HG_INSPECT_MAX_BYTES;
    l->max_file_bytes = HG_INSPECT_MAX_FILE_BYTES;
    l->max_ratio = HG_INSPECT_MAX_RATIO;
    l->timeout_ms = HG_INSPECT_TIMEOUT_MS;
    l->images = 0;
    hg_image_limits_default(&l->image);
}

const char *
hg_inspect_limit_name(hg_inspect_limit_t l)
{
    switch (l) {
    case HG_INSPECT_LIMIT_NONE:         return "none";
    case HG_INSPECT_LIMIT_DEPTH:        return "depth";
    case HG_INSPECT_LIMIT_FILES:        return "files";
    case HG_INSPECT_LIMIT_BYTES:        return "bytes";
    case HG_INSPECT_LIMIT_FILE_BYTES:   return "file size";
    case HG_INSPECT_LIMIT_RATIO:        return "ratio";
    case HG_INSPECT_LIMIT_TIME:         return "time";
    case HG_INSPECT_LIMIT_MEMORY:       return "memory";
    }
    return "unknown";
}
