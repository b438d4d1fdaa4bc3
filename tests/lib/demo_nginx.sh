#!/bin/sh
# demo_nginx.sh - the nginx part of `make demo`: a private nginx with the
# hashgate module in front of a small recording upstream; a clean and a
# listed upload, their status codes, the evidence record, then stop.
# Synthetic files only (seeded random bytes); the temp dir and every
# process started are removed by the harness (tests/lib/nginx.py).
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
HG_BIN=${HG_BIN:-$TOP/build}
export HG_TOP="$TOP" HG_BIN
[ -f "$HG_BIN/ngx_http_hashgate_module.so" ] || {
    echo "demo: $HG_BIN/ngx_http_hashgate_module.so is not built (run make)" >&2
    exit 1
}

exec python3 - <<'EOF_PY'
import json, os, subprocess, sys
sys.path.insert(0, os.path.join(os.environ["HG_TOP"], "tests", "lib"))
import nginx as N

HTTP = r"""
    hashgate_database {tmp}/demo.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location /upload/ { proxy_pass http://recorder; }
    }
"""

with N.Nginx(HTTP) as ng:
    known = N.payload(7001, 30000)
    clean = N.payload(7002, 30000)
    for name, data in (("known.jpg", known), ("holiday.jpg", clean)):
        with open(os.path.join(ng.tmp, name), "wb") as f:
            f.write(data)
    N.make_db(os.path.join(ng.tmp, "demo.hgdb"), {"demo-list": [known]})
    print("A list with the SHA-256 of one synthetic file (known.jpg), compiled"
          " with hashgate compile.")
    ng.start()
    print("Private nginx on 127.0.0.1:%d, 2 workers, hashgate on, proxying"
          " to a recording upstream." % ng.port)
    for name in ("holiday.jpg", "known.jpg"):
        cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
               "-F", "file=@%s;type=image/jpeg" % os.path.join(ng.tmp, name),
               "http://127.0.0.1:%d/upload/%s" % (ng.port, name)]
        print("\n$ curl -F file=@%s http://127.0.0.1:%d/upload/%s"
              % (name, ng.port, name))
        code = subprocess.run(cmd, capture_output=True, text=True).stdout
        print("HTTP %s" % code)
    print("\nWhat the upstream received:")
    for e in ng.recorder.entries():
        print("  %s %s %d bytes" % (e["method"], e["path"], e["bytes"]))
    print("\nEvidence record (%s):" % "evidence.jsonl")
    with open(os.path.join(ng.prefix, "evidence.jsonl")) as f:
        for line in f:
            print(json.dumps(json.loads(line), indent=2))
    print("\nnginx error log, hashgate lines:")
    for line in ng.error_log().splitlines():
        if "hashgate" in line:
            print("  " + line)
print("\nnginx stopped, temp dir removed.")
EOF_PY
