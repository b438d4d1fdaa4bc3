#!/bin/sh
# test_valgrind.sh - valgrind memcheck over the hashgate CLI and over
# hashgate-milter serving mail through a private Postfix.
#
# Each run is memcheck with --error-exitcode=99 --leak-check=full
# --errors-for-leak-kinds=definite: any invalid read or write, use of an
# uninitialised value, bad free or definitely lost block makes the run exit
# 99 and its check fail with the start of valgrind's report. Error paths are
# run too (a refused list, a garbage database, a limit hit), since that is
# where cleanup is usually forgotten. All data is synthetic: seeded random
# bytes and lists made from their digests.
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${HG_BIN:-$TOP/${BUILD:-build}}
HG=$BIN/hashgate
MILTER=$BIN/hashgate-milter
export HG_TOP="$TOP" HG_BIN="$BIN"

T=$(mktemp -d /tmp/hg-valgrind-XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
trap 'exit 143' INT TERM

VG="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --num-callers=20 -q"
failed=0

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; failed=$((failed + 1)); }

# vg WHAT WANT CMD...: run CMD under memcheck in $T/data; WANT is the exit
# status the command itself must give.
vg() {
    what=$1 want=$2
    shift 2
    log=$T/vg.log
    (cd "$T/data" && $VG --log-file="$log" "$@" > "$T/out" 2> "$T/err")
    rc=$?
    if [ "$rc" = 99 ]; then
        notok "$what: memcheck reports errors: $(grep -m1 -A12 -E '(Invalid|uninitialised|definitely lost|Mismatched|free)' "$log" | tr '\n' ' ' | cut -c1-900)"
    elif [ "$rc" != "$want" ]; then
        notok "$what: exit $rc, expected $want: $(head -c 400 "$T/err" | tr '\n' ' ')"
    else
        ok "$what: exit $want, 0 memcheck errors, nothing definitely lost"
    fi
}

for tool in valgrind "$HG" "$MILTER"; do
    if ! command -v "$tool" > /dev/null 2>&1; then
        notok "$tool is installed and built"
        exit 1
    fi
done

# ---- synthetic data: files, a list in every format, mail ----
mkdir -p "$T/data/files/sub"
python3 - "$T/data" <<'EOF' || { notok "test data generated"; exit 1; }
import base64, hashlib, os, random, sys
d = sys.argv[1]
def blob(seed, n): return random.Random(seed).randbytes(n)
def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
listed = [blob(9000 + i, 3000 + 111 * i) for i in range(8)]
md5 = [hashlib.md5(x).hexdigest() for x in listed]
sha1 = [hashlib.sha1(x).hexdigest() for x in listed]
sha256 = [hashlib.sha256(x).hexdigest() for x in listed]
w("listed.hex", sha256[0] + "\n")
os.makedirs(os.path.join(d, "lists"), exist_ok=True)
w("lists/text.txt", "# synthetic\n%s\n%s  # comment\n\n%s\n"
  % (md5[0], sha1[0], sha256[0]))
w("lists/sigs.hdb", "%s:%d:Synthetic.One\n" % (md5[1], len(listed[1])))
w("lists/sigs.hsb", "%s:*:Synthetic.Two:73\n" % sha256[2])
w("lists/export.csv", "MD5;SHA1;PhotoDNA;Category;FileName;FileSize\n"
  "%s;%s;;1;img_0003.jpg;%d\n" % (md5[3], sha1[3], len(listed[3])))
w("lists/vic.json", '{"odata.metadata": "x", "value": [{"MediaID": 1, '
  '"Category": 1, "MediaSize": %d, "MD5": "%s", "SHA1": "%s"}, '
  '{"CaseID": 7, "Media": [{"MediaID": 2, "Category": 2, "MD5": "%s"}]}]}'
  % (len(listed[4]), md5[4].upper(), sha1[4], md5[5]))
w("lists/items.jsonl", '{"sha256": "%s", "size": %d, "label": "six"}\n'
  '{"md5": "%s"}\n' % (sha256[6], len(listed[6]), md5[6]))
w("lists/ncmec.xml", '<?xml version="1.0"?>\n<queryResult xmlns="https://'
  'hashsharing.ncmec.org/hashsharing/v2"><images><image><id>i7</id>'
  '<classification>A1</classification><fingerprints><md5>%s</md5>'
  '<sha1>%s</sha1><pdna>AAAA</pdna></fingerprints></image><deletedImage>'
  '<id>i9</id><fingerprints><md5>%s</md5></fingerprints></deletedImage>'
  '</images></queryResult>\n' % (md5[7], sha1[7], md5[0]))
w("lists/bad.txt", "%s\nnot hex at all\n" % sha256[1])
w("garbage.db", blob(9100, 4096))
for i in range(4):
    w("files/clean-%d.bin" % i, blob(9200 + i, 1000 + 500 * i))
w("files/sub/listed.bin", listed[0])
w("files/sub/empty", b"")
import io, zipfile
def zipped(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()
w("arc.zip", zipped([("a/clean.bin", blob(9400, 3000)),
                     ("a/listed.bin", listed[0])]))
def b64(x):
    e = base64.b64encode(x).decode()
    return "\r\n".join(e[i:i + 76] for i in range(0, len(e), 76))
def msg(n, att):
    return ("From: a@example.org\r\nTo: b@example.net\r\nSubject: m%d\r\n"
            "Message-ID: <m%d@hashgate.test>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n'
            "--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\nhello =C3=A9\r\n"
            "--b%d\r\nContent-Type: application/octet-stream; "
            "name*=UTF-8''%%C3%%A9.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "%s\r\n--b%d--\r\n" % (n, n, n, n, n, b64(att), n))
w("mail.eml", msg(1, listed[2]))
w("mbox", "From a@example.org Thu Nov 26 00:00:00 2026\n" +
  msg(2, blob(9300, 2000)).replace("\r\n", "\n") +
  "\nFrom a@example.org Thu Nov 26 00:00:01 2026\n" +
  msg(3, listed[6]).replace("\r\n", "\n") + "\n")
deep = "--d40\r\nContent-Type: text/plain\r\n\r\nx\r\n--d40--\r\n"
for i in range(39, 0, -1):
    deep = '--d%d\r\nContent-Type: multipart/mixed; boundary="d%d"\r\n\r\n%s--d%d--\r\n' % (i, i + 1, deep, i)
w("deep.eml", "From: a@b\r\nMIME-Version: 1.0\r\n"
  'Content-Type: multipart/mixed; boundary="d1"\r\n\r\n' + deep)
EOF

# ---- the CLI ----
for f in text.txt sigs.hdb sigs.hsb export.csv vic.json items.jsonl ncmec.xml; do
    vg "compile of the ${f#*.} sample $f" 0 "$HG" compile -o "db-$f.hgdb" "l=lists/$f"
done
vg "compile of every sample into one database" 0 "$HG" compile -o all.hgdb \
    text=lists/text.txt clamav=lists/sigs.hdb clamav=lists/sigs.hsb \
    csv=lists/export.csv vic=lists/vic.json jsonl=lists/items.jsonl \
    ncmec=lists/ncmec.xml
vg "compile --base (incremental) with --remove" 0 "$HG" compile -o next.hgdb \
    --base all.hgdb --remove text=lists/text.txt more=lists/sigs.hdb
vg "compile --strict refusing a bad list" 2 "$HG" compile --strict -o bad.hgdb \
    bad=lists/bad.txt
vg "info --verify" 0 "$HG" info --verify all.hgdb
vg "info of a garbage database (refused)" 2 "$HG" info garbage.db
vg "diff of two databases" 1 "$HG" diff all.hgdb next.hgdb
vg "lookup of a listed and an unknown digest" 1 "$HG" lookup all.hgdb \
    "$(cat "$T/data/listed.hex")" 00112233445566778899aabbccddeeff
vg "scan of a directory of files (one listed)" 1 "$HG" scan -d all.hgdb files
vg "scan --json of files without a database (libmagic)" 0 "$HG" scan --json files/clean-0.bin files/sub/empty
vg "scan --json of an .eml (QP text, base64 attachment)" 1 "$HG" scan -d all.hgdb --json mail.eml
vg "scan of an mbox of two messages" 1 "$HG" scan -d all.hgdb mbox
vg "scan of a message past the depth limit (error path)" 2 "$HG" scan -d all.hgdb deep.eml
vg "scan of a zip holding a listed file (opened by the helper)" 1 "$HG" scan -d all.hgdb arc.zip
vg "scan - of a message on stdin" 1 sh -c "exec \"\$0\" scan -d all.hgdb - < mail.eml" "$HG"

# ---- the milter behind a private Postfix ----
# hgmilter.Milter starts the daemon itself (no command prefix), so its
# config writer is used and the daemon is started here under memcheck.
python3 - "$T" "$T/data/all.hgdb" <<'EOF'
import os, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["HG_TOP"], "tests", "lib"))
import hgmilter as hm
from postfix import Postfix

tmp, db = sys.argv[1], sys.argv[2]
base = os.path.join(tmp, "milter")
os.makedirs(base)
os.chmod(base, 0o755)
failed = 0
def ok(cond, what, why=""):
    global failed
    failed += not cond
    print("%s - %s%s" % ("ok" if cond else "not ok", what,
                         (": " + why) if why and not cond else ""), flush=True)

listed = hm.blob(9000 + 6, 3000 + 111 * 6)     # on list jsonl
vglog = os.path.join(base, "vg.log")
m = hm.Milter(base, db, MaxDepth="10")
m.write_conf()
err = open(m.stderr_path, "ab")
proc = subprocess.Popen(["valgrind", "--tool=memcheck", "--error-exitcode=99",
                         "--leak-check=full", "--errors-for-leak-kinds=definite",
                         "--show-leak-kinds=definite", "--num-callers=20",
                         "-q", "--log-file=" + vglog,
                         hm.MILTER, "-f", "-c", m.conf],
                        stdout=err, stderr=err)
m.proc = proc
pf = None
try:
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None and not m._listening():
        time.sleep(0.2)
    ok(m._listening(), "hashgate-milter under memcheck listens", m.log()[-300:])
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(base, "pf"),
                 extra_main="milter_content_timeout = 120s\n")
    pf.start()
    code, text = pf.send(hm.msg_plain()[0])
    ok(code == 250, "milter under memcheck: a clean mail is accepted", "%d %s" % (code, text))
    code, text = pf.send(hm.msg_attach(hm.blob(9301, 4000), encoding="x-uuencode")[0])
    ok(code == 250, "milter under memcheck: a clean uuencoded attachment is accepted", "%d %s" % (code, text))
    code, text = pf.send(hm.msg_attach(listed)[0])
    ok(code == 550, "milter under memcheck: a listed attachment is rejected", "%d %s" % (code, text))
    import io, zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x/clean.bin", hm.blob(9303, 2000))
        z.writestr("x/listed.bin", listed)
    code, text = pf.send(hm.msg_attach(b.getvalue(), filename="a.zip")[0])
    ok(code == 550, "milter under memcheck: a listed file inside a zip is rejected", "%d %s" % (code, text))
    code, text = pf.send(hm.msg_nested(hm.blob(9302, 100), levels=12)[0])
    ok(code == 451, "milter under memcheck: a mail past MaxDepth is tempfailed", "%d %s" % (code, text))
    hm.swap_db(db, {"again": [hm.sha256(listed)]})
    ok(m.wait_log("database reloaded", timeout=30),
       "milter under memcheck: a replaced database is reloaded", m.log()[-300:])
    code, text = pf.send(hm.msg_attach(listed)[0])
    ok(code == 550 and m.wait_log("list=again"),
       "milter under memcheck: after the reload the new list rejects",
       "%d %s" % (code, text))
finally:
    if pf is not None:
        pf.close()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err.close()
rc = proc.returncode
report = open(vglog, errors="replace").read() if os.path.exists(vglog) else ""
ok(rc == 0, "hashgate-milter under memcheck: exit 0 after SIGTERM, 0 errors, "
   "nothing definitely lost", "exit %s: %s" % (rc, " ".join(report.split())[:900]))
sys.exit(1 if failed else 0)
EOF
[ $? = 0 ] || failed=$((failed + 1))

[ "$failed" = 0 ]
