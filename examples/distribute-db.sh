#!/bin/sh
# distribute-db.sh - install one compiled (and signed) database on every node
# of a fleet, the way update-lists.sh installs it on this host.
#
# Usage: distribute-db.sh DB NODES_FILE
#
# NODES_FILE names one destination a line (blank lines and # comments
# skipped):
#       mx1.example.org:/var/lib/hashgate/hashgate.hgdb     (over ssh)
#       /srv/nfs-free-local-copy/hashgate.hgdb              (this host)
# For each node, in turn:
#   1. copy    rsync DB to a temp name beside the live file on the node
#              (never over it: a server maps the live file, and bytes
#              changing under a mapping cost requests the fail verdict)
#   2. verify  `hashgate info` on the node reads the copy back: with
#              TRUST_KEYS (a path on the node, the file its servers'
#              RequireSignature / hashgate_database_key name) the signature
#              is checked as the servers will check it, else the checksum
#   3. swap    rename(2) the copy over the live file: atomic
# The servers on the node pick the new file up by themselves (the milter
# within ReloadInterval, nginx workers within a second); RELOAD_CMD, run on
# the node after the swap, makes it immediate. A node that fails any step
# keeps its old file; the others go on, and the exit status says so.
#
# Settings (environment):
#   HASHGATE    the hashgate tool on the nodes      (hashgate)
#   TRUST_KEYS  trusted public keys, path on the nodes; empty: checksum only
#   RELOAD_CMD  command run on a node after its swap; empty: none
#               (e.g. "systemctl reload hashgate-milter")
#   SSH         ssh command for remote nodes        (ssh -o BatchMode=yes)
#
# Config management (Ansible, Salt, Puppet) can do the same three steps;
# what matters is the temp name in the same directory, the check on the
# node, and the rename.
#
# Exit status: 0 every node took the file, 1 some did not, 2 usage.
# SPDX-License-Identifier: BSD-2-Clause
set -u

HASHGATE=${HASHGATE:-hashgate}
TRUST_KEYS=${TRUST_KEYS:-}
RELOAD_CMD=${RELOAD_CMD:-}
SSH=${SSH:-ssh -o BatchMode=yes}

log() { echo "distribute-db: $*" >&2; }

[ $# -eq 2 ] || { echo "usage: distribute-db.sh DB NODES_FILE" >&2; exit 2; }
db=$1
nodes=$2
[ -f "$db" ] || { log "no database $db"; exit 2; }
[ -f "$nodes" ] || { log "no nodes file $nodes"; exit 2; }
command -v rsync > /dev/null || { log "rsync is not installed"; exit 2; }

# run "$@" on node host ("" for this host), as one shell command line
on() {
    host=$1
    shift
    if [ -z "$host" ]; then
        sh -c "$*"
    else
        $SSH "$host" "$*"
    fi
}

# a value quoted for a remote shell
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

install_one() {
    dest=$1
    case "$dest" in
        /*) host= ; path=$dest ;;
        *:/*) host=${dest%%:/*}; path=/${dest#*:/} ;;
        *) log "$dest: not HOST:/PATH or /PATH"; return 1 ;;
    esac
    dir=$(dirname "$path")
    tmp="$dir/.$(basename "$path").new.$$"
    target=${host:+$host:}$tmp
    if ! rsync -t --chmod=F0644 "$db" "$target"; then
        log "$dest: copy failed"
        on "$host" "rm -f $(q "$tmp")"
        return 1
    fi
    if [ -n "$TRUST_KEYS" ]; then
        check="$(q "$HASHGATE") info --key $(q "$TRUST_KEYS") $(q "$tmp")"
    else
        check="$(q "$HASHGATE") info --verify $(q "$tmp")"
    fi
    if ! on "$host" "$check > /dev/null"; then
        log "$dest: the copy does not verify on the node; its live file is unchanged"
        on "$host" "rm -f $(q "$tmp")"
        return 1
    fi
    if ! on "$host" "mv -f $(q "$tmp") $(q "$path")"; then
        log "$dest: rename failed"
        on "$host" "rm -f $(q "$tmp")"
        return 1
    fi
    if [ -n "$RELOAD_CMD" ] && ! on "$host" "$RELOAD_CMD"; then
        log "$dest: installed, but '$RELOAD_CMD' failed (the servers still find the file by themselves)"
    fi
    log "$dest: installed"
    return 0
}

failed=0
total=0
while read -r dest rest; do
    case "$dest" in ''|'#'*) continue ;; esac
    total=$((total + 1))
    install_one "$dest" || failed=$((failed + 1))
done < "$nodes"
log "$((total - failed)) of $total nodes took $(basename "$db")"
[ "$failed" -eq 0 ]
