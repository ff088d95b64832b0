#!/usr/bin/env bash
# Throwaway memcached on 127.0.0.1 for tests and CI: `memcached.sh start` prints MEMCACHED, `stop` removes it.
# Env: MC_PORT=51211 MC_MEM=64 (MiB) ALTO_SVC_ROOT ALTO_SVC_KEEP
. "$(dirname "$0")/_lib.sh"
svc_usage "$0" "${1:-}"

MC_PORT=${MC_PORT:-51211}; MC_MEM=${MC_MEM:-64}
D=$ALTO_SVC_ROOT/memcached
U=$(svc_user memcache)

mc_start() {
  command -v memcached >/dev/null || svc_die "memcached not installed (scripts/services/install-debs.sh memcached)"
  if svc_pidfile_alive "$D/pid"; then svc_die "already running ($D); run '$0 stop' first"; fi
  svc_claim_ports "$MC_PORT"
  local t0; t0=$(svc_now)
  rm -rf "$D"; mkdir -p "$D"
  # Foreground (no -d), so the recorded pid is memcached's own; -P works only with -d.
  # As root memcached insists on -u; svc_spawn drops privileges instead. -U 0: no UDP.
  svc_spawn "$U" "$D/memcached.log" "$D/pid" memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m "$MC_MEM" -c 1024 -t 2
  # usable means: a real set + get round trip, not just an open port
  mc_ok() {
    svc_pidfile_alive "$D/pid" || return 1
    local out
    out=$( (exec 3<>/dev/tcp/127.0.0.1/"$MC_PORT"
      printf 'set alto_svc_probe 0 10 2\r\nok\r\nget alto_svc_probe\r\nquit\r\n' >&3
      timeout 2 cat <&3) 2>/dev/null)
    case $out in *"VALUE alto_svc_probe 0 2"*) return 0 ;; *) return 1 ;; esac
  }
  svc_wait 10 mc_ok || { cat "$D/memcached.log" >&2; svc_die "memcached not answering"; }
  svc_log "memcached READY in $(svc_elapsed "$t0")s pid=$(cat "$D/pid")"
  echo "MEMCACHED=127.0.0.1:$MC_PORT"
}

mc_stop() {
  svc_stop_pidfile "$D/pid" 10 TERM
  svc_finish_stop memcached "$D"
}

case $1 in
  start) mc_start ;;
  stop) mc_stop ;;
esac
