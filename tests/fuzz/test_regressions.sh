#!/bin/sh
# test_regressions.sh - part of `make test`: build the fuzz targets (ASan,
# UBSan), replay every saved input in tests/fuzz/regressions/<target>/, and
# fuzz each target briefly from its generated seeds (FUZZ_SMOKE_SECONDS,
# default 2). One "ok"/"not ok" line per check; exit 1 on any failure.
# fuzz_nginx_conf (tests/fuzz/fuzz_nginx_conf.py: nginx -t with the module
# under ASan+UBSan) replays its saved configs, each against the expectation
# on its first line, and fuzzes for the same FUZZ_SMOKE_SECONDS.
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_BUILD:-$TOP/build-fuzz}
SECS=${FUZZ_SMOKE_SECONDS:-2}
export FUZZ_BUILD="$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
failed=0

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

if ! command -v clang > /dev/null; then
    echo "not ok - clang is installed (needed for the libFuzzer targets)"
    exit 1
fi
if sh "$TOP/tests/fuzz/build.sh" > "$TMP/build.log" 2>&1; then
    ok "fuzz targets build with clang, libFuzzer, ASan and UBSan"
else
    not_ok "fuzz targets build: $(tail -3 "$TMP/build.log" | tr '\n' ' ')"
    exit 1
fi
targets=$(cat "$OUT/targets.txt")
if ! python3 "$TOP/tests/fuzz/gen_seeds.py" "$TMP/seeds" "$OUT/bin/seed_db" \
        $targets > "$TMP/seeds.log" 2>&1; then
    not_ok "seed corpora generate: $(tail -3 "$TMP/seeds.log" | tr '\n' ' ')"
    exit 1
fi

# Saved inputs of targets that no longer exist are a mistake, not a skip.
for d in "$TOP"/tests/fuzz/regressions/*/; do
    [ -d "$d" ] || continue
    t=$(basename "$d")
    case " $(echo $targets) fuzz_nginx_conf " in
        *" $t "*) ;;
        *) not_ok "regressions/$t has a target to replay it (none built)" ;;
    esac
done

for t in $targets; do
    bin="$OUT/bin/$t"
    reg="$TOP/tests/fuzz/regressions/$t"
    if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
        n=$(ls -A "$reg" | wc -l)
        if "$bin" -timeout=10 -rss_limit_mb=1024 "$reg"/* > "$TMP/$t.replay" 2>&1; then
            ok "$t replays its $n saved crash inputs cleanly"
        else
            not_ok "$t crashes on a saved input: $(grep -m1 -E 'runtime error|==ERROR|deadly signal|SUMMARY' "$TMP/$t.replay" | head -c 200)"
            grep -E '^(==[0-9]+==ERROR|SUMMARY|    #[0-4] )' "$TMP/$t.replay" | head -8 | sed 's/^/#   /'
        fi
    fi
    mkdir -p "$TMP/corpus/$t" "$TMP/art/$t"
    if "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 \
            -artifact_prefix="$TMP/art/$t/" "$TMP/corpus/$t" "$TMP/seeds/$t" \
            > "$TMP/$t.fuzz" 2>&1; then
        ok "$t survives ${SECS}s of fuzzing from its generated seeds"
    else
        not_ok "$t crashed while fuzzing: $(grep -m1 -E 'runtime error|==ERROR|deadly signal|SUMMARY' "$TMP/$t.fuzz" | head -c 200) (input kept in build-fuzz/new-crashes/$t)"
        mkdir -p "$OUT/new-crashes/$t"
        cp "$TMP/art/$t/"* "$OUT/new-crashes/$t/" 2>/dev/null
        grep -E '^(==[0-9]+==ERROR|SUMMARY|    #[0-4] )' "$TMP/$t.fuzz" | head -8 | sed 's/^/#   /'
    fi
done

if sh "$TOP/tests/fuzz/build_nginx.sh" > "$TMP/nginx-build.log" 2>&1; then
    ok "the nginx module builds with gcc's ASan and UBSan for fuzz_nginx_conf"
    reg="$TOP/tests/fuzz/regressions/fuzz_nginx_conf"
    if [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
        # one line per saved config, from the script itself
        python3 "$TOP/tests/fuzz/fuzz_nginx_conf.py" --replay "$reg"/*.conf \
            > "$TMP/nginx.replay" 2>&1
        grep -E '^(not )?ok - |^#' "$TMP/nginx.replay"
        bad=$(grep -c '^not ok - ' "$TMP/nginx.replay")
        if [ "$((bad + $(grep -c '^ok - ' "$TMP/nginx.replay")))" = 0 ]; then
            not_ok "fuzz_nginx_conf replays its saved configs: $(tail -3 "$TMP/nginx.replay" | tr '\n' ' ')"
        fi
        failed=$((failed + bad))
    fi
    if python3 "$TOP/tests/fuzz/fuzz_nginx_conf.py" --seconds "$SECS" \
            --artifacts "$TMP/art/fuzz_nginx_conf" > "$TMP/nginx.fuzz" 2>&1; then
        ok "fuzz_nginx_conf: nginx -t does what the oracle says for ${SECS}s of generated configs ($(sed -n 's/^fuzz_nginx_conf: \([0-9]* configs\).*/\1/p' "$TMP/nginx.fuzz"))"
    else
        not_ok "fuzz_nginx_conf: $(grep -m1 '^finding:' "$TMP/nginx.fuzz" | head -c 300) (configs kept in build-fuzz/new-crashes/fuzz_nginx_conf)"
        mkdir -p "$OUT/new-crashes/fuzz_nginx_conf"
        cp "$TMP/art/fuzz_nginx_conf/"* "$OUT/new-crashes/fuzz_nginx_conf/" 2>/dev/null
        grep -E '^(finding:|fuzz_nginx_conf: )' "$TMP/nginx.fuzz" | head -8 | sed 's/^/#   /'
    fi
else
    not_ok "the nginx module builds for fuzz_nginx_conf: $(tail -3 "$TMP/nginx-build.log" | tr '\n' ' ')"
fi
[ "$failed" = 0 ]
