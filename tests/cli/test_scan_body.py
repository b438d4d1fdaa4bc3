# SPDX-License-Identifier: BSD-2-Clause
"""test_scan_body.py - `hashgate scan --json-body / --form-body`: a
captured request body read as the nginx module reads it. A synthetic file
(seeded random bytes) listed by SHA-256 is FOUND when sent as a JSON base64
field (named by a sibling after it), a data: URL, a URL-safe base64 field,
a url-encoded form field (escaped, and with '+' sent raw), and inside a zip
sent as a base64 field; each report names the JSON pointer or the field.
Clean API JSON has no part; a malformed body is scanned up to the fault
and says where it stopped (not an error); a limit is an error (exit 2)."""
import base64
import json
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import archives  # noqa: E402
from clihelp import Suite, both, out, rand_bytes, sha256  # noqa: E402

t = Suite("scan-body")

data = rand_bytes(2101, 20000)
other = rand_bytes(2102, 3000)
b64 = base64.b64encode(data).decode()

zres = archives.make("zip", t.path("in.zip"), seed=2103, files=2, size=3000)
zinner = sorted(zres)[0]
with open(t.path("in.zip"), "rb") as f:
    zbytes = f.read()

t.write("list.txt", sha256(data) + "\n" + zres[zinner] + "\n")
p = t.run("compile", "-o", "db", "blk=list.txt")
t.check(p.returncode == 0, "test database compiles", both(p))


def lines(p):
    return out(p).splitlines()


# ---- JSON ----
body = {"user": {"id": 7, "name": "jo"},
        "upload": {"data": b64, "size": len(data), "filename": "photo.jpg"},
        "img": "data:image/jpeg;base64," + b64,
        "files": [{"content": base64.b64encode(other).decode()},
                  {"content": base64.urlsafe_b64encode(data).decode()
                   .rstrip("=")}],
        "zip": base64.b64encode(zbytes).decode()}
t.write("body.json", json.dumps(body).replace("/", "\\/"))
p = t.run("scan", "-d", "db", "--json-body", "body.json")
want = ["body.json#/upload/data: blk FOUND", "body.json#/img: blk FOUND",
        "body.json#/files/0/content: OK", "body.json#/files/1/content: blk FOUND",
        "body.json#/zip: OK", "body.json#/zip!%s: blk FOUND" % zinner]
t.check(p.returncode == 1 and all(w in lines(p) for w in want),
        "JSON body: the listed file as a base64 field (with \\/ escapes), a "
        "data: URL, a URL-safe field and inside a zip field is FOUND under its "
        "JSON pointer; the other file is OK", both(p))

p = t.run("scan", "-d", "db", "--json", "--json-body", "body.json")
objs = t.jsonl(p)
by = {o.get("part"): o for o in objs if "part" in o}
up = by.get("/upload/data", {})
t.check(up.get("verdict") == "match" and up.get("field") == "data"
        and up.get("filename") == "photo.jpg" and up.get("encoding") == "base64"
        and up.get("sha256") == sha256(data) and up.get("size") == len(data)
        and "message" not in up,
        "--json: the part's pointer, field, the name that followed it, its "
        "encoding and digest", up)
t.check(by.get("/img", {}).get("declared_type") == "image/jpeg"
        and by.get("/files/1/content", {}).get("encoding") == "base64url",
        "--json: a data: URL's declared type; a URL-safe field's encoding",
        [by.get("/img"), by.get("/files/1/content")])
summ = [o for o in objs if o.get("body") == "json"]
t.check(len(summ) == 1 and summ[0].get("parts") == 5
        and "stopped" not in summ[0],
        "--json: a body summary with its part count, not stopped", summ)

# stdin
p = t.run("scan", "-d", "db", "--json-body", "-",
          stdin=json.dumps({"a": b64}).encode())
t.check(p.returncode == 1 and lines(p) == ["-#/a: blk FOUND"],
        "a body from stdin (--json-body -)", both(p))

# clean API JSON
api = [{"id": i, "name": "user %d" % i, "active": i % 2 == 0, "score": i * 1.5,
        "bio": "words " * 300, "tags": ["a", "b"], "ref": None}
       for i in range(50)]
t.write("api.json", json.dumps(api))
p = t.run("scan", "-d", "db", "--json-body", "api.json")
t.check(p.returncode == 0 and lines(p) == ["api.json: OK (no parts)"],
        "clean API JSON (short strings, numbers, long text): no part, exit 0",
        both(p))

# malformed and truncated
t.write("bad.json", '{"a": "%s", "b": 01, "c": "%s"}' % (b64, b64))
p = t.run("scan", "-d", "db", "--json-body", "bad.json")
off = len('{"a": "%s", "b": 0' % b64)
t.check(p.returncode == 1 and lines(p) == [
            "bad.json#/a: blk FOUND",
            "bad.json: BODY STOPPED at byte %d: invalid number (what came "
            "before was scanned)" % off],
        "malformed JSON: the part before the fault is FOUND, the report says "
        "where and why parsing stopped, nothing after it is read", both(p))
t.write("cut.json", '{"a": "%s' % b64[:8000])
p = t.run("scan", "-d", "db", "--json", "--json-body", "cut.json")
objs = t.jsonl(p)
t.check(p.returncode == 0 and len(objs) == 2
        and objs[0].get("size") == 6000 and objs[0].get("verdict") == "clean"
        and objs[1].get("stopped") == "truncated inside a string"
        and objs[1].get("stopped_at") == 7 + 8000,
        "truncated JSON: the cut part is checked with what it had, the body "
        "says truncated and where; not an error", both(p))

# limits
p = t.run("scan", "-d", "db", "--body-max-parts", "1", "--json-body",
          "body.json")
t.check(p.returncode == 2 and "body.json: ERROR part /img: more than 1 parts "
        "(max_parts)" in lines(p),
        "--body-max-parts: one part too many is an error naming the limit, "
        "exit 2", both(p))
p = t.run("scan", "-d", "db", "--body-max-depth", "2", "--json-body",
          "body.json")
t.check(p.returncode == 2 and "JSON nesting deeper than 2 (max_depth)"
        in out(p), "--body-max-depth: deeper nesting is an error", both(p))
p = t.run("scan", "-d", "db", "--body-max-decoded", "10K", "--json-body",
          "body.json")
t.check(p.returncode == 2 and "(max_decoded)" in out(p),
        "--body-max-decoded: more bytes decoded is an error", both(p))
p = t.run("scan", "-d", "db", "--body-min-bytes", "30000", "--json-body",
          "body.json")
t.check(p.returncode == 1 and lines(p) == ["body.json#/img: blk FOUND"],
        "--body-min-bytes: shorter base64 strings are no parts; a data: URL "
        "still is", both(p))
p = t.run("scan", "--body-min-bytes", "x", "--json-body", "body.json")
t.check(p.returncode == 2 and "body-min-bytes" in both(p),
        "a bad limit value is a usage error", both(p))

# ---- forms ----
form = "user=jo+e&file=%s&raw=%s&note=%s" % (
    urllib.parse.quote(b64, safe=""), b64,
    urllib.parse.quote("data:image/png;base64," + b64, safe=""))
t.write("form.txt", form)
p = t.run("scan", "-d", "db", "--form-body", "form.txt")
t.check(p.returncode == 1 and lines(p) == ["form.txt#file: blk FOUND",
                                           "form.txt#raw: blk FOUND",
                                           "form.txt#note: blk FOUND"],
        "form body: the listed file as an escaped base64 field, as one sent "
        "with raw '+', and as a data: URL is FOUND under the field's name",
        both(p))
t.write("small.txt", "a=1&b=two+words&c=%41")
p = t.run("scan", "-d", "db", "--form-body", "small.txt")
t.check(p.returncode == 0 and lines(p) == ["small.txt: OK (no parts)"],
        "small form fields are no parts", both(p))
text = ("Hello, world! " * 200).encode()
t.write("text.txt", "t=" + urllib.parse.quote_plus(text))
p = t.run("scan", "--json", "--form-body", "text.txt")
objs = t.jsonl(p)
t.check(p.returncode == 0 and objs[0].get("sha256") == sha256(text)
        and objs[0].get("encoding") == "url-encoded",
        "a long form field that is no base64 is a part as sent, decoded", objs)

p = t.run("scan", "-d", "db", "--json-body", "missing.json")
t.check(p.returncode == 2 and "missing.json" in out(p),
        "a missing body file is an error", both(p))

t.done()
