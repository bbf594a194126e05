# Shared shell helpers of deploy/local/*: where state lives, free ports, pid files, waiting for a port.
# Sourced, not run. Every server keeps its files under $LOCAL_ROOT/<name>/ (downloads are cached there too).

LOCAL_ROOT="${INTEGR8S_LOCAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/integr8s-local}"
mkdir -p "$LOCAL_ROOT"

log() { echo "[deploy/local] $*" >&2; }
die() { log "error: $*"; exit 1; }

# server_dir NAME -> prints (and creates) the server's state directory.
server_dir() { mkdir -p "$LOCAL_ROOT/$1" && echo "$LOCAL_ROOT/$1"; }

# with_lock NAME CMD... -> runs CMD holding an exclusive lock for NAME, so concurrent callers (parallel test
# files) start one server, not several. CMD runs with fd 9 closed: a server it starts in the background must not
# inherit the lock, or the lock would stay held for as long as that server runs (bash keeps its own copy of the
# fd, close-on-exec, while CMD runs, so the lock is still held until CMD returns).
with_lock() {
  local name=$1; shift
  local dir; dir=$(server_dir "$name")
  (
    flock -w 900 9 || die "timed out waiting for the $name lock"
    "$@" 9>&-
  ) 9>"$dir/.lock"
}

# free_port -> prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# port_open PORT -> true when something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PIDFILE -> true when the pid in PIDFILE is a running process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_port PORT SECONDS WHAT -> waits until the port accepts connections, or dies naming WHAT.
wait_port() {
  local port=$1 seconds=$2 what=$3 i
  for ((i = 0; i < seconds * 10; i++)); do
    port_open "$port" && return 0
    sleep 0.1
  done
  die "$what did not open port $port within ${seconds}s"
}

# stop_pid PIDFILE WHAT -> TERM, then KILL after 15 s; removes the pid file.
stop_pid() {
  local file=$1 what=$2 pid i
  if pid_alive "$file"; then
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # KILL only a process that outlived the grace period: once it has exited, its pid may already be another's.
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    log "stopped $what (pid $pid)"
  fi
  rm -f "$file"
}
