#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_packages.py - the packages an operator installs, used as installed.

Builds the .debs with packaging/build-deb.sh, checks them with lintian and
dpkg-deb, installs them with dpkg -i on this machine, then uses what was
installed: the packaged milter, started the way its systemd unit starts it
(as the hashgate user, with the shipped configuration, its socket in the
directory postinst made inside Postfix's chroot) in front of a private
Postfix; the packaged module, loaded through /etc/nginx/modules-enabled, in
a private nginx. A listed attachment and a listed upload must be stopped.
Then dpkg -r, a reinstall that must keep an edited conffile, dpkg -P, and
nothing left behind but the system user. Finally the .rpm built by
packaging/build-rpm.sh is inspected with rpm -qip / -qlp / -qp --scripts
and rpmlint (no error, no warning: packaging/rpm/rpmlint.toml filters what
is kept on purpose, with the reason).

Needs root. The system's postfix and nginx services are never started:
a policy-rc.d that exits 101 is in place during every dpkg run (and is
removed afterwards only if this test made it). Synthetic data only: the
"listed" items are seeded random bytes.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("HG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HG_BIN = os.environ.get("HG_BIN") or os.path.join(TOP, "build")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

import hgmilter as hm  # noqa: E402
import nginx as ngx  # noqa: E402
from postfix import Postfix  # noqa: E402

PKGS = ["hashgate-tools", "hashgate-milter", "libnginx-mod-http-hashgate"]
CONF = "/etc/hashgate/hashgate-milter.conf"
UNIT = "/lib/systemd/system/hashgate-milter.service"
SOCKDIR = "/var/spool/postfix/hashgate"
LOGDIR = "/var/log/hashgate"
NGX_LOGDIR = "/var/log/nginx/hashgate"
DBDIR = "/var/lib/hashgate"
HELPER = "/usr/libexec/hashgate/hashgate-inspect"
STORE = "/var/lib/hashgate/evidence"
XSD = "/usr/share/hashgate/cybertip.xsd"
MODCONF = "/usr/share/nginx/modules-available/mod-http-hashgate.conf"
MODLINK = "/etc/nginx/modules-enabled/50-mod-http-hashgate.conf"
POLICY = "/usr/sbin/policy-rc.d"
ABI_FILE = "/usr/share/nginx/src/debian/libnginx-mod.abisubstvars"

# How long dpkg may wait for another engineer's apt/dpkg run to finish.
DPKG_LOCK_WAIT = 180

# The packages are installed system-wide, so two runs of this test (from
# two build directories) must not overlap: one would purge what the other
# is using. A run waits this long for the one before it (each takes ~2.5
# minutes).
RUN_LOCK = "/run/lock/hashgate-test-packages.lock"
RUN_LOCK_WAIT = 600

LISTED = hm.blob("packages-listed", 150000)
CLEAN = hm.blob("packages-clean", 150000)

check = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-packages-")
os.chmod(tmp, 0o755)
made_policy = False
milter = None
pf = None
web = None
made_files = []      # what the test made in the packages' directories


def run(args, timeout=600, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def dpkg(*args):
    """dpkg with a wait for the lock another apt/dpkg run may hold."""
    deadline = time.time() + DPKG_LOCK_WAIT
    while True:
        r = run(["dpkg"] + list(args),
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode == 0 or "lock" not in r.stderr \
                or time.time() > deadline:
            return r
        time.sleep(2)


def status(pkg):
    r = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return r.stdout.strip() if r.returncode == 0 else "not-installed"


def purge_all():
    present = [p for p in PKGS if status(p) != "not-installed"]
    if present:
        dpkg("--purge", *present)


def mode_owner(path):
    st = os.lstat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def leftovers(paths):
    return [p for p in paths if os.path.lexists(p)]


def unit_settings(path):
    """Key=value lines of the unit's [Service] section (last one wins)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k] = v
    return out


class PackagedMilter:
    """/usr/sbin/hashgate-milter started as the installed unit starts it."""

    def __init__(self, conf, stderr_path):
        u = unit_settings(UNIT)
        self.user, self.group = u.get("User"), u.get("Group")
        cmd = u["ExecStart"].split()
        cmd[cmd.index("-c") + 1] = conf
        self.cmd = ["setpriv", "--reuid=" + self.user,
                    "--regid=" + self.group, "--init-groups"] + cmd
        self.stderr_path = stderr_path
        self.proc = None

    def start(self, sock, timeout=10):
        self.err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.err,
                                     stderr=self.err)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(sock):
                return True
            time.sleep(0.05)
        return False

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class PackagedNginx(ngx.Nginx):
    """The private nginx of tests/lib/nginx.py, loading the module the way
    the system's nginx.conf does: through modules-enabled, whose
    load_module path is relative to nginx's prefix."""

    def render(self, http):
        text = super().render(http)
        return text.replace("load_module %s;" % ngx.MODULE,
                            "include %s;" % MODLINK)


def is_bsd2(text):
    """Whether text grants the BSD 2-Clause licence of LICENSE."""
    return ("2026 The hashgate authors" in text
            and "Redistribution and use in source and binary forms" in text
            and "2. Redistributions in binary form must reproduce" in text
            and "Neither the name" not in text)


def records(path):
    import json
    try:
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]
    except OSError:
        return []


def deb_tests(debdir):
    global milter, pf, web

    debs = {}
    for p in PKGS:
        found = [f for f in os.listdir(debdir)
                 if f.startswith(p + "_") and f.endswith(".deb")]
        debs[p] = os.path.join(debdir, found[0]) if found else None
    if not check(all(debs.values()),
                 "make deb builds hashgate-tools, hashgate-milter and "
                 "libnginx-mod-http-hashgate", str(os.listdir(debdir))):
        return

    changes = [f for f in os.listdir(debdir) if f.endswith(".changes")]
    r = run(["lintian", "--fail-on", "error,warning",
             os.path.join(debdir, changes[0])])
    tags = [x for x in r.stdout.splitlines() if re.match(r"^[EW]: ", x)]
    check(r.returncode == 0 and not tags,
          "lintian finds no errors or warnings", "\n".join(tags) or r.stderr)

    abi = ""
    with open(ABI_FILE) as f:
        for line in f:
            if line.startswith("nginx:abi="):
                abi = line.split("=", 1)[1].strip()
    dep = run(["dpkg-deb", "-f", debs[PKGS[2]], "Depends"]).stdout
    check(abi and abi in dep,
          "the module package depends on the installed nginx's ABI (%s)" % abi,
          dep)
    check(re.search(r"(^|, )hashgate-tools \(= [^)]+\)", dep),
          "the module package depends on hashgate-tools of its version "
          "(it starts the archive helper)", dep)
    ctl = run(["dpkg-deb", "-I", debs[PKGS[1]], "conffiles"]).stdout
    check(CONF in ctl.split(), "%s is a conffile" % CONF, ctl)

    # ---- install ----
    r = dpkg("-i", *debs.values())
    if not check(r.returncode == 0 and all(
                 status(p) == "install ok installed" for p in PKGS),
                 "dpkg -i installs the three packages",
                 r.stdout[-1500:] + r.stderr[-1500:]):
        return

    r = run(["/usr/bin/hashgate", "--version"])
    check(r.returncode == 0 and r.stdout.startswith("hashgate "),
          "hashgate --version runs from /usr/bin", r.stdout + r.stderr)
    owner = run(["dpkg", "-S", HELPER]).stdout
    check(os.path.isfile(HELPER) and mode_owner(HELPER)
          == (0o755, "root", "root") and owner.startswith("hashgate-tools:"),
          "hashgate-tools installs the archive helper %s, root 0755" % HELPER,
          owner + (str(mode_owner(HELPER)) if os.path.exists(HELPER)
                   else "missing"))
    # run by hand (no socket on descriptor 3) it refuses, after its
    # libraries (libarchive, libseccomp) have loaded
    r = run([HELPER])
    check(r.returncode == 2 and "descriptor 3 is not a socket" in r.stderr,
          "the installed helper runs and refuses to be started by hand",
          "%d %s" % (r.returncode, r.stderr))
    unlicensed = []
    for p in PKGS:
        try:
            with open("/usr/share/doc/%s/copyright" % p) as f:
                text = f.read()
        except OSError as e:
            text = str(e)
        if not (is_bsd2(text)
                and re.search(r"^License: BSD-2-clause$", text, re.M)):
            unlicensed.append(p)
    check(not unlicensed, "each package's /usr/share/doc/PKG/copyright "
          "gives the BSD 2-Clause licence", str(unlicensed))
    try:
        pw = pwd.getpwnam("hashgate")
        check(pw.pw_uid < 1000 and pw.pw_dir == DBDIR
              and pw.pw_shell.endswith("nologin"),
              "postinst made the system user hashgate (no shell, home %s)"
              % DBDIR, str(pw))
    except KeyError:
        check(False, "postinst made the system user hashgate", "no such user")
    check(os.path.isdir(LOGDIR) and mode_owner(LOGDIR)
          == (0o750, "hashgate", "hashgate"),
          "%s is hashgate:hashgate 0750" % LOGDIR,
          str(mode_owner(LOGDIR)) if os.path.isdir(LOGDIR) else "missing")
    ev = os.path.join(LOGDIR, "evidence.log")
    check(os.path.isfile(ev) and mode_owner(ev)
          == (0o640, "hashgate", "hashgate"),
          "the evidence log is made hashgate:hashgate 0640 at install",
          str(mode_owner(ev)) if os.path.exists(ev) else "missing")
    check(os.path.isdir(SOCKDIR) and mode_owner(SOCKDIR)
          == (0o2750, "hashgate", "postfix"),
          "the socket directory in Postfix's chroot is hashgate:postfix 2750",
          str(mode_owner(SOCKDIR)) if os.path.isdir(SOCKDIR) else "missing")
    check(os.path.isdir(NGX_LOGDIR) and mode_owner(NGX_LOGDIR)
          == (0o750, "root", "adm"),
          "%s is root:adm 0750" % NGX_LOGDIR,
          str(mode_owner(NGX_LOGDIR)) if os.path.isdir(NGX_LOGDIR)
          else "missing")
    check(os.path.islink(MODLINK) and os.readlink(MODLINK) == MODCONF,
          "the module is enabled: %s -> %s" % (MODLINK, MODCONF),
          os.readlink(MODLINK) if os.path.islink(MODLINK) else "no link")
    try:
        gr = grp.getgrnam("hashgate-evidence")
        check(gr.gr_gid < 1000, "postinst made the system group "
              "hashgate-evidence", str(gr))
    except KeyError:
        check(False, "postinst made the system group hashgate-evidence",
              "no such group")
    check(os.path.isdir(STORE) and mode_owner(STORE)
          == (0o750, "root", "hashgate-evidence"),
          "the evidence store %s is root:hashgate-evidence 0750" % STORE,
          str(mode_owner(STORE)) if os.path.isdir(STORE) else "missing")
    r = run(["xmllint", "--noout", XSD])
    check(r.returncode == 0, "the report schema is installed as %s" % XSD,
          r.stderr)

    r = run(["systemd-analyze", "verify", "--man=no", UNIT])
    check(r.returncode == 0 and not r.stderr.strip(),
          "systemd-analyze verify accepts the installed unit",
          r.stdout + r.stderr)
    r = run(["systemd-analyze", "security", "--offline=yes", UNIT])
    m = re.search(r"exposure level for \S+: ([0-9.]+)", r.stdout)
    score = float(m.group(1)) if m else 99.0
    check(score <= 2.0, "the unit's exposure level is OK (%.1f, at most 2.0)"
          % score, r.stdout[-600:])
    for lr in ("hashgate-milter", "libnginx-mod-http-hashgate"):
        r = run(["logrotate", "-d", "/etc/logrotate.d/" + lr])
        check(r.returncode == 0 and "error" not in r.stderr.lower(),
              "logrotate accepts /etc/logrotate.d/" + lr, r.stderr[-800:])

    with open(CONF) as f:
        shipped = f.read()
    sock = None
    m = re.search(r"^Socket\s+unix:(\S+)$", shipped, re.M)
    if m:
        sock = m.group(1)
    check(sock is not None and os.path.dirname(sock) == SOCKDIR,
          "the shipped config puts the socket in %s" % SOCKDIR, str(sock))
    sock = sock or os.path.join(SOCKDIR, "milter.sock")

    # ---- the packaged milter in front of a private Postfix ----
    # The shipped configuration as it is: the database where it says, the
    # evidence log in /var/log/hashgate; both are removed before purging.
    m = re.search(r"^Database\s+(\S+)$", shipped, re.M)
    db = m.group(1) if m else os.path.join(DBDIR, "hashgate.db")
    m = re.search(r"^EvidenceLog\s+(\S+)$", shipped, re.M)
    evlog = m.group(1) if m else os.path.join(LOGDIR, "evidence.log")
    made_files.append(db)
    lst = os.path.join(tmp, "synthetic.txt")
    with open(lst, "w") as f:
        f.write(hm.sha256(LISTED) + "\n")
    r = run(["/usr/bin/hashgate", "compile", "-o", db, "synthetic=" + lst])
    check(r.returncode == 0 and stat.S_IMODE(os.stat(db).st_mode) == 0o644,
          "the packaged hashgate compiles a database into %s (mode 0644)"
          % DBDIR, r.stderr[-800:])
    r = run(["runuser", "-u", "hashgate", "--", "/usr/sbin/hashgate-milter",
             "-t"])
    check(r.returncode == 0,
          "hashgate-milter -t, run as hashgate, accepts the shipped "
          "configuration", r.stdout + r.stderr)
    conf_path = CONF

    milter = PackagedMilter(conf_path, os.path.join(tmp, "milter.stderr"))
    started = milter.start(sock)
    if not check(started, "the packaged milter starts as its unit does "
                 "(user %s, the shipped configuration)" % milter.user,
                 milter.log()[-1500:]):
        return
    if os.path.exists(sock):
        st = os.stat(sock)
        check(stat.S_IMODE(st.st_mode) == 0o660
              and grp.getgrgid(st.st_gid).gr_name == "postfix",
              "its socket is mode 0660, group postfix",
              "%o %s" % (st.st_mode, grp.getgrgid(st.st_gid).gr_name))

    pf = Postfix(milter="unix:" + sock, base=os.path.join(tmp, "pf"))
    pf.start()
    msg, mid = hm.msg_attach(LISTED, filename="listed.jpg")
    code, text = pf.send(msg)
    check(code == 550, "Postfix refuses a mail with a listed attachment (550)",
          "%d %s\n%s" % (code, text, pf.log_tail()))
    recs = [x for x in records(evlog) if x.get("message_id") == mid]
    check(len(recs) == 1 and recs[0].get("action") == "reject"
          and recs[0]["lists"][0]["list"] == "synthetic",
          "its evidence record says reject, list synthetic", str(recs))
    cmsg, cmid = hm.msg_attach(CLEAN, filename="clean.jpg")
    code, text = pf.send(cmsg)
    check(code == 250 and pf.wait_delivered(1) >= 1,
          "Postfix delivers a clean mail through the milter",
          "%d %s" % (code, text))

    # logrotate as shipped (only the signal pointed at this milter, which
    # systemd does not run here): after the rotation, records must go to
    # the new file
    with open("/etc/logrotate.d/hashgate-milter") as f:
        lr = f.read()
    lr = re.sub(r"postrotate.*endscript",
                "postrotate\n\t\tkill -HUP %d\n\tendscript" % milter.proc.pid,
                lr, flags=re.S)
    lr_conf = os.path.join(tmp, "logrotate.conf")
    with open(lr_conf, "w") as f:
        f.write(lr)
    r = run(["logrotate", "-f", "-s", os.path.join(tmp, "lr.state"),
             lr_conf])
    rotated = os.path.exists(evlog + ".1")
    time.sleep(0.5)
    msg2, mid2 = hm.msg_attach(LISTED, filename="again.jpg")
    pf.send(msg2)
    time.sleep(0.3)
    check(rotated and r.returncode == 0
          and any(x.get("message_id") == mid2 for x in records(evlog)),
          "after logrotate (SIGHUP), new evidence records go to a new "
          "evidence.log", "rotated=%s rc=%d %s; records in evidence.log: %d, "
          "in .1: %d" % (rotated, r.returncode, r.stderr.strip(),
                         len(records(evlog)), len(records(evlog + ".1"))))
    milter.stop()
    pf.close()
    pf = None
    for f in os.listdir(LOGDIR):        # this test's records only
        os.unlink(os.path.join(LOGDIR, f))

    # ---- the packaged module in a private nginx ----
    ngx_evlog = os.path.join(NGX_LOGDIR, "evidence.log")
    ngx.HG_BIN = "/usr/bin"
    web = PackagedNginx(http="""
    hashgate_database %s;
    hashgate_evidence_log %s;
    server {
        listen 127.0.0.1:{port};
        location /upload {
            hashgate on;
            proxy_pass http://recorder;
        }
    }
""" % (db, ngx_evlog), workers=1)
    os.symlink("/usr/lib/nginx/modules", os.path.join(web.prefix, "modules"))
    rc, out, _ = web.test_conf(web.http)
    if not check(rc == 0, "nginx -t accepts the module loaded through "
                 "modules-enabled", out[-1500:]):
        return
    web.start()
    st, _ = ngx.http_request(web.port, "POST", "/upload", LISTED,
                             {"Content-Type": "application/octet-stream"})
    check(st == 403, "nginx refuses a listed upload (403)", "got %d" % st)
    check(len(records(ngx_evlog)) == 1,
          "its evidence record is in %s" % ngx_evlog,
          str(records(ngx_evlog)))
    st, _ = ngx.http_request(web.port, "POST", "/upload", CLEAN,
                             {"Content-Type": "application/octet-stream"})
    check(st == 200, "nginx passes a clean upload (200)", "got %d" % st)
    seen = [e["sha256"] for e in web.recorder.entries()]
    check(hm.sha256(LISTED) not in seen and hm.sha256(CLEAN) in seen,
          "only the clean upload reached the application", str(seen))

    # the module's logrotate as shipped, its reload aimed at this nginx
    with open("/etc/logrotate.d/libnginx-mod-http-hashgate") as f:
        lr = f.read()
    lr = re.sub(r"postrotate.*endscript",
                "postrotate\n\t\tkill -HUP %d\n\tendscript" % web.master,
                lr, flags=re.S)
    lr_conf = os.path.join(tmp, "logrotate-nginx.conf")
    with open(lr_conf, "w") as f:
        f.write(lr)
    old_workers = set(web.worker_pids())
    r = run(["logrotate", "-f", "-s", os.path.join(tmp, "lr-nginx.state"),
             lr_conf])
    deadline = time.time() + 10
    while time.time() < deadline and (
            not web.worker_pids() or set(web.worker_pids()) & old_workers):
        time.sleep(0.1)
    st, _ = ngx.http_request(web.port, "POST", "/upload", LISTED,
                             {"Content-Type": "application/octet-stream"})
    check(r.returncode == 0 and os.path.exists(ngx_evlog + ".1")
          and st == 403 and len(records(ngx_evlog)) == 1,
          "after logrotate (nginx reload), new records go to a new "
          "evidence.log", "rc=%d %s status=%d records: %d, in .1: %d" % (
              r.returncode, r.stderr.strip(), st, len(records(ngx_evlog)),
              len(records(ngx_evlog + ".1"))))
    web.cleanup()
    web = None
    for f in os.listdir(NGX_LOGDIR):    # this test's records only
        os.unlink(os.path.join(NGX_LOGDIR, f))

    # ---- remove, reinstall, purge ----
    with open(CONF, "a") as f:
        f.write("# edited by test_packages\n")
    r = dpkg("-r", *PKGS)
    check(r.returncode == 0 and not os.path.exists("/usr/sbin/hashgate-milter")
          and not os.path.exists("/usr/bin/hashgate"),
          "dpkg -r removes the programs", r.stderr[-800:])
    check(os.path.exists(CONF) and not os.path.lexists(MODLINK),
          "after dpkg -r the conffile stays and the module is disabled",
          "conf %s, link %s" % (os.path.exists(CONF), os.path.lexists(MODLINK)))

    r = dpkg("-i", *debs.values())
    with open(CONF) as f:
        kept = "# edited by test_packages" in f.read()
    check(r.returncode == 0 and kept,
          "a reinstall keeps the edited conffile", r.stderr[-800:])
    check(os.path.islink(MODLINK),
          "a reinstall enables the module again")

    # every path the packages shipped, plus what postinst made
    shipped_paths = set()
    for p in PKGS:
        for line in run(["dpkg", "-L", p]).stdout.splitlines():
            if line.startswith(("/etc/hashgate", "/usr/bin/hashgate",
                                "/usr/sbin/hashgate", "/var/lib/hashgate",
                                "/var/log/hashgate", "/usr/share/doc/",
                                "/usr/share/man/", "/usr/lib/nginx/",
                                "/usr/share/nginx/modules-available/",
                                "/lib/systemd/system/hashgate",
                                "/etc/logrotate.d/hashgate",
                                "/etc/logrotate.d/libnginx-mod-http-hashgate",
                                NGX_LOGDIR)) \
                    and ("hashgate" in line):
                shipped_paths.add(line)
    shipped_paths |= {SOCKDIR, LOGDIR, NGX_LOGDIR, DBDIR, "/etc/hashgate",
                      STORE, MODLINK,
                      MODLINK + ".removed"}
    for f in made_files:                # the operator's, not the package's
        if os.path.exists(f):
            os.unlink(f)
    r1 = dpkg("-r", *PKGS)
    r2 = dpkg("-P", *PKGS)
    left = leftovers(sorted(shipped_paths))
    check(r1.returncode == 0 and r2.returncode == 0 and not left
          and all(status(p) == "not-installed" for p in PKGS),
          "dpkg -r then dpkg -P leaves nothing behind (%d paths checked)"
          % len(shipped_paths),
          "left: %s %s" % (left, r2.stderr[-800:]))
    try:
        pwd.getpwnam("hashgate")
        kept_user = True
    except KeyError:
        kept_user = False
    check(kept_user, "the hashgate system user is kept after purge, as "
          "Debian keeps system users")

    # purge with evidence present: the records are kept
    r = dpkg("-i", debs[PKGS[0]], debs[PKGS[1]])
    with open(os.path.join(LOGDIR, "evidence.log"), "w") as f:
        f.write('{"synthetic": "record"}\n')
    r = dpkg("-P", PKGS[1], PKGS[0])
    check(r.returncode == 0 and os.path.isfile(
          os.path.join(LOGDIR, "evidence.log"))
          and not os.path.lexists(SOCKDIR) and not os.path.lexists(CONF),
          "purge keeps existing evidence records and removes the rest",
          r.stderr[-800:])
    shutil.rmtree(LOGDIR, ignore_errors=True)


def rpm_tests(rpmdir):
    rpms = {}
    for p in ["hashgate-tools", "hashgate-milter", "nginx-mod-http-hashgate"]:
        found = [f for f in os.listdir(rpmdir)
                 if f.startswith(p + "-") and f.endswith(".rpm")]
        rpms[p] = os.path.join(rpmdir, found[0]) if found else None
    if not check(all(rpms.values()), "make rpm builds hashgate-tools, "
                 "hashgate-milter and nginx-mod-http-hashgate",
                 str(os.listdir(rpmdir))):
        return
    info = run(["rpm", "-qip", rpms["hashgate-milter"]]).stdout
    check(re.search(r"^Name\s*: hashgate-milter$", info, re.M)
          and re.search(r"^Version\s*: 0\.1\.0$", info, re.M)
          and re.search(r"^License\s*: BSD-2-Clause$", info, re.M),
          "rpm -qip shows name, version and license (BSD-2-Clause)",
          info[:600])
    files = {p: run(["rpm", "-qlp", f]).stdout.split()
             for p, f in rpms.items()}
    want = {
        "hashgate-tools": ["/usr/bin/hashgate", HELPER, "/var/lib/hashgate",
                           STORE, XSD],
        "hashgate-milter": ["/usr/sbin/hashgate-milter", CONF,
                            "/usr/lib/systemd/system/hashgate-milter.service",
                            "/etc/logrotate.d/hashgate-milter",
                            "/var/log/hashgate"],
        "nginx-mod-http-hashgate": [
            "/usr/share/nginx/modules/mod-http-hashgate.conf",
            "/etc/logrotate.d/nginx-mod-http-hashgate", NGX_LOGDIR],
    }
    missing = [(p, w) for p, ws in want.items() for w in ws
               if w not in files[p]]
    check(not missing and any(x.endswith("/ngx_http_hashgate_module.so")
                              for x in files["nginx-mod-http-hashgate"]),
          "rpm -qlp lists the programs, unit, config and module", str(missing))
    flags = run(["rpm", "-qp", "--queryformat",
                 "[%{FILENAMES} %{FILEFLAGS:fflags}\n]",
                 rpms["hashgate-milter"]]).stdout
    unlicensed = []
    for p, f in rpms.items():
        # rpm's _docdir_fmt: NAME on Fedora, NAME-VERSION on older rpm
        lic = [x for x in files[p] if re.match(
            r"^/usr/share/licenses/%s(-[^/]+)?/LICENSE$" % re.escape(p), x)]
        text = run(["sh", "-c", "rpm2cpio \"$1\" | cpio -i --quiet "
                    "--to-stdout \"$2\"", "sh", f, "." + lic[0]]
                   ).stdout if lic else ""
        if not is_bsd2(text):
            unlicensed.append(p)
    check(not unlicensed, "each .rpm ships LICENSE (BSD 2-Clause) as "
          "%license in /usr/share/licenses/", str(unlicensed))
    check(re.search(r"^%s cn$" % re.escape(CONF), flags, re.M),
          "the milter config is %config(noreplace)", flags)
    scripts = run(["rpm", "-qp", "--scripts", rpms["hashgate-milter"]]).stdout
    check("useradd -r" in scripts
          and "preset hashgate-milter.service" in scripts
          and "disable --now hashgate-milter.service" in scripts
          and "try-restart hashgate-milter.service" in scripts,
          "rpm -qp --scripts: user creation and systemd scriptlets", scripts)
    scripts = run(["rpm", "-qp", "--scripts", rpms["hashgate-tools"]]).stdout
    check("groupadd -r hashgate-evidence" in scripts,
          "rpm -qp --scripts: hashgate-tools makes the group "
          "hashgate-evidence", scripts)
    # rpmlint: no error and no warning; what is kept on purpose is
    # filtered in packaging/rpm/rpmlint.toml, each filter with its reason
    lint = run(["rpmlint", "-c", os.path.join(TOP, "packaging", "rpm",
                                              "rpmlint.toml")]
               + list(rpms.values()))
    summary = [ln for ln in lint.stdout.splitlines() if "checked;" in ln]
    check(lint.returncode == 0 and summary
          and " 0 errors, 0 warnings" in summary[0],
          "rpmlint finds no errors or warnings in the three .rpm",
          lint.stdout[-1500:] + lint.stderr[-500:])
    with open(os.path.join(TOP, "packaging", "rpm", "rpmlint.toml")) as f:
        toml = f.read().split("Filters = [", 1)[1]
    unexplained, why = [], False
    for ln in toml.splitlines():
        ln = ln.strip()
        if ln.startswith("#"):
            why = True
        elif ln.startswith('"'):
            if not why:
                unexplained.append(ln)
        elif not ln:
            why = False
    check(not unexplained, "every rpmlint filter has its reason beside it",
          str(unexplained))
    nginx_ver = run(["dpkg-query", "-W", "-f=${Version}", "nginx"]
                    ).stdout.split(":")[-1].split("-")[0]
    reqs = run(["rpm", "-qp", "--requires",
                rpms["nginx-mod-http-hashgate"]]).stdout.split("\n")
    check(nginx_ver and "nginx(abi) = %s" % nginx_ver in reqs,
          "the nginx module's .rpm requires the nginx it was built against "
          "(nginx(abi) = %s)" % nginx_ver, "\n".join(reqs))


def run_lock():
    import fcntl
    f = open(RUN_LOCK, "w")
    deadline = time.time() + RUN_LOCK_WAIT
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            if time.time() > deadline:
                return None
            time.sleep(1)


# checked before anything is changed (the finally below purges)
if os.geteuid() != 0:
    check(False, "test_packages runs as root", "it installs packages")
    shutil.rmtree(tmp, ignore_errors=True)
    check.exit()
lock = run_lock()
if lock is None:
    check(False, "test_packages gets its turn",
          "another run held %s for %d s" % (RUN_LOCK, RUN_LOCK_WAIT))
    shutil.rmtree(tmp, ignore_errors=True)
    check.exit()
# never touch a machine's real evidence records
if any(os.path.isdir(d) and any(os.path.getsize(os.path.join(d, f))
                                for f in os.listdir(d))
       for d in (LOGDIR, NGX_LOGDIR)):
    check(False, "test_packages runs where %s and %s hold no records"
          % (LOGDIR, NGX_LOGDIR), "it would purge the packages")
    shutil.rmtree(tmp, ignore_errors=True)
    check.exit()

try:
    if not os.path.exists(POLICY):
        with open(POLICY, "w") as f:
            f.write("#!/bin/sh\n# made by test_packages.py\nexit 101\n")
        os.chmod(POLICY, 0o755)
        made_policy = True
    purge_all()

    debdir = os.path.join(tmp, "debs")
    r = run(["sh", os.path.join(TOP, "packaging", "build-deb.sh")],
            env=dict(os.environ, OUT=debdir), timeout=900)
    if check(r.returncode == 0, "packaging/build-deb.sh succeeds",
             (r.stdout + r.stderr)[-2500:]):
        deb_tests(debdir)

    rpmdir = os.path.join(tmp, "rpms")
    r = run(["sh", os.path.join(TOP, "packaging", "build-rpm.sh")],
            env=dict(os.environ, OUT=rpmdir, BUILD=HG_BIN), timeout=600)
    if check(r.returncode == 0, "packaging/build-rpm.sh succeeds",
             (r.stdout + r.stderr)[-2500:]):
        rpm_tests(rpmdir)
except Exception:
    import traceback
    check(False, "test_packages ran to its end",
          traceback.format_exc().replace("\n", " | "))
finally:
    for thing in (milter, web):
        if thing is not None:
            try:
                thing.stop() if thing is milter else thing.cleanup()
            except Exception:
                pass
    if pf is not None:
        pf.close()
    for f in made_files:
        if os.path.exists(f):
            os.unlink(f)
    # the guard above found no records there: whatever is there now is ours
    for d in (LOGDIR, NGX_LOGDIR):
        if os.path.isdir(d):
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
    purge_all()
    for p in (SOCKDIR, LOGDIR, NGX_LOGDIR):
        if os.path.isdir(p) and not os.listdir(p):
            os.rmdir(p)
    if made_policy:
        os.unlink(POLICY)
    shutil.rmtree(tmp, ignore_errors=True)

check.exit()
