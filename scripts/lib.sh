# shellcheck shell=bash disable=SC2034  # SERVER_* and REDIS_PID are read by the sourcing script
# scripts/lib.sh — helpers shared by the scripts in this directory. Source it, don't run it:
#
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$here/lib.sh"
#   install_cleanup_trap            # on exit: stop every process started here, remove temp dirs
#   at_cleanup FUNC                 # also call FUNC on exit (after the processes stopped)
#   make_temp_dir_into DIR          # DIR=/tmp/authbench.XXXXXX, removed on exit
#   ensure_pkg curl curl            # install a Debian package when its command is missing
#   port=$(free_port)
#   start_redis "$port" [CPU_LIST]  # sets REDIS_PID
#   start_server LOG CMD...         # sets SERVER_PID, SERVER_URL, SERVER_STARTUP_MS
#   wait_http "$SERVER_URL/healthz" 10
#   stop_server
#
# Processes are only ever stopped by the PIDs recorded here (track_pid), never by name.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO_ROOT

_LIB_PIDS=()      # PIDs of background processes this script started
_LIB_DIRS=()      # temporary directories to remove on exit
_LIB_HOOKS=()     # functions to call on exit, after stopping the processes
_LIB_APT_UPDATED= # non-empty once `apt-get update` ran in this script run
SERVER_PID=
SERVER_URL=
SERVER_FD=
SERVER_STARTUP_MS=
REDIS_PID=

log() { printf '%s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ensure_pkg CMD DEBPKG: installs Debian package DEBPKG when command CMD is missing.
ensure_pkg() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    local -a sudo=()
    if [[ $EUID -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "'$cmd' is missing and this is not root: install it with 'apt-get install $pkg'"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || die "'$cmd' is missing and there is no apt-get: install package '$pkg'"
    log "==> installing $pkg (for '$cmd')"
    if [[ -z $_LIB_APT_UPDATED ]]; then
        "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed; cannot install package '$pkg'"
        _LIB_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
        die "apt-get install $pkg failed; install package '$pkg' by hand"
    command -v "$cmd" >/dev/null 2>&1 || die "package '$pkg' is installed but '$cmd' is still not on PATH"
}

# free_port: prints a TCP port on 127.0.0.1 that the kernel reports free.
free_port() {
    if command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null; then
        return 0
    fi
    # Fallback: a random high port that refuses connections (nothing listens there).
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found"
}

# wait_http URL TIMEOUT_SECONDS: polls URL until it answers 200; fails after the timeout.
wait_http() {
    local url=$1 timeout=${2:-30} code
    ensure_pkg curl curl
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null) || true
        [[ $code == 200 ]] && return 0
        sleep 0.1
    done
    die "$url did not answer 200 within ${timeout}s"
}

# track_pid PID / untrack_pid PID: remember (forget) a process to stop on exit.
track_pid() { _LIB_PIDS+=("$1"); }
untrack_pid() {
    local -a keep=()
    local p
    for p in "${_LIB_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    _LIB_PIDS=("${keep[@]}")
}

# at_cleanup FUNC: call function FUNC on exit (newest first), after the tracked processes
# stopped and before the tracked directories are removed.
at_cleanup() { _LIB_HOOKS+=("$1"); }

# track_dir DIR: remove DIR on exit.
track_dir() { _LIB_DIRS+=("$1"); }

# make_temp_dir_into VAR: creates a temporary directory, stores its path in VAR and removes
# it on exit. (Not `dir=$(...)`: a command substitution could not register it for removal.)
make_temp_dir_into() {
    local -n _out=$1
    _out=$(mktemp -d "${TMPDIR:-/tmp}/authbench.XXXXXX")
    track_dir "$_out"
}

# True while PID is alive (an unreaped zombie counts as gone).
_pid_running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaps it and untracks it.
stop_pid() {
    local pid=$1 i
    if _pid_running "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            _pid_running "$pid" || break
            sleep 0.1
        done
        if _pid_running "$pid"; then
            log "warning: PID $pid ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    untrack_pid "$pid"
}

# cleanup: stops every tracked process (newest first), calls the at_cleanup functions and
# removes tracked directories.
cleanup() {
    local i
    for ((i = ${#_LIB_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${_LIB_PIDS[i]}"
    done
    for ((i = ${#_LIB_HOOKS[@]} - 1; i >= 0; i--)); do
        "${_LIB_HOOKS[i]}" || true
    done
    _LIB_HOOKS=()
    if [[ -n $SERVER_FD ]]; then
        exec {SERVER_FD}<&-
        SERVER_FD=
    fi
    for i in "${_LIB_DIRS[@]}"; do
        rm -rf -- "$i"
    done
    _LIB_DIRS=()
}

# install_cleanup_trap: runs cleanup on exit, including Ctrl-C and SIGTERM; keeps the status.
_lib_on_exit() {
    local rc=$?
    trap - EXIT
    cleanup
    exit "$rc"
}
install_cleanup_trap() {
    trap _lib_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# start_redis PORT [CPU_LIST]: a throwaway redis-server on 127.0.0.1:PORT (no persistence),
# optionally pinned with taskset; waits for PING. Sets REDIS_PID.
start_redis() {
    local port=$1 cpus=${2:-}
    ensure_pkg redis-server redis-server
    local -a pin=()
    [[ -n $cpus ]] && pin=(taskset -c "$cpus")
    "${pin[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --loglevel warning >/dev/null &
    REDIS_PID=$!
    track_pid "$REDIS_PID"
    local i
    for ((i = 0; i < 100; i++)); do
        if _redis_ping "$port"; then return 0; fi
        _pid_running "$REDIS_PID" || die "redis-server on port $port exited at startup"
        sleep 0.1
    done
    die "redis-server on port $port did not answer PING within 10s"
}

_redis_ping() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 reply <&3
        [[ $reply == +PONG* ]]
    ) 2>/dev/null
}

# start_server LOG CMD...: runs CMD (e.g. `bench-server serve --listen 127.0.0.1:0 ...`) in
# the background, stderr to LOG, and waits (SERVER_START_TIMEOUT s, default 60) for its first
# stdout line `listening on http://HOST:PORT`. Sets SERVER_PID, SERVER_URL, SERVER_STARTUP_MS
# (launch to that line). One server at a time: stop_server before starting the next.
start_server() {
    local log_file=$1
    shift
    [[ -z $SERVER_PID ]] || die "start_server: server $SERVER_PID is still running"
    local fifo
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/authbench-stdout.XXXXXX")
    mkfifo -m 600 "$fifo"
    local t0=$EPOCHREALTIME
    "$@" >"$fifo" 2>"$log_file" &
    SERVER_PID=$!
    track_pid "$SERVER_PID"
    exec {SERVER_FD}<"$fifo"
    rm -f -- "$fifo"
    local line=
    if ! IFS= read -r -t "${SERVER_START_TIMEOUT:-60}" -u "$SERVER_FD" line; then
        log "server did not print 'listening on' (stderr follows):"
        tail -n 20 "$log_file" >&2 || true
        die "server failed to start: $*"
    fi
    local t1=$EPOCHREALTIME
    local us=$((10#${t1//[.,]/} - 10#${t0//[.,]/}))
    printf -v SERVER_STARTUP_MS '%d.%d' $((us / 1000)) $((us % 1000 / 100))
    [[ $line == "listening on "* ]] || die "unexpected first line from server: $line"
    SERVER_URL=${line#listening on }
}

# stop_server: stops the server started by start_server and closes its stdout pipe.
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        stop_pid "$SERVER_PID"
        SERVER_PID=
    fi
    if [[ -n $SERVER_FD ]]; then
        exec {SERVER_FD}<&-
        SERVER_FD=
    fi
    SERVER_URL=
}
