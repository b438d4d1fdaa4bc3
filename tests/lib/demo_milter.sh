#!/bin/sh
# demo_milter.sh - the milter part of `make demo`: a private Postfix on
# loopback with hashgate-milter in front, a clean mail, a mail carrying a
# listed attachment, and one on a hold-list; shows the SMTP replies, the
# hold queue and the evidence record, then stops everything it started.
# Synthetic data only: the "listed" files are seeded random bytes.
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"

exec python3 - <<'EOF'
import json, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["HG_TOP"], "tests", "lib"))
import hgmilter as hm
from postfix import Postfix

def say(text=""):
    print(text, flush=True)

def step(text):
    say()
    say("--- " + text)

tmp = tempfile.mkdtemp(prefix="hg-demo-milter-")
os.chmod(tmp, 0o755)
m = pf = None
try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    step("1. Make two lists from synthetic files (seeded random bytes, never real material)")
    listed, review, clean = hm.blob(7001, 60_000), hm.blob(7002, 40_000), hm.blob(7003, 50_000)
    db = os.path.join(tmp, "demo.hgdb")
    hm.compile_db(db, {"demo-hotline": ([hm.sha256(listed)], "2026-11"),
                       "demo-review": [hm.sha256(review)]})
    say("    demo-hotline: sha256 %s  -> reject" % hm.sha256(listed))
    say("    demo-review:  sha256 %s  -> hold" % hm.sha256(review))

    step("2. Start hashgate-milter (runs as 'nobody') and a private Postfix on 127.0.0.1")
    m = hm.Milter(tmp, db, ListAction=["demo-hotline reject", "demo-review hold"],
                  LogLevel="notice")
    m.write_conf()
    say("    config (%s):" % m.conf)
    for line in open(m.conf).read().splitlines()[1:]:
        say("      " + line)
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "postfix"))
    pf.start()
    say("    Postfix smtpd on 127.0.0.1:%d, relaying to smtp-sink on :%d" % (pf.port, pf.sink_port))
    say("    main.cf: smtpd_milters = %s, milter_default_action = tempfail" % m.postfix_spec)

    step("3. A mail with a clean attachment")
    msg, mid = hm.msg_attach(clean, filename="holiday.jpg")
    code, text = pf.send(msg)
    say("    SMTP reply to DATA: %d %s" % (code, text))
    say("    delivered to the sink: %s" % ("yes" if pf.wait_delivered(1, 15) >= 1 else "no"))

    step("4. A mail whose attachment is on demo-hotline (action reject)")
    msg, mid = hm.msg_attach(listed, filename="IMG_0042.jpg")
    code, text = pf.send(msg, sender="someone@example.org", rcpts=("victim@example.net",))
    say("    SMTP reply to DATA: %d %s" % (code, text))
    say("    (the reply does not name the list; Postfix logged:)")
    for line in pf.log().splitlines():
        if "milter-reject" in line:
            say("    " + line[line.index("postfix/"):])

    step("5. A mail whose attachment is on demo-review (action hold)")
    msg, hid = hm.msg_attach(review, filename="scan.png", ctype="image/png")
    code, text = pf.send(msg)
    say("    SMTP reply to DATA: %d %s" % (code, text))
    say("    Postfix hold queue (postqueue -j):")
    for q in pf.queue_list():
        say("      queue_id=%s queue_name=%s sender=%s" % (q["queue_id"], q["queue_name"], q["sender"]))
    say("    (release with: postsuper -H QUEUE_ID, delete with: postsuper -d QUEUE_ID)")

    step("6. The evidence log (%s, mode 0%o), one JSON line per matching part"
         % (m.evidence, os.stat(m.evidence).st_mode & 0o777))
    for rec in m.records():
        say(json.dumps(rec, indent=2).replace("\n", "\n    ").join(["    ", ""]))

    step("7. The milter's own log lines for the matches")
    for line in m.log().splitlines():
        if "match " in line:
            say("    " + line)
finally:
    step("8. Stop everything and remove the temp dir")
    if pf is not None:
        pf.close()
    if m is not None:
        m.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    say("    done")
EOF
