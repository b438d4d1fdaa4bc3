#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_conf.py - `nginx -t` with the hashgate module refuses what it must.

Bad directive values and an unreadable, missing, truncated or garbage
database are refused with the config file and line; a good config passes.
List names and actions are checked as hashgate-milter -t checks them, a
list given twice naming both lines.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402

GOOD = r"""
    hashgate_database {tmp}/db.hgdb;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        %s
        location / { proxy_pass http://recorder; }
    }
"""


# hashgate compile's words for a name the database cannot hold
NAME_RULE = 'bad list name "%s": 1 to 64 characters of A-Z a-z 0-9 . _ -'


def line_of(path, needle):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    return -1


def refused(t, ng, http, needle, what, expect=None):
    rc, out, path = ng.test_conf(http)
    line = line_of(path, needle)
    where = "%s:%d" % (path, line)
    ok = rc != 0 and where in out and (expect is None or expect in out)
    t.check(ok, what, "rc %d, wanted %s%s in: %s" % (
        rc, where, " and '%s'" % expect if expect else "", out.strip()))


def main():
    t = N.Checks()
    ng = N.Nginx(recorder=False)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    t.done()


def run(t, ng):
    tmp = ng.tmp
    db = os.path.join(tmp, "db.hgdb")
    N.make_db(db, {"cam": [N.payload(1, 1000)]})
    with open(db, "rb") as f:
        good = f.read()

    rc, out, _ = ng.test_conf(GOOD % "")
    t.check(rc == 0, "nginx -t accepts a good hashgate config", out.strip())

    # a FIPS-only openssl.cnf refusing a digest: never run with one missing
    os.environ["OPENSSL_CONF"] = os.path.join(
        os.path.dirname(os.path.abspath(N.__file__)), "openssl-refuses-sha.cnf")
    try:
        refused(t, ng, GOOD % "", "hashgate_database",
                "nginx -t where OpenSSL refuses SHA-1 and SHA-256 fails at "
                "hashgate_database, naming sha1", expect="OpenSSL refused sha1")
    finally:
        del os.environ["OPENSSL_CONF"]

    rc, out, _ = ng.test_conf(GOOD % "hashgate_list_action cam hold;"
                              " hashgate_hold_path {tmp}/hold;"
                              " hashgate_evidence_log {tmp}/ev.jsonl;"
                              " hashgate_reject_status 451;"
                              " hashgate_on_error pass;"
                              " hashgate_max_parts 50;")
    t.check(rc == 0, "nginx -t accepts every directive with good values",
            out.strip())

    # the helper's limit is 32-bit ms: 2^32 + 1 ms once became 1 ms
    for v in ("4294967297ms", "61m"):
        refused(t, ng, GOOD % ("hashgate_archive_timeout %s;" % v),
                "hashgate_archive_timeout",
                "hashgate_archive_timeout %s (over an hour, as the milter's "
                "ArchiveTimeout) is refused with file:line" % v,
                "is more than 1h")
    rc, out, _ = ng.test_conf(GOOD % "hashgate_archive_timeout 1h;")
    t.check(rc == 0, "hashgate_archive_timeout 1h is accepted", out.strip())

    garbage = os.path.join(tmp, "garbage.hgdb")
    with open(garbage, "wb") as f:
        f.write(N.payload(7, 4096))
    refused(t, ng, (GOOD % "").replace("db.hgdb", "garbage.hgdb"),
            "hashgate_database", "a garbage database is refused with file:line",
            "hashgate_database")

    trunc = os.path.join(tmp, "trunc.hgdb")
    with open(trunc, "wb") as f:
        f.write(good[:len(good) // 2])
    refused(t, ng, (GOOD % "").replace("db.hgdb", "trunc.hgdb"),
            "hashgate_database", "a truncated database is refused with "
            "file:line", "hashgate_database")

    refused(t, ng, (GOOD % "").replace("db.hgdb", "missing.hgdb"),
            "hashgate_database", "a missing database is refused with file:line",
            "hashgate_database")

    # root reads any file: a directory stands in for an unreadable one
    os.mkdir(os.path.join(tmp, "dir.hgdb"))
    refused(t, ng, (GOOD % "").replace("db.hgdb", "dir.hgdb"),
            "hashgate_database", "an unreadable database (a directory) is "
            "refused with file:line", "hashgate_database")

    refused(t, ng, GOOD % "hashgate_list_action cam explode;",
            "hashgate_list_action", "an unknown action is refused",
            'bad action "explode": expected reject, hold or log')
    refused(t, ng, GOOD % "hashgate_list_action cam tag;",
            "hashgate_list_action", "tag, a mail action, is refused",
            'bad action "tag": expected reject, hold or log')
    refused(t, ng, GOOD % "hashgate_default_action tempfail;",
            "hashgate_default_action", "a fail verdict as default action is "
            "refused in the list actions' words",
            'hashgate_default_action: bad action "tempfail"')
    refused(t, ng, GOOD % "hashgate_list_action 'bad name' reject;",
            "hashgate_list_action", "a bad list name is refused",
            'bad list name "bad name"')
    # the rule of hashgate compile and hashgate-milter -t, in their words
    # (test_milter_config.py checks those two)
    refused(t, ng, GOOD % "hashgate_list_action a/b reject;",
            "hashgate_list_action", "a list name hashgate compile refuses is "
            "refused with compile's rule", NAME_RULE % "a/b")
    longest = "l" * 64
    rc, out, _ = ng.test_conf(GOOD % ("hashgate_list_action %s log;" % longest))
    t.check(rc == 0, "a list name of 64 characters (the database's limit) "
            "is accepted", out.strip())
    refused(t, ng, GOOD % ("hashgate_list_action %s log;" % (longest + "l")),
            "hashgate_list_action", "a list name of 65 characters is refused",
            "bad list name")

    # a list given twice in one block: refused, naming both lines
    rc, out, path = ng.test_conf(GOOD % "hashgate_list_action cam reject;\n"
                                 "        hashgate_list_action cam log;")
    first = line_of(path, "hashgate_list_action cam reject")
    again = line_of(path, "hashgate_list_action cam log")
    want = ('hashgate_list_action: action for list "cam" given twice: '
            "first at %s:%d, again at %s:%d" % (path, first, path, again))
    t.check(rc != 0 and want in out,
            "a list action given twice fails nginx -t naming both file:line",
            "rc %d, wanted '%s' in: %s" % (rc, want, out.strip()))
    # a location's own list actions replace the inherited ones: no repeat
    rc, out, _ = ng.test_conf(GOOD % "hashgate_list_action cam reject;\n"
                              "        location /x/ { hashgate_list_action cam "
                              "log; proxy_pass http://recorder; }")
    t.check(rc == 0, "a location may set its own action for a list the "
            "server sets", out.strip())
    refused(t, ng, GOOD % "hashgate_reject_status 200;",
            "hashgate_reject_status", "a reject status outside 400-599 is "
            "refused")
    refused(t, ng, GOOD % "hashgate_on_error maybe;", "hashgate_on_error",
            "a bad hashgate_on_error value is refused")
    refused(t, ng, GOOD % "hashgate_multipart yes;", "hashgate_multipart",
            "a bad flag value is refused")
    refused(t, ng, GOOD % "hashgate_max_parts 0;", "hashgate_max_parts",
            "a zero parser limit is refused")
    # the server-level line is the one indented twice
    refused(t, ng, GOOD % "hashgate_database {tmp}/db.hgdb;",
            "        hashgate_database",
            "hashgate_database inside server{} is refused", "not allowed")

    rc, out, path = ng.test_conf(GOOD % "hashgate_list_action nosuch log;")
    line = line_of(path, "nosuch")
    t.check(rc == 0 and "no list \"nosuch\"" in out
            and "%s:%d" % (path, line) in out,
            "a list action for a list not in the database is a warning with "
            "file:line", out.strip())

    rc, out, path = ng.test_conf(GOOD % "hashgate_list_action cam hold;")
    t.check(rc != 0 and "hashgate_hold_path" in out and path in out,
            "the hold action without hashgate_hold_path is refused",
            out.strip())

    rc, out, path = ng.test_conf(r"""
    server {
        listen 127.0.0.1:{port};
        hashgate on;
    }
""")
    t.check(rc != 0 and "hashgate_database" in out and path in out,
            "hashgate on without a database is refused", out.strip())


if __name__ == "__main__":
    main()
