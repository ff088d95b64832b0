#!/usr/bin/env bash
# Throwaway single-node MariaDB on 127.0.0.1 for tests and CI: `mariadb.sh start` prints MYSQL_URL, `stop` removes it.
# The app user has all privileges on every database, so tests can CREATE DATABASE one per run.
# Env: MY_PORT=53306 MY_DB=cloud MY_USER=cloud MY_PASSWORD=cloudpw MY_DURABLE=0 ALTO_SVC_ROOT ALTO_SVC_KEEP
. "$(dirname "$0")/_lib.sh"
svc_usage "$0" "${1:-}"

MY_PORT=${MY_PORT:-53306}; MY_DB=${MY_DB:-cloud}; MY_USER=${MY_USER:-cloud}; MY_PASSWORD=${MY_PASSWORD:-cloudpw}
D=$ALTO_SVC_ROOT/mariadb
U=$(svc_user mysql)
command -v mariadbd >/dev/null || PATH=$PATH:/usr/sbin

my_start() {
  command -v mariadbd >/dev/null || svc_die "MariaDB server not installed (scripts/services/install-debs.sh mariadb)"
  if svc_pidfile_alive "$D/pid"; then svc_die "already running ($D); run '$0 stop' first"; fi
  svc_claim_ports "$MY_PORT"
  local t0; t0=$(svc_now)
  rm -rf "$D"; mkdir -p "$D/data" "$D/run" "$D/log" "$D/tmp"
  # Our own defaults file, always passed first, so /etc/mysql/* is never read.
  cat >"$D/my.cnf" <<EOF
[client]
socket = $D/run/mysqld.sock
port = $MY_PORT
[mariadbd]
user = $U
datadir = $D/data
tmpdir = $D/tmp
socket = $D/run/mysqld.sock
pid-file = $D/run/mysqld.pid
log-error = $D/log/error.log
port = $MY_PORT
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
max_connections = 500
performance_schema = OFF
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
EOF
  if [ "${MY_DURABLE:-0}" != 1 ]; then   # test data is throwaway: trade durability for speed
    printf 'innodb_flush_log_at_trx_commit = 2\ninnodb_doublewrite = 0\nsync_binlog = 0\n' >>"$D/my.cnf"
  fi
  svc_own "$U" "$D"
  svc_as "$U" mariadb-install-db --defaults-file="$D/my.cnf" --auth-root-authentication-method=normal \
    --skip-test-db >"$D/log/install-db.log" 2>&1 \
    || { tail -30 "$D/log/install-db.log" >&2; svc_die "mariadb-install-db failed"; }
  # mariadbd in the foreground: the recorded pid is the server itself, and SIGTERM is a clean shutdown
  svc_spawn "$U" "$D/log/stdout.log" "$D/pid" mariadbd --defaults-file="$D/my.cnf"
  my_up() { svc_pidfile_alive "$D/pid" && mariadb-admin --defaults-file="$D/my.cnf" -uroot ping; }
  svc_wait 60 my_up || { tail -30 "$D/log/error.log" >&2; svc_die "mariadbd did not come up"; }
  # Global privileges: tests create and drop their own databases. Test-only server on loopback.
  mariadb --defaults-file="$D/my.cnf" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$MY_DB\` CHARACTER SET utf8mb4;
CREATE USER '$MY_USER'@'%' IDENTIFIED BY '$MY_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MY_USER'@'%';
SQL
  # usable means: the app's own login over TCP with its password, and it may create a database
  mariadb --no-defaults -h127.0.0.1 -P"$MY_PORT" -u"$MY_USER" -p"$MY_PASSWORD" "$MY_DB" \
    -e 'CREATE DATABASE alto_svc_probe; DROP DATABASE alto_svc_probe' >/dev/null \
    || svc_die "TCP login as $MY_USER (with CREATE DATABASE) failed"
  svc_log "mariadb READY in $(svc_elapsed "$t0")s pid=$(cat "$D/pid")"
  echo "MYSQL_URL=mysql://$MY_USER:$MY_PASSWORD@127.0.0.1:$MY_PORT/$MY_DB"
  echo "MYSQL_ADMIN=mariadb --defaults-file=$D/my.cnf -uroot"
}

my_stop() {
  svc_stop_pidfile "$D/pid" 60 TERM
  svc_finish_stop mariadb "$D"
}

case $1 in
  start) my_start ;;
  stop) my_stop ;;
esac
