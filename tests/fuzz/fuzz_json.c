/*
 * fuzz_json.c - libFuzzer target: whatever the bytes and whatever sequence
 * of writer calls, hg_json_* never emits broken JSON.
 *
 * The input is read as a little program: each op byte picks a writer call
 * (begin/end object or array, key, string, numbers, ...), and string calls
 * take their bytes from the input. When hg_json_done says HG_OK, the line
 * must pass the strict validator in tests/unit/json_check.h (valid UTF-8,
 * no raw controls, one value, one line). Separately the whole input is
 * written as one string and decoded back: bytes without invalid UTF-8 must
 * come back unchanged; ASCII always.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/json.h"
#include "json_check.h"

static void
check_round_trip(const uint8_t *data, size_t size)
{
    hg_json_t       j;
    unsigned char  *back;
    size_t          blen = 0, i;
    int             ascii = 1, fffd_in = 0, fffd_out = 0;

    hg_json_init(&j);
    hg_json_strn(&j, (const char *) data, size);
    if (hg_json_done(&j) != HG_OK) {
        abort();
    }
    if (jc_validate(j.buf, j.len) != 0) {
        abort();
    }
    /* each input byte becomes at most 6 output bytes (\u00XX) */
    back = malloc(j.len + 1);
    if (back == NULL) {
        abort();
    }
    if (jc_decode_string(j.buf, j.len - 1, back, &blen) != 0) {
        abort();
    }
    for (i = 0; i < size; i++) {
        ascii &= data[i] < 0x80;
    }
    for (i = 0; i + 2 < size; i++) {
        fffd_in += data[i] == 0xEF && data[i + 1] == 0xBF && data[i + 2] == 0xBD;
    }
    for (i = 0; i + 2 < blen; i++) {
        fffd_out += back[i] == 0xEF && back[i + 1] == 0xBF && back[i + 2] == 0xBD;
    }
    if (ascii || fffd_in == fffd_out) {
        /* nothing was replaced: the bytes must come back exactly */
        if (blen != size || memcmp(back, data, size) != 0) {
            abort();
        }
    } else if (fffd_out < fffd_in) {
        abort();
    }
    free(back);
    hg_json_free(&j);
}

static void
check_program(const uint8_t *data, size_t size)
{
    hg_json_t    j;
    size_t       i = 0, n;
    const char  *s;
    hg_status_t  st;

    hg_json_init(&j);
    while (i < size) {
        uint8_t op = data[i++];

        /* a string operand: a length byte, then that many bytes */
        n = 0;
        s = "";
        if (op & 0x80) {
            if (i < size) {
                n = data[i++];
            }
            if (n > size - i) {
                n = size - i;
            }
            s = (const char *) data + i;
            i += n;
        }
        switch (op & 0x0F) {
        case 0: hg_json_obj_begin(&j); break;
        case 1: hg_json_obj_end(&j); break;
        case 2: hg_json_arr_begin(&j); break;
        case 3: hg_json_arr_end(&j); break;
        case 4: {
            char *k = strndup(s, n);    /* keys are C strings */
            if (k != NULL) {
                hg_json_key(&j, k);
            }
            free(k);
            break;
        }
        case 5: hg_json_strn(&j, s, n); break;
        case 6: hg_json_str(&j, NULL); break;
        case 7: hg_json_uint(&j, (uint64_t) n * 0x0123456789ULL); break;
        case 8: hg_json_int(&j, -(int64_t) n * 0x0123456789LL); break;
        case 9: hg_json_bool(&j, (int) (n & 1)); break;
        case 10: hg_json_null(&j); break;
        case 11: hg_json_kv_uint(&j, "n", n); break;
        case 12: {
            char *v = strndup(s, n);
            if (v != NULL) {
                hg_json_kv_str(&j, "s", v);
            }
            free(v);
            break;
        }
        case 13: hg_json_reset(&j); break;
        default: break;
        }
    }
    st = hg_json_done(&j);
    if (st == HG_OK && jc_validate(j.buf, j.len) != 0) {
        abort();
    }
    if (st != HG_OK && st != HG_EINVAL && st != HG_ENOMEM) {
        abort();
    }
    hg_json_free(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_round_trip(data, size);
    check_program(data, size);
    return 0;
}
