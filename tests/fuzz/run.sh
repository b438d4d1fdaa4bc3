#!/bin/sh
# run.sh - build the fuzz targets, generate their seeds, and fuzz each one
# for FUZZ_SECONDS (default 10), one after the other (`make fuzz`).
#
# The growing corpus lives in build-fuzz/corpus/<target>/ (kept between
# runs, never committed); the generated seeds in build-fuzz/seeds/<target>/.
# A crash leaves its input in build-fuzz/artifacts/<target>/: reproduce it
# with `build-fuzz/bin/<target> FILE`, fix it, and keep the input in
# tests/fuzz/regressions/<target>/ so tests/fuzz/test_regressions.sh
# replays it on every `make test`. FUZZ_TARGETS="a b" picks targets.
# FUZZ_TIMEOUT (default 10) is libFuzzer's -timeout, in wall-clock seconds:
# raise it for a campaign that may be paused (SIGSTOP) while the machine
# is needed for something else, or the pause is reported as a hang.
# fuzz_nginx_conf is no libFuzzer target: tests/fuzz/fuzz_nginx_conf.py runs
# Debian's nginx -t on generated configs with the module built under ASan
# and UBSan (tests/fuzz/build_nginx.sh, into build-fuzz/nginx-asan/); its
# findings are configs in build-fuzz/artifacts/fuzz_nginx_conf/, replayed
# with `fuzz_nginx_conf.py --replay FILE`.
# Prints one line per target with its CPU time and exits 1 if any crashed.
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_BUILD:-$TOP/build-fuzz}
SECS=${FUZZ_SECONDS:-10}
TIMEOUT=${FUZZ_TIMEOUT:-10}
export FUZZ_BUILD="$OUT"

sh "$TOP/tests/fuzz/build.sh" || { echo "fuzz: build failed" >&2; exit 2; }
targets=${FUZZ_TARGETS:-$(cat "$OUT/targets.txt") fuzz_nginx_conf}
lf_targets=$(for t in $targets; do [ "$t" = fuzz_nginx_conf ] || echo "$t"; done)
if [ "$lf_targets" != "$(echo $targets | tr ' ' '\n')" ]; then
    sh "$TOP/tests/fuzz/build_nginx.sh" || { echo "fuzz: nginx module build failed" >&2; exit 2; }
fi
rm -rf "$OUT/seeds"
if [ -n "$lf_targets" ]; then
    python3 "$TOP/tests/fuzz/gen_seeds.py" "$OUT/seeds" "$OUT/bin/seed_db" $lf_targets \
        || { echo "fuzz: seed generation failed" >&2; exit 2; }
fi

# CPU seconds (user + system) of this shell's finished children. `times`
# must run in this shell (a $(...) subshell has no children of its own).
child_cpu() {
    times > "$OUT/.times"
    tail -1 "$OUT/.times" | awk '{ s = 0; for (i = 1; i <= 2; i++) {
        split($i, p, "m"); s += p[1] * 60 + p[2] } printf "%.1f", s }'
}

# wall and cpu: seconds since t0 and CPU seconds since .c0, of the last target
cost() {
    wall=$(( $(date +%s) - t0 ))
    child_cpu > "$OUT/.c1"
    cpu=$(awk -v a="$(cat "$OUT/.c0")" -v b="$(cat "$OUT/.c1")" \
          'BEGIN { printf "%.0f", b - a }')
}

status=0
for t in $targets; do
    mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t" "$OUT/seeds/$t"
    log="$OUT/artifacts/$t/last-run.log"
    t0=$(date +%s)
    child_cpu > "$OUT/.c0"
    if [ "$t" = fuzz_nginx_conf ]; then
        python3 "$TOP/tests/fuzz/fuzz_nginx_conf.py" --seconds "$SECS" \
            --artifacts "$OUT/artifacts/$t" > "$log" 2>&1
        rc=$?
        cost
        runs=$(sed -n 's/^fuzz_nginx_conf: \([0-9]* configs ([^)]*)\).*/\1/p' "$log")
        if [ "$rc" = 0 ]; then
            echo "fuzz $t: ok, ${wall}s wall, ${cpu}s CPU, ${runs:-? configs}"
        else
            status=1
            echo "fuzz $t: FINDINGS (exit $rc), see $log and $OUT/artifacts/$t/"
            grep -E '^finding:|^fuzz_nginx_conf: [0-9]' "$log" | head -8 | sed 's/^/    /'
        fi
        continue
    fi
    # -timeout: a single input taking that long is a hang worth keeping;
    # -rss_limit_mb: the parsers promise bounded memory.
    "$OUT/bin/$t" -max_total_time="$SECS" -timeout="$TIMEOUT" -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
        "$OUT/corpus/$t" "$OUT/seeds/$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    cost
    if [ "$rc" = 0 ]; then
        echo "fuzz $t: ok, ${wall}s wall, ${cpu}s CPU, ${execs:-?} runs, ${cov:-cov: ?}"
    else
        status=1
        echo "fuzz $t: CRASH (exit $rc), see $log and $OUT/artifacts/$t/"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|    #[0-3] )' "$log" | head -8 | sed 's/^/    /'
    fi
done
exit $status
