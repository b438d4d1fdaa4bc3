#!/bin/sh
# update-lists.sh - refresh the hashgate database from the lists you receive.
#
# The workflow, one step per function below:
#   1. fetch    get the new list files by your own means (hotlines hand them
#               out over their own channels; this script does not guess how)
#   2. compile  build a new database under a temp name beside the live one
#               (signed with SIGN_KEY when set; from the live file with
#               --base when INCREMENTAL=1, for lists that come as changes)
#   3. verify   `hashgate info --verify` reads the new file back, checksum
#               included (with TRUST_KEYS: `info --key`, the signature as the
#               servers will check it); a bad build stops here and the live
#               file is untouched
#   4. swap     rename(2) the new file over the live one: atomic, so a server
#               opening the path sees the old file or the new one, never half
#   5. notify   SIGHUP to hashgate-milter (its pid file) and `nginx -s reload`;
#               each server also notices the new file by itself, and a server
#               that refuses a new file keeps the old one
#   6. spread   with NODES_FILE, examples/distribute-db.sh installs the new
#               file on every node of the fleet the same way (copy beside,
#               verify there, rename)
#
# Lists are named in $LIST_DIR/lists.conf, one a line:
#       NAME   FILE                  [block|allow|remove]   [VERSION]
#       vendor vendor-2024-06.hsb    block           2024-06
#       vic    vic-export.json       block
#       fp     false-positives.txt   allow
#       vendor vendor-retired.txt    remove
# FILE is relative to $LIST_DIR (or absolute). VERSION defaults to today's
# date (UTC). "remove" takes FILE's digests off list NAME (useful with
# INCREMENTAL=1, when a hotline sends additions and removals). Run from
# cron or the systemd timer in examples/systemd/ as the user that owns the
# database directory.
#
# Settings (environment):
#   HASHGATE        the hashgate tool                  (hashgate)
#   HASHGATE_DB     the live database                  (/var/lib/hashgate/hashgate.hgdb)
#   LIST_DIR        where lists.conf and the lists are (/var/lib/hashgate/lists)
#   MILTER_PIDFILE  hashgate-milter's PidFile; empty: skip
#                                                      (/run/hashgate-milter/hashgate-milter.pid)
#   NGINX_RELOAD    command that reloads nginx; empty: skip (nginx -s reload)
#   STRICT          1: refuse a list with any bad line (default: warn and skip)
#   INCREMENTAL     1: start from the live database (compile --base); lists
#                   not named keep what they had (default: compile afresh)
#   SIGN_KEY        private key to sign with (hashgate keygen); empty: unsigned
#   TRUST_KEYS      public keys the new file must be signed by (what the
#                   servers' RequireSignature / hashgate_database_key name)
#   NODES_FILE      nodes to install the new file on (examples/distribute-db.sh);
#                   empty: this host only
#
# Exit status: 0 updated (or nothing to do), 1 the new database was refused
# (the old one stays live) or a node did not take it, 2 a usage or setup
# error.
# SPDX-License-Identifier: BSD-2-Clause
set -eu

HASHGATE=${HASHGATE:-hashgate}
HASHGATE_DB=${HASHGATE_DB:-/var/lib/hashgate/hashgate.hgdb}
LIST_DIR=${LIST_DIR:-/var/lib/hashgate/lists}
MILTER_PIDFILE=${MILTER_PIDFILE-/run/hashgate-milter/hashgate-milter.pid}
NGINX_RELOAD=${NGINX_RELOAD-nginx -s reload}
STRICT=${STRICT:-0}
INCREMENTAL=${INCREMENTAL:-0}
SIGN_KEY=${SIGN_KEY:-}
TRUST_KEYS=${TRUST_KEYS:-}
NODES_FILE=${NODES_FILE:-}

log() { echo "update-lists: $*" >&2; }

# 1. Put the new list files into $LIST_DIR. Replace this with your own
# transfer (sftp from the hotline's portal, a signed mail, a USB stick
# through your evidence process, ...). It must leave complete files only:
# download to a temp name, check, then rename.
fetch() {
    log "fetch: using the files already in $LIST_DIR"
}

# 2. Compile every list in lists.conf into $1.
compile() {
    out=$1
    conf=$LIST_DIR/lists.conf
    [ -f "$conf" ] || { log "no $conf"; exit 2; }
    today=$(date -u +%Y-%m-%d)
    set --
    [ "$STRICT" = 1 ] && set -- --strict
    [ -n "$SIGN_KEY" ] && set -- "$@" --sign "$SIGN_KEY"
    if [ "$INCREMENTAL" = 1 ] && [ -f "$HASHGATE_DB" ]; then
        set -- "$@" --base "$HASHGATE_DB"
    fi
    n=0
    while read -r name file kind version rest; do
        case "$name" in ''|'#'*) continue ;; esac
        case "$file" in /*) ;; *) file=$LIST_DIR/$file ;; esac
        [ -e "$file" ] || { log "$conf: list $name: $file is missing"; return 1; }
        arg="$name=$file@${version:-$today}"
        case "${kind:-block}" in
            block) set -- "$@" "$arg" ;;
            allow) set -- "$@" --allow "$arg" ;;
            remove) set -- "$@" --remove "$name=$file" ;;
            *) log "$conf: list $name: kind '$kind' is not block, allow or remove"; return 1 ;;
        esac
        n=$((n + 1))
    done < "$conf"
    [ "$n" -gt 0 ] || { log "$conf names no list"; return 1; }
    "$HASHGATE" compile -o "$out" "$@"
}

# 3. Read the new file back, whole-file checksum included; with TRUST_KEYS
# its signature too, exactly as the servers will check it.
verify() {
    if [ -n "$TRUST_KEYS" ]; then
        "$HASHGATE" info --key "$TRUST_KEYS" "$1" > /dev/null
    else
        "$HASHGATE" info --verify "$1" > /dev/null
    fi
}

# 5. Tell the servers. They also find the new file on their own (periodic
# identity check), so a failed signal is logged, not fatal.
notify() {
    if [ -n "$MILTER_PIDFILE" ] && [ -f "$MILTER_PIDFILE" ]; then
        pid=$(cat "$MILTER_PIDFILE")
        if kill -HUP "$pid" 2>/dev/null; then
            log "notify: sent SIGHUP to hashgate-milter (pid $pid)"
        else
            log "notify: hashgate-milter pid $pid is not running"
        fi
    fi
    if [ -n "$NGINX_RELOAD" ]; then
        if $NGINX_RELOAD; then
            log "notify: nginx reloaded"
        else
            log "notify: '$NGINX_RELOAD' failed"
        fi
    fi
}

main() {
    dir=$(dirname "$HASHGATE_DB")
    [ -d "$dir" ] || { log "no directory $dir"; exit 2; }
    # the temp name is in the same directory: rename(2) must not cross file systems
    new=$(mktemp "$dir/.$(basename "$HASHGATE_DB").new.XXXXXX")
    trap 'rm -f "$new"' EXIT INT TERM

    fetch
    if ! compile "$new"; then
        log "compile failed: $HASHGATE_DB is unchanged"
        exit 1
    fi
    if ! verify "$new"; then
        log "the new database does not verify: $HASHGATE_DB is unchanged"
        exit 1
    fi
    if [ -f "$HASHGATE_DB" ]; then
        if "$HASHGATE" diff "$HASHGATE_DB" "$new" >&2; then
            log "no change: $HASHGATE_DB left as it is"
            exit 0
        fi
    fi
    chmod 0644 "$new"
    mv -f "$new" "$HASHGATE_DB"         # 4. atomic rename
    trap - EXIT INT TERM
    log "installed $HASHGATE_DB"
    notify
    # 6. the other nodes (each verifies it again before its own rename)
    if [ -n "$NODES_FILE" ]; then
        if ! sh "$(dirname "$0")/distribute-db.sh" "$HASHGATE_DB" "$NODES_FILE"; then
            log "some nodes did not take the new database (see above)"
            exit 1
        fi
    fi
}

main "$@"
