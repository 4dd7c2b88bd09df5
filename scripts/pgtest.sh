# shellcheck shell=sh
# A throwaway PostgreSQL server for the SQL tests, under <repo>/.pgtest/.
#
#   . ./scripts/pgtest.sh start   # install (Debian, as root) if needed, init, start; export TUSK_TEST_POSTGRES_URL
#   . ./scripts/pgtest.sh stop    # stop it and unset the variable (bash only: see below)
#   sh scripts/pgtest.sh run CMD  # run CMD (and its arguments) with the server and the variable, then stop the
#                                 # server if this run started it; exit with CMD's status (`make test`)
#   sh scripts/pgtest.sh stop     # stop it, from any shell (`make pgstop`)
#
# SOURCED, it behaves as a guest: it never calls `exit`, never changes `set -e`, and keeps its helpers in
# functions it removes afterwards. dash (/bin/sh here) ignores arguments to `.`, so sourced by dash it always
# starts, whatever follows the file name: to stop from there, run it as a command. Run from the repository
# root, or set PGTEST_REPO.

_pgtest_log() {
    printf 'pgtest: %s\n' "$*" >&2
}

# Runs a server-side command as the cluster's owner: the server refuses to run as root.
_pgtest_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        # From /, so runuser does not complain about a working directory postgres cannot enter.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Finds the directory holding initdb/pg_ctl/postgres: PATH first, then the newest Debian version.
_pgtest_find_bindir() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    for _pgtest_dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$_pgtest_dir/pg_ctl" ] && [ -x "$_pgtest_dir/initdb" ]; then
            printf '%s\n' "$_pgtest_dir"
            return 0
        fi
    done
    return 1
}

_pgtest_install() {
    if [ "$(id -u)" != 0 ]; then
        _pgtest_log "no PostgreSQL server binaries found; install the 'postgresql' package (needs root)"
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _pgtest_log "no PostgreSQL server binaries found and no apt-get to install them"
        return 1
    fi
    _pgtest_log "installing PostgreSQL from Debian packages"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

_pgtest_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
        2>/dev/null && return 0
    # Without python3, probe upwards from a fixed base.
    _pgtest_port=54329
    while [ "$_pgtest_port" -lt 54429 ]; do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$_pgtest_port") 2>/dev/null; then
            printf '%s\n' "$_pgtest_port"
            return 0
        fi
        _pgtest_port=$((_pgtest_port + 1))
    done
    return 1
}

_pgtest_random() {
    od -An -N12 -tx1 /dev/urandom | tr -d ' \n'
}

# The data directory must be reachable by the postgres user; a repo under a private home may not be,
# so fall back to a private directory under /tmp (recorded so later runs find it).
_pgtest_pick_datadir() {
    _pgtest_state="$1"
    if [ -f "$_pgtest_state/datadir" ]; then
        cat "$_pgtest_state/datadir"
        return 0
    fi
    _pgtest_candidate="$_pgtest_state/data"
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$_pgtest_state"; then
        _pgtest_candidate="$(mktemp -d /tmp/tusk-pgtest.XXXXXX)/data" || return 1
        chown postgres "$(dirname "$_pgtest_candidate")"
        _pgtest_log "$_pgtest_state is not reachable by the postgres user; using $_pgtest_candidate"
    fi
    printf '%s\n' "$_pgtest_candidate" >"$_pgtest_state/datadir"
    printf '%s\n' "$_pgtest_candidate"
}

_pgtest_init() {
    _pgtest_bin="$1" _pgtest_data="$2" _pgtest_state="$3"
    _pgtest_log "creating a cluster in $_pgtest_data"
    _pgtest_home="$(dirname "$_pgtest_data")"
    (umask 077 && _pgtest_random >"$_pgtest_state/superuser.pw" && _pgtest_random >"$_pgtest_state/tester.pw")
    _pgtest_as_owner mkdir -p "$_pgtest_data" || return 1
    # initdb (run as the owner) reads the superuser password from a file it can reach, removed right after.
    _pgtest_as_owner sh -c 'umask 077 && cat >"$1"' sh "$_pgtest_home/initdb.pw" <"$_pgtest_state/superuser.pw"
    _pgtest_as_owner "$_pgtest_bin/initdb" -D "$_pgtest_data" -U postgres --pwfile="$_pgtest_home/initdb.pw" \
        --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$_pgtest_state/initdb.log" 2>&1
    _pgtest_status=$?
    _pgtest_as_owner rm -f "$_pgtest_home/initdb.pw"
    [ "$_pgtest_status" = 0 ] || { _pgtest_log "initdb failed, see $_pgtest_state/initdb.log"; return 1; }
    # TCP on localhost only; no Unix socket, so no dependency on /var/run/postgresql.
    printf "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = off\n" \
        | _pgtest_as_owner tee -a "$_pgtest_data/postgresql.conf" >/dev/null
}

_pgtest_running() {
    _pgtest_as_owner "$1/pg_ctl" status -D "$2" >/dev/null 2>&1
}

_pgtest_stop_server() {
    _pgtest_as_owner "$1/pg_ctl" stop -m fast -w -D "$2" >/dev/null && _pgtest_log "stopped"
}

_pgtest_start_server() {
    _pgtest_bin="$1" _pgtest_data="$2" _pgtest_state="$3"
    _pgtest_port="$(_pgtest_free_port)" || { _pgtest_log "no free port found"; return 1; }
    printf '%s\n' "$_pgtest_port" >"$_pgtest_state/port"
    # The log sits beside the data directory, where the server's owner can write it.
    _pgtest_serverlog="$(dirname "$_pgtest_data")/server.log"
    _pgtest_as_owner "$_pgtest_bin/pg_ctl" start -w -t 60 -D "$_pgtest_data" -o "-p $_pgtest_port" \
        -l "$_pgtest_serverlog" >/dev/null \
        || { _pgtest_log "the server did not start, see $_pgtest_serverlog"; return 1; }
}

_pgtest_admin_sql() {
    _pgtest_psql="$_pgtest_bin/psql"
    [ -x "$_pgtest_psql" ] || _pgtest_psql=psql
    PGPASSWORD="$(cat "$_pgtest_state/superuser.pw")" "$_pgtest_psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
        -p "$(cat "$_pgtest_state/port")" -U postgres -d postgres -c "$1" >/dev/null
}

# The test role owns the test database but is no superuser: tests create their tables as it.
_pgtest_create_database() {
    _pgtest_state="$1"
    if _pgtest_admin_sql "SELECT 1 FROM pg_database WHERE datname = 'tusk_test'" \
        && [ -f "$_pgtest_state/created" ]; then
        return 0
    fi
    _pgtest_admin_sql "CREATE ROLE tusk_test LOGIN PASSWORD '$(cat "$_pgtest_state/tester.pw")'" \
        && _pgtest_admin_sql "CREATE DATABASE tusk_test OWNER tusk_test" \
        && touch "$_pgtest_state/created"
}

# Two test runs may start at once in one checkout: a lock directory (mkdir is atomic) serialises them.
# A lock older than 15 minutes is left over from a killed run and is taken over.
_pgtest_lock() {
    _pgtest_waited=0
    until mkdir "$1/lock" 2>/dev/null; do
        if [ -n "$(find "$1/lock" -maxdepth 0 -mmin +15 2>/dev/null)" ]; then
            _pgtest_log "taking over a stale lock $1/lock"
            rmdir "$1/lock" 2>/dev/null
            continue
        fi
        if [ "$_pgtest_waited" -ge 600 ]; then
            _pgtest_log "another pgtest.sh holds $1/lock; remove it if no test run is starting PostgreSQL"
            return 1
        fi
        sleep 1
        _pgtest_waited=$((_pgtest_waited + 1))
    done
}

# Runs "$@" holding the lock of $_pgtest_state.
_pgtest_with_lock() {
    _pgtest_lock "$_pgtest_state" || return 1
    "$@"
    _pgtest_locked_status=$?
    rmdir "$_pgtest_state/lock"
    return "$_pgtest_locked_status"
}

_pgtest_prepare_state() {
    _pgtest_state="${PGTEST_REPO:-$PWD}/.pgtest"
    mkdir -p "$_pgtest_state" && chmod 755 "$_pgtest_state"
}

_pgtest_start() {
    _pgtest_prepare_state || return 1
    _pgtest_with_lock _pgtest_start_locked || return 1
    # A server started here is a person's: a stale mark from a run killed before it could stop its own must not
    # make a later run stop this one. (One already running keeps its mark: a run's own tests source this file.)
    [ -z "$_pgtest_started" ] || rm -f "$_pgtest_state/started-by-run"
}

_pgtest_start_locked() {
    _pgtest_started=
    _pgtest_bin="$(_pgtest_find_bindir)" || { _pgtest_install && _pgtest_bin="$(_pgtest_find_bindir)"; } \
        || { _pgtest_log "PostgreSQL server binaries not found"; return 1; }
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || { _pgtest_log "running as root but there is no 'postgres' user"; return 1; }
        chown postgres "$_pgtest_state"
    fi
    _pgtest_data="$(_pgtest_pick_datadir "$_pgtest_state")" || return 1
    if [ ! -f "$_pgtest_data/PG_VERSION" ]; then
        _pgtest_init "$_pgtest_bin" "$_pgtest_data" "$_pgtest_state" || return 1
    fi
    if ! _pgtest_running "$_pgtest_bin" "$_pgtest_data"; then
        _pgtest_start_server "$_pgtest_bin" "$_pgtest_data" "$_pgtest_state" || return 1
        _pgtest_started=1
    fi
    _pgtest_create_database "$_pgtest_state" || { _pgtest_log "could not create the test database"; return 1; }
    _pgtest_port="$(cat "$_pgtest_state/port")"
    TUSK_TEST_POSTGRES_URL="postgresql://tusk_test:$(cat "$_pgtest_state/tester.pw")@127.0.0.1:$_pgtest_port/tusk_test"
    export TUSK_TEST_POSTGRES_URL
    _pgtest_log "PostgreSQL on 127.0.0.1:$_pgtest_port (data in $_pgtest_data); TUSK_TEST_POSTGRES_URL exported"
}

_pgtest_stop() {
    _pgtest_state="${PGTEST_REPO:-$PWD}/.pgtest"
    unset TUSK_TEST_POSTGRES_URL
    rm -f "$_pgtest_state/started-by-run"
    [ -f "$_pgtest_state/datadir" ] || { _pgtest_log "nothing to stop"; return 0; }
    _pgtest_data="$(cat "$_pgtest_state/datadir")"
    _pgtest_bin="$(_pgtest_find_bindir)" \
        || { _pgtest_log "no pg_ctl found to stop the server of $_pgtest_data"; return 1; }
    if _pgtest_running "$_pgtest_bin" "$_pgtest_data"; then
        _pgtest_stop_server "$_pgtest_bin" "$_pgtest_data"
    else
        _pgtest_log "not running"
    fi
}

# `run`: every run holds a lease (.pgtest/runs/<pid>) while its command runs, so that of two runs sharing the
# server, the last one out stops it; and only a server a run started (.pgtest/started-by-run) is stopped.
_pgtest_run() {
    [ "$#" -gt 0 ] || { _pgtest_usage; return 2; }
    _pgtest_prepare_state || return 1
    _pgtest_with_lock _pgtest_run_begin || return 1
    # On Ctrl-C or a kill the command ends first (it gets the signal too); the server is stopped after it.
    trap : INT TERM HUP
    "$@"
    _pgtest_run_status=$?
    trap - INT TERM HUP
    _pgtest_with_lock _pgtest_run_end
    return "$_pgtest_run_status"
}

_pgtest_run_begin() {
    if ! _pgtest_start_locked; then
        # A server this run started and then could not set up is not left behind.
        [ -z "$_pgtest_started" ] || _pgtest_stop_server "$_pgtest_bin" "$_pgtest_data"
        return 1
    fi
    mkdir -p "$_pgtest_state/runs" && : >"$_pgtest_state/runs/$$" || return 1
    [ -z "$_pgtest_started" ] || : >"$_pgtest_state/started-by-run"
}

_pgtest_run_end() {
    rm -f "$_pgtest_state/runs/$$"
    # Leases of runs that were killed before they could end.
    for _pgtest_lease in "$_pgtest_state"/runs/*; do
        [ -e "$_pgtest_lease" ] || continue
        kill -0 "${_pgtest_lease##*/}" 2>/dev/null || rm -f "$_pgtest_lease"
    done
    if [ -f "$_pgtest_state/started-by-run" ] && [ -z "$(ls -A "$_pgtest_state/runs")" ]; then
        _pgtest_stop
    fi
}

_pgtest_usage() {
    _pgtest_log "usage: . ./scripts/pgtest.sh [start|stop]   or   sh scripts/pgtest.sh stop|run COMMAND [ARG...]"
}

_pgtest_main() {
    case "${1:-start}" in
        start) _pgtest_start ;;
        stop) _pgtest_stop ;;
        *) _pgtest_usage; return 2 ;;
    esac
}

# Run as a command: $0 names this file. (Sourced, $0 is the caller's: its shell or script.)
_pgtest_command() {
    case "${1:-}" in
        stop) _pgtest_stop ;;
        run) shift; _pgtest_run "$@" ;;
        start) _pgtest_log "start exports TUSK_TEST_POSTGRES_URL into your shell, so source it:" \
            ". ./scripts/pgtest.sh start; or run a command with it: sh scripts/pgtest.sh run COMMAND"; return 2 ;;
        *) _pgtest_usage; return 2 ;;
    esac
}

if [ "${0##*/}" = pgtest.sh ]; then
    _pgtest_command "$@"
    exit
fi

# dash passes no arguments to a sourced file (the caller's own $1 would show through), so only bash's are read.
if [ -n "${BASH_VERSION:-}" ]; then
    _pgtest_main "${1:-start}"
else
    _pgtest_main start
fi
_pgtest_status=$?
unset -f _pgtest_log _pgtest_as_owner _pgtest_find_bindir _pgtest_install _pgtest_free_port _pgtest_random \
    _pgtest_pick_datadir _pgtest_init _pgtest_running _pgtest_stop_server _pgtest_start_server \
    _pgtest_admin_sql _pgtest_create_database _pgtest_lock _pgtest_with_lock _pgtest_prepare_state _pgtest_start \
    _pgtest_start_locked _pgtest_stop _pgtest_run _pgtest_run_begin _pgtest_run_end _pgtest_usage _pgtest_main \
    _pgtest_command
unset _pgtest_dir _pgtest_port _pgtest_state _pgtest_waited _pgtest_psql _pgtest_candidate _pgtest_bin \
    _pgtest_data _pgtest_home _pgtest_serverlog _pgtest_started _pgtest_locked_status
# `return` only works when sourced; `(exit N)` sets the status either way without ending the caller's shell.
eval "unset _pgtest_status; return $_pgtest_status 2>/dev/null || (exit $_pgtest_status)"
