#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""gen_seeds.py - write the seed corpora of the fuzz targets.

Usage: gen_seeds.py OUTDIR SEED_DB_BINARY [TARGET...]

Every seed is generated here from synthetic data (seeded pseudo-random
digests, made-up names): no corpus is copied from anywhere. OUTDIR/<target>/
gets the seeds of each target that tests/fuzz/build.sh builds; the database
seeds are written by SEED_DB_BINARY (build-fuzz/bin/seed_db).
"""
import hashlib
import os
import random
import subprocess
import sys

R = random.Random(20261126)


def hexd(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def digest_of(i, alg):
    return hashlib.new(alg, b"synthetic object %d" % i).hexdigest()


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- JSON writer: raw strings; op programs (see fuzz_json.c) ----
def json_seeds():
    s = {
        "ascii": b"hello world",
        "escapes": b'a"b\\c/d\n\r\t\b\f\x01\x1f\x7f',
        "utf8": "caf\u00e9 \u20ac \U0001d11e \u2028".encode(),
        "invalid": b"\x80\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff",
        "truncated": b"abc\xe2\x82",
        # obj_begin, key "k", str "v", key "a", arr_begin, uint, null,
        # arr_end, obj_end
        "program": bytes([0x00, 0x84, 1]) + b"k" + bytes([0x85, 1]) + b"v"
                   + bytes([0x84, 1]) + b"a" + bytes([0x02, 0x87, 3, 0, 0, 0,
                                                      0x0A, 0x03, 0x01]),
        "deep": bytes([0x02] * 20 + [0x03] * 20),
    }
    return s


# ---- list readers ----
def text_list():
    lines = ["# synthetic list", ""]
    for i in range(6):
        lines.append(digest_of(i, ["md5", "sha1", "sha256"][i % 3]).upper()
                     if i % 2 else digest_of(i, ["md5", "sha1", "sha256"][i % 3]))
    lines += ["  " + hexd(32) + "  ", "not hex at all", hexd(31), hexd(64) + " trailing",
              "pdq:" + hexd(64), "PDQ:" + hexd(64).upper(), "pdq:" + hexd(32)]
    return ("\r\n".join(lines) + "\n").encode()


def pdq_list():
    out = ["# synthetic PDQ hashes", hexd(64)]
    for i in range(4):
        out.append("%s,%d,img-%d.jpg" % (digest_of(i, "sha256"), i * 30, i))
    out += ["%s,101" % hexd(64), "%s,x" % hexd(64), hexd(63), ""]
    return "\n".join(out).encode()


def clamav_list():
    out = []
    for i in range(5):
        out.append("%s:%d:Synthetic.Sig-%d" % (digest_of(i, "md5"), 1000 + i, i))
    out.append("%s:*:Synthetic.Any:73" % digest_of(9, "md5"))
    out.append("%s:2048:Synthetic.Sha1" % digest_of(7, "sha1"))
    out.append("%s:4096:Synthetic.Sha256" % digest_of(8, "sha256"))
    out += ["bad:line", "%s:-1:neg" % hexd(32), "%s::empty" % hexd(32), ""]
    return "\n".join(out).encode()


def csv_list():
    out = ['"id";"MD5";"SHA1";"SHA256";"note"']
    for i in range(4):
        out.append('%d;%s;%s;%s;"quoted; ""text"""' % (
            i, digest_of(i, "md5"), digest_of(i, "sha1"), digest_of(i, "sha256")))
    out.append("5;;;%s;" % digest_of(5, "sha256"))
    out.append('6;"unterminated;x;y;z')
    out.append("md5;pdq;quality;label")
    return ("\r\n".join(out) + "\r\n").encode()


def csv_list_comma():
    out = ["md5,size,label"]
    for i in range(4):
        out.append("%s,%d,cat-%d" % (digest_of(i, "md5"), 100 + i, i % 3))
    return ("\n".join(out) + "\n").encode()


def csv_list_pdq():
    out = ["md5,pdq,quality,label"]
    for i in range(3):
        out.append("%s,%s,%d,p-%d" % (digest_of(i, "md5"), digest_of(i, "sha256"),
                                      50 + i, i))
    out += [",%s,,x" % hexd(64), ",%s,200,y" % hexd(64)]
    return ("\n".join(out) + "\n").encode()


def jsonl_list():
    out = []
    for i in range(4):
        out.append('{"md5":"%s","sha1":"%s","size":%d,"label":"syn\\u00e9 %d"}' % (
            digest_of(i, "md5"), digest_of(i, "sha1"), 100 + i, i))
    out += ['{"pdq":"%s","quality":90,"md5":"%s"}' % (digest_of(5, "sha256"),
                                                     digest_of(5, "md5")),
            '{"pdq":"%s","quality":101}' % hexd(64),
            '{"sha256":"%s","label":null}' % digest_of(4, "sha256"),
            '{"md5":"%s","md5":"%s"}' % (hexd(32), hexd(32)),
            '{"md5": 12}', '[1,2]', '{"md5":"%s"} x' % hexd(32), '{']
    return ("\n".join(out) + "\n").encode()


def vic_list():
    media = []
    for i in range(3):
        media.append('{"MediaID":%d,"Category":%d,"MD5":"%s","SHA1":"%s","MediaSize":%d}' % (
            i, 1 + i % 3, digest_of(i, "md5").upper(), digest_of(i, "sha1").upper(), 500 + i))
    media.append('{"MediaID":"a-b","Category":2,"MD5":null,"SHA1":"%s"}' % digest_of(9, "sha1"))
    case = '{"CaseID":1,"Media":[%s]}' % media[0]
    doc = '{"odata.metadata":"synthetic","value":[%s,%s]}' % (",".join(media), case)
    return doc.encode()


def ncmec_lists():
    """NCMEC XML as the v2 entries API gives it, and in the encodings and
    constructs the reader must handle (declared Latin-1 and Windows-1252,
    UTF-16 with a byte order mark, CDATA, references, comments, a PI)."""
    ents = []
    for i in range(3):
        ents.append('<image><id>img-%d</id><classification>A%d</classification>'
                    '<fingerprints><md5>%s</md5><sha1>%s</sha1><pdna>AAAA</pdna>'
                    '</fingerprints></image>' % (i, i, digest_of(i, "md5"),
                                                 digest_of(i, "sha1")))
    ents.append('<image><id>p</id><fingerprints><pdq quality="80">%s</pdq>'
                '<fingerprint type="pdq">%s</fingerprint></fingerprints></image>'
                % (digest_of(6, "sha256"), digest_of(7, "sha256")))
    ents.append('<video deleted="true"><id>v&amp;1</id><fingerprints>'
                '<fingerprint type="SHA256"><![CDATA[%s]]></fingerprint>'
                '<tmk-pdqf rel="self"/></fingerprints></video>'
                % digest_of(3, "sha256"))
    ents.append('<deletedImage><id>9</id></deletedImage><!-- note -->'
                '<?pi data?>')
    body = ('<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">'
            '<images>%s</images><paging><next>/a?b=1&amp;c=&#x32;</next>'
            '</paging></queryResult>\n' % "\n".join(ents))
    latin = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<queryResult><images>'
             '<image><id>caf\xe9</id><fingerprints><md5>%s</md5></fingerprints>'
             '</image></images></queryResult>\n' % digest_of(5, "md5"))
    cp1252 = latin.replace("ISO-8859-1", "windows-1252").replace("\xe9", "\x80")
    return [('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(),
            latin.encode("latin-1"), cp1252.encode("latin-1"),
            b"\xff\xfe" + latin.replace("ISO-8859-1", "UTF-16").encode("utf-16-le"),
            b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>']


READER_SEEDS = {
    "text": [text_list()],
    "clamav": [clamav_list()],
    "csv": [csv_list(), csv_list_comma(), csv_list_pdq()],
    "pdq": [pdq_list()],
    "jsonl": [jsonl_list()],
    "vic": [vic_list()],
    "ncmec": ncmec_lists(),
}


def reader_seeds(name):
    files = READER_SEEDS.get(name)
    if files is None:       # a new reader: give it everything
        files = [f for v in READER_SEEDS.values() for f in v]
    out = {}
    # first byte: bit0 strict, bit1 warn, bit2 categories, bits3-4 file name
    name_bits = {"clamav": [1 << 3, 2 << 3], "csv": [3 << 3]}.get(name, [0])
    for k, f in enumerate(files):
        for mode in (0, 1, 2, 4):
            for nb in name_bits:
                out["seed-%d-%d-%d" % (k, mode, nb)] = bytes([mode | nb]) + f
    return out


# ---- MIME (the two first bytes: content type choice, chunk step) ----
B64 = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
              for _ in range(300))

MSGS = {
    "plain": "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello.\r\n",
    "mixed": (
        "From: a@example.org\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"=_b1\"\r\n\r\n"
        "preamble\r\n--=_b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 soft=\r\nbreak\r\n"
        "--=_b1\r\nContent-Type: image/jpeg; name=\"=?UTF-8?B?cGhvdG8uanBn?=\"\r\n"
        "Content-Disposition: attachment;\r\n filename*=UTF-8''ph%C3%B6to.jpg\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + B64[:76] + "\r\n" + B64[76:] + "\r\n"
        "--=_b1--\r\nepilogue\r\n"),
    "nested": (
        "Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n"
        "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
        "--inner\r\nContent-Type: text/plain\r\n\r\nx\r\n--inner\r\n"
        "Content-Type: text/html\r\n\r\n<b>y</b>\r\n--inner--\r\n--outer--\r\n"),
    "uuencode": (
        "Subject: uu\r\n\r\ntext before\r\nbegin 644 file.bin\r\n"
        "M9F]O8F%R9F]O8F%R9F]O8F%R9F]O8F%R9F]O8F%R9F]O8F%R9F]O8F%R9F]O\r\n"
        "#8F%R\r\n`\r\nend\r\ntext after\r\n"),
    "no-final-boundary": (
        "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + B64 + "\r\n"),
    "bare-lf": "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nlf only\n--q--\n",
    # parts after the close delimiter (reopened), inner and outer
    "epilogue-parts": (
        "Content-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\n"
        "Content-Type: multipart/related; boundary=I\r\n\r\n--I\r\n\r\na\r\n"
        "--I--\r\nepi\r\n--I\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + B64[:76] + "\r\n--I--\r\n--O--\r\n--O\r\n\r\nlate\r\n--O--\r\n"),
    # fields given twice: conflicting and harmless copies
    "twice": (
        "Content-Type: multipart/mixed; boundary=A; boundary*0=B\r\n"
        "Content-Type: multipart/mixed; boundary=\"A\"\r\n\r\n--A\r\n"
        "Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Type: application/pdf\r\nContent-Type: text/plain\r\n\r\n"
        + B64[:40] + "\r\n--B\r\n\r\nb\r\n--A--\r\n"),
    # quoted-printable with blanks ending its lines (two readings, so a
    # copy "1.d1"), a uuencoded block inside open at the same time
    "qp-padded": (
        "Content-Type: multipart/mixed; boundary=P\r\n\r\n--P\r\n"
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable"
        "\r\n\r\na=00b \t\r\ncd=  \r\nef\r\r\nbegin 644 u.bin\r\n#86)C \r\n"
        "`\r\nend \r\n--P\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        "\r\nno blanks=3D\r\nhere\r\n--P--\r\n"),
    # the same stored with LF: the line-end copies go to CRLF; a part with
    # soft breaks only, whose line-end copies decode the same
    "qp-lf": (
        "Content-Type: multipart/mixed; boundary=P\n\n--P\n"
        "Content-Transfer-Encoding: quoted-printable\n\nab \ncd=\nef\r\n"
        "g=  \n--P\nContent-Transfer-Encoding: quoted-printable\n\n"
        "=00=01=\n=02=0A\n--P--\n"),
}

FORMS = {
    "form": (
        "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
        "Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n" + "\x00" * 20 + "\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"f2\"; filename=\"b.bin\"\r\n"
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + B64[:100] + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"q\"; "
        "filename=\"q.txt\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "same bytes\r\nx=  \r\ny \r\n--XyZ--\r\n"),
    "form-cut": "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"c\"\r\n\r\nabc\r\n--Xy",
}


# ---- transfer decoders (first byte: chunk step and flags) ----
def decode_seeds(kind):
    import base64, binascii, quopri
    raw = bytes(R.getrandbits(8) for _ in range(200)) + "caf\u00e9 = \n".encode()
    if kind == "b64":
        # long runs of equal lines take the AVX2 / AVX-512 line-by-line paths
        long = base64.b64encode(raw * 8)
        lines = lambda n, eol: eol.join(long[i:i + n] for i in range(0, len(long), n))
        enc = [base64.encodebytes(raw), base64.b64encode(raw[:7]),
               b"QUJD\r\nRA==\r\n\r\ntrailing", b"!!garbage===",
               lines(76, b"\r\n") + b"\r\n--boundary--\r\n",
               lines(64, b"\n"), lines(32, b"\r\n"), long]
    elif kind == "qp":
        enc = [quopri.encodestring(raw), b"soft=\r\nbreak =3D =3d =ZZ =\n=",
               b"line  \r\nend=0"]
    else:
        body = b"".join(b"begin 644 f.bin\n" if i == 0 else b""
                        for i in range(1))
        lines = [binascii.b2a_uu(raw[i:i + 45]) for i in range(0, len(raw), 45)]
        enc = [body + b"".join(lines) + b"`\nend\n",
               b"junk\nbegin 600 x\n" + lines[0] + b"end\nbegin 644 y\n" + lines[1],
               b"".join(lines)]
    out = {}
    for k, e in enumerate(enc):
        for first in (0x00, 0x05, 0xFE, 0x13):
            out["seed-%d-%02x" % (k, first)] = bytes([first]) + e
    return out


# ---- hashgate-milter configuration files ----
def milter_conf_seeds():
    base = [
        "# synthetic configuration",
        "Socket          unix:/tmp/hg-fuzz.sock",
        "SocketMode      0660",
        "Database        /nonexistent/hashgate.db",
        "ListAction      hotline-a reject",
        "ListAction      local hold",
        "DefaultAction   tag",
        "MonitorOnly     no",
        'RejectReply     "550 5.7.1 Message rejected"',
        "TagHeader       X-Hashgate",
        "EvidenceLog     /tmp/evidence.log",
        "OnFail          accept",
        "ReloadInterval  60",
        "MaxDepth        20",
        "MaxParts        1000",
        "MaxHeaderBytes  256K",
        "MaxMessageBytes 10M",
        "DetectTypes     yes",
        "MilterTimeout   300",
        "LogLevel        debug",
        "SyslogFacility  mail",
    ]
    return {
        "full": ("\n".join(base) + "\n").encode(),
        "crlf": ("\r\n".join(base[:6]) + "\r\n").encode(),
        "inet": b"Socket inet:8891@127.0.0.1\nDatabase /x.db\nUserID nobody:nogroup\n",
        "bad": b"Socket\nMaxParts -1\nMaxHeaderBytes 99999999999999999999G\n"
               b"ListAction only-name\nUnknownKey 1\nRejectReply \"unterminated\n",
    }


def pipeline_seeds():
    import base64
    one = b"synthetic listed object one\n"
    two = b"synthetic listed object two\n"
    msg = (b"From: a@example.org\r\nMessage-ID: <x@example.org>\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: image/png; name=\"=?UTF-8?Q?na=C3=AFve=0A.png?=\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(one)
           + b"--b\r\nContent-Type: text/plain\r\n"
           b"Content-Disposition: attachment; filename*=UTF-8''%FF%C0%AF.txt\r\n\r\n"
           + two + b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nclean\r\n--b--\r\n")
    plain = b"Subject: x\r\n\r\n" + one
    out = {}
    for first in (0x00, 0x01, 0x06, 0x0F, 0xF3):
        out["mixed-%02x" % first] = bytes([first]) + msg
        out["plain-%02x" % first] = bytes([first]) + plain
    return out


def mime_seeds(which):
    out = {}
    src = MSGS if which == "message" else FORMS
    for name, text in src.items():
        data = text.encode("latin-1")
        for step in (0, 1, 255):
            out["%s-%d" % (name, step)] = bytes([0, step]) + data
    return out


def apibody_lazy_seeds():
    """The JSON bodies of apibody_seeds, and API records around a long
    string, with each scanner path and max_retained (the second byte, see
    fuzz_apibody_lazy.c)."""
    out = {}
    recs = ", ".join('{"id": %d, "name": "u%d", "t": ["a\\\\", "b\\""]}'
                     % (i, i) for i in range(40))
    for name, seed in apibody_seeds().items():
        if not name.startswith("json-"):
            continue
        body = seed[2:]
        out[name] = bytes([seed[0] & 0x70 | 4, 0x0d]) + body
        out[name + "-wrapped"] = (bytes([seed[0] & 0x70 | 1, 0x06])
                                  + b'{"r": [' + recs.encode() + b'], "x": '
                                  + body + b', "s": [' + recs.encode() + b']}')
    return out


def apibody_seeds():
    """JSON and form bodies with base64 and data: URL values (synthetic
    bytes); the first byte picks the mode and limits, the second the feed
    sizes (see fuzz_apibody.c)."""
    import base64
    import urllib.parse
    f = bytes(R.getrandbits(8) for _ in range(300))
    b = base64.b64encode(f).decode()
    u = base64.urlsafe_b64encode(f).decode().rstrip("=")
    lines = base64.encodebytes(f).decode().replace("\n", "\\n")
    slashed = b.replace("/", "\\/")
    json_bodies = {
        "member": '{"name": "a.jpg", "data": "%s"}' % b,
        "after": '[{"data": "%s", "x": {"name": "in"}, "filename": "b.png"}]' % b,
        "dataurl": '{"img": "data:image/png;base64,%s", "t": "data:,x"}' % b,
        "urlsafe": '{"u": "%s", "lines": "%s", "esc": "%s"}' % (u, lines, slashed),
        "nested": '{"files": [{"content": "%s"}, [[0, "%s"]]], "a~/b": "%s"}'
                  % (b, b, b),
        "api": '[{"id": 1, "n": -0.5e+3, "ok": true, "no": false, "nil": null, '
               '"s": "text \\u00e9\\ud83d\\ude00 \\" q", "t": [1, 2, {}]}]',
        "bad": '{"a": "%s" "b": 01, [tru]}' % b,
        "truncated": '{"data": "%s' % b[:200],
        "deep": "[" * 120 + "]" * 120,
        "bom": "\ufeff{\"k\\u0000\": \"%s\"}" % b,
        "top": '"%s"' % b,
    }
    form_bodies = {
        "fields": "a=1&file=%s&c=x+y" % urllib.parse.quote(b, safe=""),
        "raw": "file=%s&u=%s" % (b, u),
        "dataurl": "img=%s" % urllib.parse.quote("data:image/jpeg;base64," + b),
        "pct": "t=%zz%4g" + "%41" * 200 + "&%=&&=x%",
        "text": "t=" + "hello+world%21+" * 100,
    }
    out = {}
    for name, body in json_bodies.items():
        for first in (0x00, 0x0a, 0x3e, 0x70, 0x80):
            out["json-%s-%02x" % (name, first)] = (bytes([first, 7])
                                                   + body.encode())
    for name, body in form_bodies.items():
        for first in (0x01, 0x0b, 0x3f, 0x71):
            out["form-%s-%02x" % (name, first)] = (bytes([first, 200])
                                                   + body.encode())
    return out


def archive_seeds():
    """Small archives of every kind tests/lib/archives.py makes (bombs
    scaled down to stay under the target's limits)."""
    import tempfile
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "lib"))
    import archives
    small = {"bomb-zip42": {"levels": 2, "copies": 3, "zeros": 4096},
             "bomb-overlap": {"files": 6, "zeros": 4096},
             "bomb-gzip": {"zeros": 65536},
             "zip-tar-zeros": {"zeros": 65536},
             "nested": {"depth": 3}}
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for kind in sorted(archives.KINDS):
            kw = {"seed": 3, "files": 2, "size": 300, "odd_names": True}
            kw.update(small.get(kind, {}))
            p = os.path.join(d, "a")
            archives.make(kind, p, **kw)
            with open(p, "rb") as f:
                out[kind] = f.read()
    return out


def image_seeds(seed_db):
    """Small synthetic images in every format and variant, written by
    seed_image (built beside seed_db from tests/fuzz/seed_image.c)."""
    import tempfile
    tool = os.path.join(os.path.dirname(seed_db), "seed_image")
    out = {}
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([tool, d], check=True)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                out[name] = f.read()
    return out


def evrec_seeds():
    """Record lines (byte 0 even) and whole logs, plain and gzip (odd)."""
    import gzip
    d1, d2 = hexd(64), hexd(64)
    mail = ('{"record_version":1,"time":"2026-11-25T10:15:00.123Z",'
            '"channel":"smtp","action":"reject","monitor":false,"lists":'
            '[{"list":"a","version":"1","algorithm":"sha256","digest":"%s",'
            '"label":null}],"md5":"%s","sha256":"%s","size":12,"part":'
            '"2!x.tar!y","inner_path":"y","filename":"n\\u00e9\\"",'
            '"containers":[{"path":"2","format":"zip","sha256":"%s",'
            '"size":40}],"client_addr":"192.0.2.1","client_name":null,'
            '"rcpt_to":["a@b","c@d"],"message_id":"<m@x>","queue_id":"Q"}'
            % (d1, hexd(32), d1, d2)).encode()
    http = ('{"time":"2026-11-25T10:15:00Z","channel":"http","action":'
            '"hold","lists":[{"list":"b","algorithm":"md5"}],"uri":"/a",'
            '"request_id":"r","held_at":"/h"}').encode()
    v2 = b'{"record_version":2,"time":"x","channel":"smtp","queue_id":"Q"}'
    log = mail + b"\n" + http + b"\n" + v2 + b"\n" + mail[:40]
    return {"mail": b"\x00" + mail, "http": b"\x00" + http,
            "v2": b"\x00" + v2, "broken": b"\x00" + mail[:-30],
            "log": b"\x01" + log, "log-gz": b"\x01" + gzip.compress(log)}


def main():
    # an option where the directory goes (`--help`) once wrote a tree of
    # seeds named after it into the repository
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: gen_seeds.py OUTDIR [SEED_DB [TARGET...]]")
    outdir = sys.argv[1]
    seed_db = sys.argv[2] if len(sys.argv) > 2 else None
    targets = sys.argv[3:] if len(sys.argv) > 3 else None
    gens = {"fuzz_json": json_seeds,
            "fuzz_evrec": evrec_seeds,
            "fuzz_unpack_message": lambda: mime_seeds("message"),
            "fuzz_unpack_formdata": lambda: mime_seeds("formdata"),
            "fuzz_milter_conf": milter_conf_seeds,
            "fuzz_pipeline": pipeline_seeds,
            "fuzz_decode_b64": lambda: decode_seeds("b64"),
            "fuzz_decode_qp": lambda: decode_seeds("qp"),
            "fuzz_decode_uu": lambda: decode_seeds("uu"),
            "fuzz_apibody": apibody_seeds,
            "fuzz_apibody_lazy": apibody_lazy_seeds,
            "fuzz_archive": archive_seeds,
            "fuzz_image": lambda: image_seeds(seed_db)}
    known = targets or (list(gens) + ["fuzz_db_open"]
                        + ["fuzz_reader_%s" % r for r in READER_SEEDS])
    for t in known:
        d = os.path.join(outdir, t)
        if t == "fuzz_db_open":
            if not seed_db:
                sys.exit("gen_seeds.py: fuzz_db_open needs the seed_db binary")
            os.makedirs(d, exist_ok=True)
            subprocess.run([seed_db, d], check=True)
            # and a few broken ones
            write(d, "garbage", bytes(R.getrandbits(8) for _ in range(600)))
            write(d, "short", b"HGDB")
            continue
        if t.startswith("fuzz_reader_"):
            seeds = reader_seeds(t[len("fuzz_reader_"):])
        elif t in gens:
            seeds = gens[t]()
        else:
            continue
        for name, data in seeds.items():
            write(d, name, data)


if __name__ == "__main__":
    main()
