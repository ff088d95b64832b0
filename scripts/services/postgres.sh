#!/usr/bin/env bash
# Throwaway PostgreSQL on 127.0.0.1 for tests and CI: `postgres.sh start` prints PG_URL, `stop` removes it.
# The app role owns its database and has CREATEDB (tests create one database per run).
# Env: PG_PORT=55432 PG_DB=cloud PG_USER=cloud PG_PASSWORD=cloudpw PG_DURABLE=0 ALTO_SVC_ROOT ALTO_SVC_KEEP
. "$(dirname "$0")/_lib.sh"
svc_usage "$0" "${1:-}"

PG_PORT=${PG_PORT:-55432}; PG_DB=${PG_DB:-cloud}; PG_USER=${PG_USER:-cloud}; PG_PASSWORD=${PG_PASSWORD:-cloudpw}
D=$ALTO_SVC_ROOT/postgres
U=$(svc_user postgres)
# Debian installs each major version side by side; take the newest unless told otherwise.
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_start() {
  [ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || svc_die "PostgreSQL server not installed (scripts/services/install-debs.sh postgres)"
  if svc_pidfile_alive "$D/pid"; then svc_die "already running ($D); run '$0 stop' first"; fi
  svc_claim_ports "$PG_PORT"
  local t0; t0=$(svc_now)
  rm -rf "$D"; mkdir -p "$D/data" "$D/run" "$D/log"
  chmod 755 "$ALTO_SVC_ROOT" 2>/dev/null || true
  svc_own "$U" "$D"
  # --no-sync: the cluster is thrown away anyway. trust only on the unix socket in our own dir.
  svc_as "$U" "$BIN/initdb" -D "$D/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$D/log/initdb.log" 2>&1 \
    || { cat "$D/log/initdb.log" >&2; svc_die "initdb failed"; }
  # Debian's compiled-in socket dir (/var/run/postgresql) may be missing or not ours: use our own.
  cat >>"$D/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$D/run'
max_connections = 200
shared_buffers = 128MB
EOF
  if [ "${PG_DURABLE:-0}" != 1 ]; then   # test data is throwaway: trade durability for speed
    printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$D/data/postgresql.conf"
  fi
  # -w returns once the server accepts connections
  svc_as "$U" "$BIN/pg_ctl" -D "$D/data" -l "$D/log/postgres.log" -w -t 60 start >/dev/null \
    || { tail -20 "$D/log/postgres.log" >&2; svc_die "pg_ctl start failed"; }
  head -1 "$D/data/postmaster.pid" >"$D/pid"
  svc_as "$U" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$D/run" -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD' CREATEDB" \
    -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >/dev/null
  # usable means: the app's own login over TCP with its password, and it may create a database
  PGPASSWORD=$PG_PASSWORD "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
    -c 'CREATE DATABASE alto_svc_probe' -c 'DROP DATABASE alto_svc_probe' >/dev/null \
    || svc_die "TCP login as $PG_USER (with CREATE DATABASE) failed"
  svc_log "postgres READY in $(svc_elapsed "$t0")s pid=$(cat "$D/pid")"
  echo "PG_URL=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
  echo "PG_ADMIN=psql -h $D/run -p $PG_PORT -U postgres"
}

pg_stop() {
  if [ -f "$D/data/postmaster.pid" ] && [ -n "$BIN" ]; then
    # fast: disconnect clients, roll back, checkpoint, exit
    svc_as "$U" "$BIN/pg_ctl" -D "$D/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  svc_stop_pidfile "$D/pid" 10 INT
  svc_finish_stop postgres "$D"
}

case $1 in
  start) pg_start ;;
  stop) pg_stop ;;
esac
