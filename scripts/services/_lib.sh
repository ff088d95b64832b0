# Shared helpers for scripts/services/<name>.sh (start/stop throwaway backing services). Source it.
#
# Conventions every service script follows:
#   state lives in ${ALTO_SVC_ROOT:-/tmp/alto-svc}/<name>/ (wiped on start, deleted on stop unless
#   ALTO_SVC_KEEP=1); daemons listen on 127.0.0.1 only; `start` returns once a client can really log
#   in and prints KEY=value lines on stdout (progress goes to stderr); `stop` leaves no process.
# Runs as root (daemons drop to their Debian service user with setpriv, because PostgreSQL refuses
# root and memcached insists on -u) or as any user (daemons then run as that user).
set -euo pipefail

ALTO_SVC_ROOT=${ALTO_SVC_ROOT:-/tmp/alto-svc}

svc_now() { date +%s.%N; }
svc_elapsed() { awk -v a="$1" -v b="$(svc_now)" 'BEGIN { printf "%.2f", b - a }'; }
svc_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
svc_die() { svc_log "ERROR: $*"; exit 1; }
svc_is_root() { [ "$(id -u)" = 0 ]; }

# svc_user DEBIAN_USER: the user a daemon runs as (the Debian service user as root, else ourselves).
svc_user() { if svc_is_root; then echo "$1"; else id -un; fi; }

# svc_usage NAME ARG: the one command-line contract all service scripts share.
svc_usage() {
  case ${2:-} in
    start | stop) ;;
    *) printf 'usage: %s start|stop\n' "$1" >&2; exit 2 ;;
  esac
}

# svc_as USER cmd...: run cmd as USER (only switches when we are root and USER is not root).
# HOME matters: rabbitmqctl finds its Erlang cookie there.
svc_as() {
  local u=$1; shift
  if svc_is_root && [ "$u" != root ]; then
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- \
      env HOME="${SVC_HOME:-/tmp}" USER="$u" LOGNAME="$u" "$@"
  else
    "$@"
  fi
}

# svc_spawn USER LOGFILE PIDFILE cmd...: start cmd in the background in its own session (so the
# caller's Ctrl-C or SIGHUP does not reach it), stdin from /dev/null, output appended to LOGFILE,
# and record the daemon's own pid. Every step execs, so $! is the daemon as long as it does not fork.
svc_spawn() {
  local u=$1 log=$2 pf=$3 jc=0; shift 3
  # With job control on, the background subshell leads its own process group, setsid(1) then
  # forks, and $! would name the wrong process. Turn job control off while spawning.
  case $- in *m*) jc=1; set +m ;; esac
  if svc_is_root && [ "$u" != root ]; then
    (exec setsid setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- \
      env HOME="${SVC_HOME:-/tmp}" USER="$u" LOGNAME="$u" "$@") </dev/null >>"$log" 2>&1 &
  else
    (exec setsid "$@") </dev/null >>"$log" 2>&1 &
  fi
  echo $! >"$pf"
  [ $jc = 0 ] || set -m
}

# svc_own USER path...: hand state directories to the daemon's user (root only).
svc_own() { local u=$1; shift; if svc_is_root; then chown -R "$u:$(id -g "$u")" "$@"; fi; }

# svc_wait TIMEOUT_S cmd...: poll cmd every 0.1 s until it succeeds; fail after TIMEOUT_S.
svc_wait() {
  local t=$1 end; shift
  end=$(awk -v n="$(svc_now)" -v t="$t" 'BEGIN { printf "%d", n + t }')
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# svc_alive PID: the process exists and is not a zombie. Daemons are re-parented to PID 1 once the
# start script exits; a PID 1 that reaps late leaves zombies for which kill -0 still succeeds.
svc_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# svc_pidfile_alive FILE: the pid in FILE is a live process.
svc_pidfile_alive() { [ -f "$1" ] && svc_alive "$(tr -dc '0-9' <"$1")"; }

# svc_stop_pidfile FILE [TIMEOUT_S=30] [SIGNAL=TERM]: signal the process, wait, SIGKILL as a last resort.
svc_stop_pidfile() {
  local f=$1 t=${2:-30} sig=${3:-TERM} pid i
  [ -f "$f" ] || return 0
  pid=$(tr -dc '0-9' <"$f")
  if svc_alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do svc_alive "$pid" || break; sleep 0.1; done
    if svc_alive "$pid"; then
      svc_log "pid $pid ignored SIG$sig for ${t}s, sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do svc_alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$f"
}

# svc_tree PID: PID and all its descendants (to check that a stop left nothing behind).
svc_tree() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do svc_tree "$c"; done
}

# svc_listening PORT: something listens on 127.0.0.1:PORT (or any address).
svc_listening() { ss -Htln "sport = :$1" | grep -q .; }

# svc_port_reserved PORT: PORT is already in net.ipv4.ip_local_reserved_ports (ranges "a-b" or "a").
svc_port_reserved() {
  tr ',' '\n' </proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null |
    awk -F- -v p="$1" '$1 != "" { hi = ($2 == "" ? $1 : $2); if (p >= $1 && p <= hi) f = 1 } END { exit !f }'
}

# svc_claim_ports PORT...: make sure the daemon will be able to bind its ports.
# Our ports (5xxxx) lie inside Linux's ephemeral range (32768-60999): any outgoing connection may
# hold one as its local port and the daemon's bind() then fails with EADDRINUSE (seen with RabbitMQ
# during a load test). As root, reserve them (not persistent; ALTO_SVC_RESERVE_PORTS=0 skips it),
# then wait out client sockets still holding them. TIME_WAIT is ignored: all our daemons set
# SO_REUSEADDR. A listener already on the port is a hard error (another instance is running).
svc_claim_ports() {
  local p i f=/proc/sys/net/ipv4/ip_local_reserved_ports add=()
  for p in "$@"; do svc_port_reserved "$p" || add+=("$p"); done
  if svc_is_root && [ "${ALTO_SVC_RESERVE_PORTS:-1}" = 1 ] && [ -w $f ] && [ ${#add[@]} -gt 0 ]; then
    local cur; cur=$(cat $f)
    echo "${cur:+$cur,}$(IFS=,; echo "${add[*]}")" >$f 2>/dev/null || svc_log "could not reserve ports ${add[*]}"
  fi
  for p in "$@"; do
    if svc_listening "$p"; then svc_die "port $p already has a listener: $(ss -Htlnp "sport = :$p" | head -1)"; fi
    for ((i = 0; ; i++)); do
      ss -Htan exclude time-wait "sport = :$p" | grep -q . || break
      [ $i -lt 650 ] || svc_die "port $p still held by a client socket after 65 s"
      [ $i = 0 ] && svc_log "port $p held by a client socket, waiting: $(ss -Htan "sport = :$p" | head -1)"
      sleep 0.1
    done
  done
}

# svc_finish_stop NAME DIR: delete the state directory (unless ALTO_SVC_KEEP=1) and report.
svc_finish_stop() {
  [ "${ALTO_SVC_KEEP:-0}" = 1 ] || rm -rf "$2"
  svc_log "$1 stopped"
}
