/*
 * json_echo.c - write stdin's bytes as JSON strings, for the round-trip test.
 *
 * Reads all of stdin (up to JSON_ECHO_MAX bytes) and writes one line:
 * {"s":<bytes>,"n":<length>,"k":{<bytes>:true}} through the hg_json writer,
 * so tests/cli/test_json_roundtrip.sh can parse it with Python's json module
 * and compare with Python's own UTF-8 decoding. Exit 1 if the writer fails.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>

#include "hashgate/json.h"

#define JSON_ECHO_MAX  (16 * 1024 * 1024)   /* bigger than any test input */

int
main(void)
{
    hg_json_t   j;
    char       *buf;
    size_t      n = 0, r;

    buf = malloc(JSON_ECHO_MAX);
    if (buf == NULL) {
        return 1;
    }
    while ((r = fread(buf + n, 1, JSON_ECHO_MAX - n, stdin)) > 0) {
        n += r;
    }
    hg_json_init(&j);
    hg_json_obj_begin(&j);
    hg_json_key(&j, "s");
    hg_json_strn(&j, buf, n);
    hg_json_kv_uint(&j, "n", n);
    hg_json_key(&j, "k");
    hg_json_obj_begin(&j);
    buf[n < JSON_ECHO_MAX ? n : n - 1] = '\0';
    hg_json_key(&j, buf);
    hg_json_bool(&j, 1);
    hg_json_obj_end(&j);
    hg_json_obj_end(&j);
    if (hg_json_done(&j) != HG_OK) {
        fprintf(stderr, "json_echo: writer failed\n");
        return 1;
    }
    fwrite(j.buf, 1, j.len, stdout);
    hg_json_free(&j);
    free(buf);
    return 0;
}
