# SPDX-License-Identifier: BSD-2-Clause
"""test_report.py - `hashgate report` on evidence logs written here: one
draft per mail and per request with every matched file, valid against the
schema (checked again here with xmllint), in NCMEC's element order; the
text and JSON forms; filters; rotated and compressed logs; a second run
drafts nothing new; and bad input (a torn last line, a record of an
unknown version, a log that is not ours, a bad field, an invalid draft, a
bad reporter configuration, a bad state file) named, skipped or refused,
never a wrong report.

The records are synthetic lines in the milter's and nginx's format (the
real servers write them in tests/integration/test_report_preserve.py).
"""
import gzip
import json
import lzma
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import TOP, Suite, both, md5, rand_bytes, sha256  # noqa: E402

t = Suite("report")
XSD = os.path.join(TOP, "cli", "cybertip.xsd")

CONF = """# who reports
Company     Example Hosting Inc.   # a trailing comment
FirstName   "Alice"
LastName    Abuse
Email       abuse@example.com
Phone       +1 555 0100
EspService  Example Mail
"""
t.write("reporter.conf", CONF)


def sha1(b):
    import hashlib
    return hashlib.sha1(b).hexdigest()


def digests(data):
    return {"md5": md5(data), "sha1": sha1(data), "sha256": sha256(data),
            "size": len(data)}


def mail_rec(time, qid, mid, data, part="2", filename="photo.jpg",
             lst="hotline-a", action="reject", extra=None):
    r = {"record_version": 1, "time": time, "channel": "smtp",
         "action": action, "monitor": False,
         "lists": [{"list": lst, "version": "2026-11", "algorithm": "sha256",
                    "digest": sha256(data), "label": None}]}
    r.update(digests(data))
    r.update({"part": part, "filename": filename,
              "declared_type": "image/jpeg", "detected_type": "image/jpeg",
              "encoding": "base64", "client_addr": "192.0.2.7",
              "client_name": "client.example", "helo": "client.example",
              "mail_from": "<sender@example.org>",
              "rcpt_to": ["<rcpt@example.net>", "<other@example.net>"],
              "message_id": mid, "queue_id": qid})
    r.update(extra or {})
    return json.dumps(r)


def http_rec(time, reqid, data, part=None, lst="hotline-a", action="reject"):
    r = {"record_version": 1, "time": time, "channel": "http",
         "action": action, "monitor": False,
         "lists": [{"list": lst, "version": "7", "algorithm": "sha256",
                    "digest": sha256(data), "label": None}]}
    r.update(digests(data))
    if part:
        r["part"] = part
        r["filename"] = "upload.bin"
    r.update({"client_addr": "198.51.100.4", "host": "up.example",
              "method": "POST", "uri": "/upload?x=1&y=<2>",
              "request_id": reqid})
    return json.dumps(r)


A = rand_bytes(1, 5000)
B = rand_bytes(2, 7000)
C = rand_bytes(3, 3000)
D = rand_bytes(4, 9000)
ZIP = rand_bytes(5, 12000)

lines = [
    mail_rec("2026-11-25T10:15:00.100Z", "4F2A81C0D3", "<m1@example.org>", A),
    mail_rec("2026-11-25T10:15:00.102Z", "4F2A81C0D3", "<m1@example.org>", B,
             part="3", filename="b.jpg"),
    # a file inside an archive: the archive is what gets uploaded
    mail_rec("2026-11-25T10:15:00.103Z", "4F2A81C0D3", "<m1@example.org>", C,
             part="4!x/c.jpg", filename="c.jpg",
             extra={"inner_path": "x/c.jpg", "containers": [
                 dict(path="4", format="zip", **digests(ZIP))]}),
    # an encrypted file nobody could check: not part of any report
    json.dumps({"record_version": 1, "time": "2026-11-25T10:15:00.104Z",
                "channel": "smtp", "action": "reject", "monitor": False,
                "lists": [], "size": 10, "part": "4!secret.jpg",
                "not_checked": "encrypted", "queue_id": "4F2A81C0D3",
                "message_id": "<m1@example.org>"}),
    http_rec("2026-11-26T08:00:00.000Z", "9c9c7b63aa11", D),
    mail_rec("2026-11-27T09:00:00.000Z", "7B1C", "<m2@example.org>", B,
             lst="local", action="hold"),
]
t.write("ev.log", "\n".join(lines) + "\n")


def report(*args, conf="reporter.conf", state="state", out="out"):
    a = ["report", "--settle", "0", "--now", "2027-01-01T00:00:00Z"]
    if conf:
        a += ["-c", conf]
    return t.run(*(a + ["-s", state, "-o", out] + list(args)))


def drafts(out="out"):
    d = t.path(out)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def xmllint(path, root=None):
    p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path],
                       capture_output=True, text=True)
    return p.returncode == 0, p.stderr


def parse(path):
    return ET.parse(path).getroot()


def tags(el):
    return [c.tag for c in el]


# ---- drafts ----

p = report("ev.log")
t.check(p.returncode == 0, "report drafts the incidents of a log (exit 0)",
        both(p))
names = drafts()
t.check(len(names) == 3, "one draft per mail and per request (3)", names)
mail = [n for n in names if "-smtp-4F2A81C0D3" in n]
http = [n for n in names if "-http-9c9c7b63aa11" in n]
t.check(len(mail) == 1 and mail[0].startswith("20261125T101500Z"),
        "a mail's draft is named by its time, channel and queue ID", names)
t.check(len(http) == 1, "a request's draft is named by its request ID", names)
t.check(all(re.search(r"drafted (smtp|http) \S+: .*\.xml", l)
            for l in p.stdout.decode().splitlines()) and
        len(p.stdout.decode().splitlines()) == 3,
        "each draft written is said on stdout", p.stdout)

ok_all = True
for n in names:
    good, err = xmllint(t.path("out", n))
    ok_all = ok_all and good
t.check(ok_all, "every draft is valid against cybertip.xsd (xmllint)", err)

m = parse(t.path("out", mail[0]))
t.check(m.tag == "cybertipDraft" and m.get("channel") == "smtp"
        and m.get("incident") == "smtp/4F2A81C0D3/<m1@example.org>",
        "the draft names its incident", m.attrib)
rep = m.find("report")
t.check(tags(rep) == ["incidentSummary", "internetDetails", "reporter",
                      "personOrUserReported", "intendedRecipient",
                      "intendedRecipient", "additionalInfo"],
        "report's elements come in NCMEC's order", tags(rep))
t.check(rep.findtext("incidentSummary/incidentType")
        == "Child Pornography (possession, manufacture, and distribution)"
        and rep.findtext("incidentSummary/incidentDateTime")
        == "2026-11-25T10:15:00.100Z",
        "incidentSummary: the incident type and the first record's time",
        ET.tostring(rep.find("incidentSummary")))
t.check(rep.findtext("internetDetails/emailIncident/emailAddress")
        == "sender@example.org"
        and "4F2A81C0D3" in rep.findtext("internetDetails/emailIncident/additionalInfo")
        and "<m1@example.org>" in rep.findtext("internetDetails/emailIncident/additionalInfo"),
        "a mail is an emailIncident with its sender, queue ID and Message-ID")
t.check(rep.findtext("reporter/reportingPerson/firstName") == "Alice"
        and rep.findtext("reporter/reportingPerson/email") == "abuse@example.com"
        and rep.findtext("reporter/companyTemplate") == "Example Hosting Inc.",
        "reporter comes from the reporter configuration")
pu = rep.find("personOrUserReported")
t.check(tags(pu) == ["personOrUserReportedPerson", "espService",
                     "ipCaptureEvent", "additionalInfo"]
        and pu.findtext("personOrUserReportedPerson/email") == "sender@example.org"
        and pu.findtext("ipCaptureEvent/ipAddress") == "192.0.2.7"
        and pu.findtext("ipCaptureEvent/eventName") == "Upload",
        "personOrUserReported: the envelope sender and the client's IP "
        "address at upload", ET.tostring(pu))
t.check([e.findtext("intendedRecipientPerson/email")
         for e in rep.findall("intendedRecipient")]
        == ["rcpt@example.net", "other@example.net"],
        "each envelope recipient is an intendedRecipient")
files = m.findall("file")
t.check(len(files) == 3, "every matched file of the mail is in the draft, "
        "the one not checked is not", len(files))
fd = files[0].find("fileDetails")
order = tags(fd)
t.check(order[:6] == ["fileName", "originalFileName", "uploadedToEspTimestamp",
                      "fileViewedByEsp", "publiclyAvailable",
                      "originalFileHash"]
        and order.index("ipCaptureEvent") > order.index("originalFileHash")
        and order[-1] == "additionalInfo",
        "fileDetails' elements come in NCMEC's order", order)
t.check(fd.findtext("fileViewedByEsp") == "false"
        and fd.findtext("publiclyAvailable") == "false",
        "fileViewedByEsp and publiclyAvailable are false")
hashes = {h.get("hashType"): h.text for h in fd.findall("originalFileHash")}
t.check(hashes == {"MD5": md5(A), "SHA1": sha1(A), "SHA256": sha256(A)},
        "originalFileHash: every digest with its hashType", hashes)
info = " ".join(e.text for e in fd.findall("additionalInfo"))
t.check('"hotline-a" (version 2026-11)' in info and "ev.log:1" in info,
        "additionalInfo names the list, its version and the record", info)
t.check(files[0].get("upload") == "sha256:" + sha256(A)
        and fd.findtext("originalFileName") == "photo.jpg",
        "the file to upload is known by its digest; its name is kept")
inner = files[2]
t.check(inner.get("upload") == "sha256:" + sha256(ZIP)
        and {h.get("hashType"): h.text for h in
             inner.findall("fileDetails/originalFileHash")}["SHA256"]
        == sha256(ZIP)
        and "x/c.jpg" in " ".join(e.text for e in inner.findall(
            "fileDetails/additionalInfo"))
        and sha256(C) in " ".join(e.text for e in inner.findall(
            "fileDetails/additionalInfo")),
        "a file inside an archive: the archive is uploaded, the file inside "
        "is named with its digests")

h = parse(t.path("out", http[0]))
t.check(h.findtext("report/internetDetails/webPageIncident/url")
        == "https://up.example/upload?x=1&y=<2>",
        "an upload is a webPageIncident with its URL",
        h.findtext("report/internetDetails/webPageIncident/url"))
t.check(h.find("report/personOrUserReported/personOrUserReportedPerson") is None
        and h.findtext("report/personOrUserReported/ipCaptureEvent/ipAddress")
        == "198.51.100.4",
        "an upload's reported user is its client address")
t.check(h.findtext("file/fileDetails/locationOfFile")
        == "https://up.example/upload?x=1&y=<2>",
        "an uploaded file's location is the URL it was sent to")
with open(t.path("out", mail[0]), "rb") as f:
    raw = f.read()
t.check(A not in raw and b"\x00" not in raw,
        "no content is in a draft")
st = os.stat(t.path("out", mail[0]))
t.check(st.st_mode & 0o777 == 0o640 and
        os.stat(t.path("out")).st_mode & 0o777 == 0o750,
        "drafts are 0640 in a 0750 directory",
        oct(st.st_mode))

# ---- state ----

p = report("ev.log")
t.check(p.returncode == 0 and p.stdout == b"" and len(drafts()) == 3
        and "3 drafted before" in p.stderr.decode(),
        "a second run drafts nothing new", both(p))
before = os.stat(t.path("out", mail[0])).st_mtime_ns
p = report("--again", "--incident", "4F2A81C0D3", "ev.log")
t.check(p.returncode == 0 and "drafted smtp 4F2A81C0D3" in p.stdout.decode()
        and len(p.stdout.decode().splitlines()) == 1
        and os.stat(t.path("out", mail[0])).st_mtime_ns != before,
        "--again drafts an incident again", both(p))
with open(t.path("state")) as f:
    state = f.read()
t.check(state.count("drafted\t") == 4 and os.stat(t.path("state")).st_mode
        & 0o777 == 0o600,
        "the state file records each draft (0600)", state)

# ---- text and json ----

p = report("-f", "text", "ev.log", conf=None)
out = p.stdout.decode()
t.check(p.returncode == 0 and out.count("incident ") == 3
        and "queue-id:   4F2A81C0D3" in out and "files:      3" in out
        and sha256(A) in out and "list:      hotline-a 2026-11, by sha256"
        in out and "drafted 20" in out,
        "--format text shows each incident, its files, digests, lists and "
        "state", out)
p = report("-f", "json", "ev.log", conf=None)
try:
    js = t.jsonl(p)
except ValueError as e:
    js = []
t.check(len(js) == 3 and js[0]["queue_id"] == "4F2A81C0D3"
        and len(js[0]["files"]) == 3
        and js[0]["files"][2]["containers"][0]["sha256"] == sha256(ZIP)
        and js[1]["request_id"] == "9c9c7b63aa11",
        "--format json: one incident a line with its files", p.stdout[:300])

# ---- filters ----

p = report("-f", "json", "--since", "2026-11-26", "--until", "2026-11-26",
           "ev.log", conf=None)
js = t.jsonl(p)
t.check([j["id"] for j in js] == ["9c9c7b63aa11"],
        "--since/--until (dates) select by the incident's time", js)
p = report("-f", "json", "--list", "local", "ev.log", conf=None)
js = t.jsonl(p)
t.check([j["id"] for j in js] == ["7B1C"],
        "--list selects files matched on that list", js)
p = report("-f", "json", "--incident", "m2@example.org", "ev.log", conf=None)
js = t.jsonl(p)
t.check([j["id"] for j in js] == ["7B1C"],
        "--incident takes a Message-ID (without its brackets)", js)
p = report("-f", "json", "--incident", "9c9c7b63aa11", "ev.log", conf=None)
t.check([j["id"] for j in t.jsonl(p)] == ["9c9c7b63aa11"],
        "--incident takes a request ID")
p = t.run("report", "--settle", "3600", "--now", "2026-11-25T10:30:00Z",
          "-f", "json", "-s", "state", "ev.log")
t.check(p.stdout == b"" and "younger than --settle" in p.stderr.decode(),
        "an incident whose records are too new is left for a later run",
        both(p))
p = t.run("report", "--since", "yesterday", "ev.log")
t.check(p.returncode == 2 and "--since" in p.stderr.decode(),
        "a time that is not one is refused", both(p))

# ---- rotated and compressed logs ----

os.makedirs(t.path("rot"))
with open(t.path("rot", "evidence.log"), "w") as f:
    f.write(lines[4] + "\n")
with open(t.path("rot", "evidence.log.1"), "w") as f:
    f.write(lines[5] + "\n")
with gzip.open(t.path("rot", "evidence.log.2.gz"), "wt") as f:
    f.write("\n".join(lines[0:2]) + "\n")
with lzma.open(t.path("rot", "evidence.log.3.xz"), "wt") as f:
    f.write(lines[2] + "\n")
p = report("-f", "json", "rot/evidence.log", conf=None, state="rotstate")
js = t.jsonl(p)
t.check(p.returncode == 0 and [j["id"] for j in js]
        == ["4F2A81C0D3", "9c9c7b63aa11", "7B1C"]
        and len(js[0]["files"]) == 3
        and "4 files" in p.stderr.decode(),
        "a log is read with its rotated gzip and xz files, one mail's "
        "records across them", both(p))
p = report("-f", "json", "--no-rotated", "rot/evidence.log", conf=None,
           state="rotstate")
t.check([j["id"] for j in t.jsonl(p)] == ["9c9c7b63aa11"],
        "--no-rotated reads only the file named")
p = report("-f", "json", "ev.log", "ev.log", conf=None, state="rotstate")
js = t.jsonl(p)
t.check(len(js) == 3 and len(js[0]["files"]) == 3,
        "a record read twice counts once", [len(j["files"]) for j in js])

# ---- bad input ----

torn = lines[4] + "\n" + lines[5][:len(lines[5]) // 2]
t.write("torn.log", torn)
p = report("torn.log", out="out-torn", state="state-torn")
err = p.stderr.decode()
t.check(p.returncode == 0 and "torn.log:2: torn last line" in err
        and "1 torn" in err and len(drafts("out-torn")) == 1,
        "a torn last line is named, skipped and counted; the rest drafted",
        both(p))

v2 = json.loads(lines[1])
v2["record_version"] = 2
t.write("v2.log", "\n".join([lines[0], json.dumps(v2), lines[4]]) + "\n")
p = report("v2.log", out="out-v2", state="state-v2")
err = p.stderr.decode()
t.check(p.returncode == 2 and "v2.log:2: a record of version 2" in err
        and re.search(r"incident smtp 4F2A81C0D3: refused, no draft written:"
                      r" .*v2\.log:2", err)
        and drafts("out-v2") == [n for n in names if "-http-" in n],
        "a record of an unknown version refuses its mail (named, exit 2); "
        "the other incidents are drafted", both(p))
p = report("-f", "text", "v2.log", conf=None, state="state-v2")
t.check("incident smtp 4F2A81C0D3: REFUSED" in p.stdout.decode(),
        "the text form shows the refused incident and why", p.stdout)

bad = json.loads(lines[4])
bad["sha256"] = "not a digest"
t.write("bad.log", json.dumps(bad) + "\n" + lines[5] + "\n")
p = report("bad.log", out="out-bad", state="state-bad")
err = p.stderr.decode()
t.check(p.returncode == 2 and "bad.log:1: a record that cannot be read: "
        "\"sha256\" is not a digest" in err
        and "incident http 9c9c7b63aa11: refused" in err
        and len(drafts("out-bad")) == 1,
        "a record with a bad field refuses its request, never drafts it "
        "without that file", both(p))

t.write("access.log", '192.0.2.1 - - [25/Nov/2026] "GET / HTTP/1.1" 200 5\n'
        * 30 + '{"time":"2026-11-25T10:00:00Z","level":"info"}\n')
p = report("access.log", out="out-foreign", state="state-foreign")
err = p.stderr.decode()
t.check(p.returncode == 0 and "access.log:1: not a hashgate record" in err
        and "21 more lines" in err and "31 not ours" in err
        and drafts("out-foreign") == [],
        "a log that is not ours: lines named (the first ten), counted, "
        "nothing drafted", both(p))

t.write("nokey.log", mail_rec("2026-11-25T10:15:00Z", None, None, A) + "\n")
p = report("nokey.log", out="out-nokey", state="state-nokey")
t.check("nokey.log:1: the record names neither a queue ID nor a Message-ID"
        in p.stderr.decode() and drafts("out-nokey") == [],
        "a matched record that names no mail is named and drafted nowhere",
        both(p))

# two mails known only by Message-IDs that make the same file name
t.write("names.log", mail_rec("2026-11-25T10:15:00.100Z", None, "<a/b@x>", A)
        + "\n" + mail_rec("2026-11-25T10:15:00.200Z", None, "<a_b@x>", B)
        + "\n")
p = report("names.log", out="out-names", state="state-names")
t.check(p.returncode == 0 and drafts("out-names") ==
        ["20261125T101500Z-smtp-a_b_x-2.xml", "20261125T101500Z-smtp-a_b_x.xml"],
        "two incidents whose names would be alike get a draft each",
        both(p) + str(drafts("out-names")))

p = report("missing.log", out="out-missing", state="state-missing")
t.check(p.returncode == 2 and "missing.log: no such file" in p.stderr.decode(),
        "a log that does not exist is an error", both(p))

# an invalid draft: a schema the drafts cannot meet stands in for a bug
with open(XSD) as f:
    strict = f.read().replace(
        'value="Child Pornography (possession, manufacture, and distribution)"',
        'value="Something else"')
t.write("strict.xsd", strict)
p = report("--xsd", "strict.xsd", "ev.log", out="out-strict",
           state="state-strict")
err = p.stderr.decode()
t.check(p.returncode == 2 and "no draft written: the draft from records "
        "ev.log:1, ev.log:2, ev.log:3 is not valid against the schema" in err
        and "incidentType" in err and drafts("out-strict") == [],
        "an invalid draft is an error naming its records, and no file",
        both(p))
t.check(not os.path.exists(t.path("state-strict")) or
        "drafted" not in open(t.path("state-strict")).read(),
        "an invalid draft is not recorded as drafted")

# ---- the reporter's configuration ----

for text, want in [
        (CONF + "Colour blue\n", "reporter.conf:8: unknown setting \"Colour\""),
        (CONF + "email x@y\n", "reporter.conf:8: Email given twice (first on "
         "line 5)"),
        (CONF.replace("Email       abuse@example.com\n", ""),
         "reporter.conf: Email is required"),
        (CONF.replace("abuse@example.com", "nobody"),
         "reporter.conf:5: Email: not an email address"),
        (CONF + "WebScheme ftp\n", "reporter.conf:8: WebScheme: WebScheme is "
         "https or http"),
        (CONF + "TermsOfService\n", "reporter.conf:8: TermsOfService has no value"),
        (CONF + 'CompanyTemplate "Suite #5\n', "reporter.conf:8: a quote "
         "that does not end")]:
    t.write("bad/reporter.conf", text)
    p = report("ev.log", conf="bad/reporter.conf", out="out-conf",
               state="state-conf")
    t.check(p.returncode == 2 and want in p.stderr.decode()
            and drafts("out-conf") == [],
            "a bad reporter configuration is named by file and line: "
            + want.split(": ", 1)[1], both(p))
p = report("ev.log", conf="nonexistent.conf", out="out-conf",
           state="state-conf")
t.check(p.returncode == 2 and "nonexistent.conf: cannot open" in
        p.stderr.decode(), "a missing reporter configuration is an error")

# ---- the state file ----

t.write("badstate", "# hashgate report state\nfrobbed\tx\t2026\n")
p = report("ev.log", state="badstate", out="out-bs")
t.check(p.returncode == 2 and "badstate:2: not a state event" in
        p.stderr.decode() and drafts("out-bs") == [],
        "a state file line this hashgate does not write stops the run",
        both(p))
t.write("tornstate", "# hashgate report state\ndrafted\tx\t2026")
p = report("ev.log", state="tornstate", out="out-bs")
t.check(p.returncode == 2 and "tornstate:2: the state file ends inside a line"
        in p.stderr.decode(), "a state file cut short stops the run", both(p))
import fcntl  # noqa: E402
with open(t.path("state"), "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    p = report("ev.log")
    t.check(p.returncode == 2 and "in use by another hashgate report run"
            in p.stderr.decode(), "two runs never use one state file at "
            "once", both(p))

# ---- a PDQ match: how near, the image's hash and quality, the entry ----

IMG = rand_bytes(6, 8000)
PDQ_IMG = "a5" * 16 + "0f" * 16         # the image's hash turned rotate90
PDQ_OWN = "5a" * 16 + "f0" * 16         # the image's own
PDQ_ENTRY = "a5" * 16 + "0e" * 16       # as listed
pdq_line = json.loads(mail_rec("2026-11-28T12:00:00.000Z", "9D3E",
                               "<pdq@example.org>", IMG, filename="cat.jpg",
                               lst="hotline-pdq"))
pdq_line["lists"] = [{"list": "hotline-pdq", "version": "2026-11",
                      "algorithm": "pdq", "digest": PDQ_IMG, "label": None,
                      "distance": 17, "dihedral": "rotate90",
                      "listed": {"pdq": PDQ_ENTRY, "quality": 92}}]
pdq_line["image"] = {"format": "jpeg", "width": 640, "height": 480,
                     "pdq": PDQ_OWN, "quality": 81}
t.write("pdq.log", json.dumps(pdq_line) + "\n")
p = report("pdq.log", out="out-pdq", state="state-pdq")
names = drafts("out-pdq")
info = []
if len(names) == 1:
    good, err = xmllint(t.path("out-pdq", names[0]))
    m = parse(t.path("out-pdq", names[0]))
    info = [e.text or "" for e in m.iter("additionalInfo")]
else:
    good, err = False, names
fileinfo = [x for x in info if x.startswith("Matched the list")]
t.check(p.returncode == 0 and good and len(fileinfo) == 1
        and "PDQ" in fileinfo[0] and PDQ_IMG in fileinfo[0]
        and "rotate90" in fileinfo[0] and "quality 81" in fileinfo[0]
        and "distance of 17 bits" in fileinfo[0]
        and PDQ_ENTRY in fileinfo[0] and "quality 92" in fileinfo[0],
        "a PDQ match's draft states the image's PDQ hash and quality, the "
        "distance and the entry matched (valid against the schema)",
        "%s %s %s" % (both(p), err, info))
t.check(any("by pdq at distance 17" in x for x in info),
        "the draft's summary of the file gives the PDQ distance", info)
p = report("-f", "text", "pdq.log", conf=None, out="out-pdq",
           state="state-pdq")
out = p.stdout.decode()
t.check(p.returncode == 0
        and "list:      hotline-pdq 2026-11, by pdq, distance 17 of 256 bits"
        in out
        and "pdq:       %s (of the image turned rotate90), quality 81" % PDQ_IMG in out
        and "entry:     pdq %s, quality 92" % PDQ_ENTRY in out,
        "--format text gives a PDQ match's distance, the image's hash and "
        "quality and the entry matched", out)
p = report("-f", "json", "pdq.log", conf=None, out="out-pdq",
           state="state-pdq")
try:
    js = t.jsonl(p)
    lm = js[0]["files"][0]["lists"][0]
except (ValueError, IndexError, KeyError):
    js, lm = [], {}
t.check(lm.get("algorithm") == "pdq" and lm.get("digest") == PDQ_IMG
        and lm.get("quality") == 81 and lm.get("distance") == 17
        and lm.get("dihedral") == "rotate90"
        and lm.get("listed") == {"pdq": PDQ_ENTRY, "quality": 92},
        "--format json gives a PDQ match's digest, quality, distance, "
        "dihedral and listed entry", p.stdout[:600])

p = t.run("report", "--help")
t.check(p.returncode == 0 and b"--incident" in p.stdout, "report --help")
t.done()
