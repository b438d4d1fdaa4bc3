# SPDX-License-Identifier: BSD-2-Clause
"""ngfixture.py - the set-up the nginx module's upload tests share.

prepare() gives a private nginx (nginx.py, not started) what their configs
name: the database {tmp}/db.hgdb, compiled from payloads (bytes) or hex
digests, and a throwaway certificate {tmp}/cert.pem / {tmp}/key.pem for an
HTTP/2 listener; start() does that and starts it. The rest are the
questions every such test asks of the recorder (the upstream).
"""

import hashlib
import os
import subprocess

import nginx as N


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tls_cert(tmp):
    """A self-signed P-256 certificate, a day long, in tmp."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout",
                    os.path.join(tmp, "key.pem"), "-out",
                    os.path.join(tmp, "cert.pem")],
                   check=True, capture_output=True)


def prepare(ng, lists=None, hex_lists=None, tls=True):
    """Compile {tmp}/db.hgdb: lists maps a list name to payloads, hex_lists
    to hex digests (one of the two); make the certificate unless tls is
    False."""
    db = os.path.join(ng.tmp, "db.hgdb")
    if hex_lists is not None:
        N.make_db_from_hex(db, hex_lists)
    else:
        N.make_db(db, lists)
    if tls:
        tls_cert(ng.tmp)


def start(ng, lists=None, hex_lists=None, tls=True):
    prepare(ng, lists, hex_lists, tls)
    return ng.start()


def entries_for(ng, path, settle=0.3):
    """The recorder's entries for requests to path."""
    return [e for e in ng.recorder.entries(settle) if e["path"] == path]


def got_exact(ng, path, data):
    """(the upstream got data whole, once, byte for byte; its entries)"""
    es = entries_for(ng, path)
    return (len(es) == 1 and es[0]["complete"] and es[0]["sha256"] == sha(data)
            and es[0]["bytes"] == len(data)), es


def got_nothing_complete(ng, path):
    """(no request to path reached the upstream whole; its entries)"""
    es = entries_for(ng, path)
    return not any(e["complete"] for e in es), es
