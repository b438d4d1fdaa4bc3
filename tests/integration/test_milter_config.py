# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter start-up: -t, -V, configuration errors as file:line, and
the start-up decisions (no database, root without UserID) - what an
operator sees before any mail flows."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-conf-")
os.chmod(tmp, 0o755)


def run(*args, timeout=20):
    return subprocess.run([hm.MILTER] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def uids_of(pid):
    """Real, effective, saved and filesystem uid of a process, as text."""
    with open("/proc/%d/status" % pid) as f:
        return [ln for ln in f if ln.startswith("Uid:")][0].split()[1:]


def conf(text, name="m.conf"):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"),
                       {"testlist": [hm.sha256(hm.blob(1, 1000))]})
    base = ("Socket unix:%s/m.sock\nDatabase %s\nUserID nobody\n"
            "EvidenceLog %s/ev.log\n" % (tmp, db, tmp))

    p = run("-V")
    ok(p.returncode == 0 and p.stdout.startswith("hashgate-milter "),
       "-V prints the version", p.stdout + p.stderr)

    good = conf(base + "# a comment\n\nListAction testlist hold\n"
                "RejectReply \"554 5.7.1 Not accepted here\"\nMonitorOnly no\n"
                "MaxParts 50\nMaxMessageBytes 10M\nOnFail accept\n")
    p = run("-t", "-c", good)
    ok(p.returncode == 0 and "OK" in p.stdout,
       "-t on a good configuration exits 0 and says OK", p.stdout + p.stderr)

    # a FIPS-only openssl.cnf refusing a digest: the milter never runs
    # with one missing, and says which and why
    p = subprocess.run([hm.MILTER, "-t", "-c", good], capture_output=True,
                       text=True, timeout=20, env=dict(
                           os.environ, OPENSSL_CONF=os.path.join(
                               hm.TOP, "tests", "lib",
                               "openssl-refuses-sha.cnf")))
    ok(p.returncode == 1 and "OpenSSL refused sha1" in p.stderr
       and "unsupported" in p.stderr,
       "-t where OpenSSL refuses SHA-1 and SHA-256: exit 1, naming sha1 and "
       "OpenSSL's reason", p.stdout + p.stderr)

    ok(not os.path.exists(os.path.join(tmp, "ev.log")),
       "-t does not create the evidence log")
    p = run("-t", "-c", conf(base.replace(tmp + "/ev.log", tmp + "/no/dir/ev.log"),
                             "evdir.conf"))
    ok(p.returncode == 1 and "EvidenceLog" in p.stderr and "cannot be created" in p.stderr,
       "-t with an EvidenceLog that cannot be created: exit 1", p.stderr)

    cases = [
        ("unknown key", base + "Bogus yes\n", 5, "unknown key 'Bogus'"),
        ("bad action", base + "\nListAction testlist destroy\n", 6,
         "expected reject, hold, tag or log"),
        ("bad OnFail", base + "OnFail maybe\n", 5, "OnFail 'maybe'"),
        ("bad socket", "Socket tcp:25\n", 1, "Socket 'tcp:25'"),
        ("reply not 5xx", base + "RejectReply 250 2.0.0 fine\n", 5,
         "RejectReply"),
        ("key given twice", base + "Database /x\n", 5, "Database given twice"),
        ("bad number", base + "MaxParts lots\n", 5, "'lots' is not a number"),
        ("bad bool", base + "MonitorOnly perhaps\n", 5, "not yes or no"),
    ]
    for what, text, line, needle in cases:
        path = conf(text, "bad.conf")
        p = run("-t", "-c", path)
        want = "%s:%d: " % (path, line)
        ok(p.returncode == 1 and p.stderr.startswith(want) and needle in p.stderr,
           "-t, config with %s: exit 1, 'bad.conf:%d: ...%s...'"
           % (what, line, needle),
           "rc=%d stderr=%r" % (p.returncode, p.stderr))

    # a list given twice: refused naming both lines, as nginx -t does
    path = conf(base + "ListAction testlist hold\n# changed my mind\n"
                "ListAction testlist log\n", "twice.conf")
    p = run("-t", "-c", path)
    want = ('%s:7: ListAction: action for list "testlist" given twice: '
            "first at %s:5, again at %s:7\n" % (path, path, path))
    ok(p.returncode == 1 and p.stderr == want,
       "-t, ListAction given twice for a list: exit 1 naming both file:line",
       "rc=%d stderr=%r want %r" % (p.returncode, p.stderr, want))

    # one list-name rule: hashgate compile's, in its words (and nginx's,
    # test_nginx_conf.py)
    rule = 'bad list name "a/b": 1 to 64 characters of A-Z a-z 0-9 . _ -'
    path = conf(base + "ListAction a/b reject\n", "name.conf")
    p = run("-t", "-c", path)
    ok(p.returncode == 1
       and p.stderr == "%s:5: ListAction: %s\n" % (path, rule),
       "-t, ListAction for a name the database cannot hold: exit 1 with "
       "compile's rule", "rc=%d stderr=%r" % (p.returncode, p.stderr))
    listfile = conf(hm.sha256(hm.blob(2, 100)) + "\n", "l.txt")
    c = subprocess.run([hm.HASHGATE, "compile", "-o", os.path.join(tmp, "x.hgdb"),
                        "a/b=" + listfile], capture_output=True, text=True,
                       timeout=60)
    ok(c.returncode != 0 and rule in c.stderr,
       "hashgate compile refuses the same list name in the same words",
       "rc=%d stderr=%r" % (c.returncode, c.stderr))

    p = run("-t", "-c", conf("Socket unix:%s/m.sock\nUserID nobody\n" % tmp,
                             "nodb.conf"))
    ok(p.returncode == 1 and "Database is not set" in p.stderr,
       "-t without a Database line is an error", p.stderr)

    p = run("-t", "-c", conf(base.replace(db, tmp + "/missing.hgdb"),
                             "missing.conf"))
    ok(p.returncode == 1 and "missing.hgdb" in p.stderr,
       "-t with a missing database file: exit 1 naming the file", p.stderr)

    garbage = os.path.join(tmp, "garbage.hgdb")
    with open(garbage, "wb") as f:
        f.write(hm.blob(7, 4096))
    p = run("-t", "-c", conf(base.replace(db, garbage), "garbage.conf"))
    ok(p.returncode == 1 and "garbage.hgdb" in p.stderr,
       "-t with a garbage database file: exit 1", p.stderr)

    p = run("-t", "-c", conf(base.replace("UserID nobody\n", ""), "root.conf"))
    ok(p.returncode == 1 and "UserID is not set" in p.stderr,
       "started as root without UserID: refused", p.stderr)

    p = run("-t", "-c", conf(base.replace("nobody", "root"), "root2.conf"))
    ok(p.returncode == 1 and "is root" in p.stderr,
       "UserID root: refused", p.stderr)

    p = run("-t", "-c", conf(base.replace("nobody", "no-such-user-hg"),
                             "nouser.conf"))
    ok(p.returncode == 1 and "no such user" in p.stderr,
       "UserID naming no user: refused", p.stderr)

    # it runs as UserID, never root, once listening; and SIGTERM stops it
    m = hm.Milter(tmp, db)
    m.start()
    uids = uids_of(m.pid)
    ok(all(u == "65534" for u in uids),
       "the running milter's real/effective/saved uids are nobody's", str(uids))
    mode = os.stat(m.sock_path).st_mode & 0o777
    ok(mode == 0o666, "SocketMode 0666 applied to the unix socket", oct(mode))
    st = os.stat(m.evidence)
    ok(st.st_uid == 65534 and st.st_mode & 0o777 == 0o640,
       "the evidence log is 0640 and owned by the user the milter runs as",
       "uid %d mode %o" % (st.st_uid, st.st_mode & 0o777))
    m.send_signal(signal.SIGHUP)
    ok(m.wait_log("database reloaded") and m.alive(),
       "SIGHUP reloads the database and does not stop the milter", m.log())
    rc = m.stop()
    ok(rc == 0 and "stopping" in m.log(), "SIGTERM stops it cleanly (exit 0)",
       "rc=%s" % rc)

    # without -f: daemonises, writes PidFile, which it removes at exit
    # (the run directory belongs to the milter's user, as systemd makes it)
    run_dir = os.path.join(tmp, "run")
    os.makedirs(run_dir)
    shutil.chown(run_dir, hm.RUN_AS)
    pid_file = os.path.join(run_dir, "hashgate-milter.pid")
    m = hm.Milter(tmp, db, PidFile=pid_file, Syslog="no")
    m.write_conf()
    p = run("-c", m.conf)
    # no waiting: an init script reads the pid file as soon as we return
    pid = None
    try:
        with open(pid_file) as f:
            text = f.read()
        pid = int(text) if text.endswith("\n") else None
    except (OSError, ValueError):
        pass
    uid = None
    if pid is not None and os.path.exists("/proc/%d" % pid):
        uid = uids_of(pid)[1]
    ok(p.returncode == 0 and pid is not None and uid == "65534"
       and m._listening() and p.stderr == "",
       "without -f it returns 0 only once detached, listening, its pid in "
       "PidFile and running as UserID",
       "rc=%d pid %r euid %r %s" % (p.returncode, pid, uid, p.stderr))
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.05)
        ok(not os.path.exists("/proc/%d" % pid) and not os.path.exists(pid_file),
           "SIGTERM stops the daemon and its PidFile is removed")

    # a failure after the fork is the exit status, and says why
    m = hm.Milter(tmp, db, PidFile=os.path.join(tmp, "no-such-dir", "m.pid"),
                  Syslog="no")
    m.write_conf()
    p = run("-c", m.conf)
    gone = not m._listening()
    ok(p.returncode == 1 and "PidFile" in p.stderr and "no-such-dir" in p.stderr
       and gone,
       "without -f, a pid file it cannot write: exit 1 naming it, nothing "
       "left listening", "rc=%d listening %s: %s" % (p.returncode, not gone,
                                                      p.stderr))

    # inet socket: listens on the loopback port given
    m = hm.Milter(tmp, db, transport="inet")
    m.start()
    s = socket.create_connection(("127.0.0.1", m.port), timeout=2)
    s.close()
    ok(True, "Socket inet:PORT@127.0.0.1 listens on that port")
    m.stop(signal.SIGKILL)
    m = hm.Milter(tmp, db, transport="inet6")
    m.start()
    s = socket.create_connection(("::1", m.port), timeout=2)
    s.close()
    ok(True, "Socket inet6:PORT@::1 listens on that port")
    m.stop(signal.SIGKILL)
except Exception as e:  # a missing binary or server is a failure
    ok(False, "milter configuration tests ran", repr(e))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
