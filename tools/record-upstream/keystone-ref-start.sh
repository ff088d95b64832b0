#!/bin/bash
# Copy of /work/shared/tools/keystone-ref/start.sh with one addition for the recorder:
# KS_NOTIFY=1 writes Keystone's CADF notifications to the log (oslo.messaging "log"
# driver; authenticate events not opted out), so keystone.py --notifications-log can lift
# the envelopes out of uwsgi.log.
# Everything else is unchanged; stop it with /work/shared/tools/keystone-ref/stop.sh.
#
# Start upstream Keystone (Debian python3-keystone 22.0.x / Zed) as a reference
# implementation on loopback, from scratch:
#   SQLite backend, fernet tokens, db_sync, bootstrap, uwsgi (python3 plugin).
#
# Usage: start.sh            (env overrides: KS_DIR, KS_HOST, KS_PORT, KS_PROCESSES,
#                             KS_ADMIN_PASSWORD, KS_KEEP=1 to reuse existing state,
#                             KS_CACHE=off|memcached  (default off = upstream default config;
#                             memcached = DevStack-like [cache] on a private memcached
#                             at 127.0.0.1:$KS_MEMCACHED_PORT, default 11211),
#                             KS_SECURITY_COMPLIANCE=0|1 (1 = DevStack's default PCI-DSS
#                             settings: lockout after 2 failures for 10 s, last 2 passwords
#                             unique; pair with tools/tempest/extra/security-compliance.ini),
#                             KS_SQLITE_FK=1|0 (1 = enforce SQLite foreign keys, see
#                             keystone-wsgi-public-sqlite.py; 0 = plain keystone-wsgi-public))
# Everything lives under $KS_DIR (default /tmp/keystone-ref). Stop with stop.sh.
set -euo pipefail

KS_DIR=${KS_DIR:-/tmp/keystone-ref}
KS_HOST=${KS_HOST:-127.0.0.1}
KS_PORT=${KS_PORT:-5000}
KS_PROCESSES=${KS_PROCESSES:-2}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
KS_CACHE=${KS_CACHE:-off}
KS_SECURITY_COMPLIANCE=${KS_SECURITY_COMPLIANCE:-0}
KS_SQLITE_FK=${KS_SQLITE_FK:-1}
KS_NOTIFY=${KS_NOTIFY:-0}
HERE=${KS_REF_DIR:-/work/shared/tools/keystone-ref}   # the shared keystone-ref (WSGI wrapper)
if [ "$KS_SQLITE_FK" = 1 ]; then
  WSGI_FILE="$HERE/keystone-wsgi-public-sqlite.py"
else
  WSGI_FILE=/usr/bin/keystone-wsgi-public
fi
KS_MEMCACHED_PORT=${KS_MEMCACHED_PORT:-11211}
PY=/usr/bin/python3          # Debian python with the OpenStack packages
URL="http://${KS_HOST}:${KS_PORT}/v3/"

for b in keystone-manage keystone-wsgi-public uwsgi; do
  command -v "$b" >/dev/null || { echo "missing $b (apt-get install python3-keystone uwsgi-core uwsgi-plugin-python3)" >&2; exit 1; }
done

if [ -f "$KS_DIR/uwsgi.pid" ] && kill -0 "$(cat "$KS_DIR/uwsgi.pid")" 2>/dev/null; then
  echo "keystone-ref already running (pid $(cat "$KS_DIR/uwsgi.pid")); run stop.sh first" >&2
  exit 1
fi

if [ "${KS_KEEP:-0}" != 1 ]; then
  rm -rf "$KS_DIR"
fi
mkdir -p "$KS_DIR"
mkdir -p -m 700 "$KS_DIR"/fernet-keys "$KS_DIR"/credential-keys
CONF="$KS_DIR/keystone.conf"

cat > "$CONF" <<CONF
[DEFAULT]
debug = false
use_stderr = true

[database]
connection = sqlite:///${KS_DIR}/keystone.db

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = ${KS_DIR}/fernet-keys
max_active_keys = 3

[fernet_receipts]
key_repository = ${KS_DIR}/fernet-keys

[credential]
key_repository = ${KS_DIR}/credential-keys

CONF
if [ "$KS_NOTIFY" = 1 ]; then
  # oslo.messaging's log driver: one log line per notification, logger
  # oslo.messaging.notification.<event_type>, the message envelope as JSON.
  cat >> "$CONF" <<CONF
[oslo_messaging_notifications]
driver = log

CONF
  # notification_opt_out is emptied because upstream's default opts out of
  # identity.authenticate.{success,pending,failed}; we want to record those too.
  sed -i 's/^\[DEFAULT\]$/[DEFAULT]\nnotification_format = cadf\nnotification_opt_out =/' "$CONF"
fi
if [ "$KS_SECURITY_COMPLIANCE" = 1 ]; then
  cat >> "$CONF" <<CONF
[security_compliance]
lockout_failure_attempts = 2
lockout_duration = 10
unique_last_password_count = 2
CONF
fi
if [ "$KS_CACHE" = memcached ]; then
  command -v memcached >/dev/null || { echo "KS_CACHE=memcached needs the memcached package" >&2; exit 1; }
  # same settings DevStack uses for keystone
  cat >> "$CONF" <<CONF
[cache]
enabled = true
backend = dogpile.cache.memcached
memcache_servers = 127.0.0.1:${KS_MEMCACHED_PORT}
CONF
  memcached -d -u root -l 127.0.0.1 -p "$KS_MEMCACHED_PORT" -U 0 -m 64 -P "$KS_DIR/memcached.pid"
  sleep 0.3
  echo "memcached on 127.0.0.1:$KS_MEMCACHED_PORT (pid $(cat "$KS_DIR/memcached.pid"))"
else
  cat >> "$CONF" <<CONF
[cache]
# upstream default: oslo.cache disabled (every request hits SQL)
enabled = false
CONF
fi

# Keystone reads its config from these env vars when run under a WSGI server
export OS_KEYSTONE_CONFIG_DIR="$KS_DIR"
export OS_KEYSTONE_CONFIG_FILES=keystone.conf

KM="keystone-manage --config-file $CONF"
run_km() {  # run a keystone-manage step, log to manage.log, fail loudly
  echo "+ keystone-manage $*" >>"$KS_DIR/manage.log"
  if ! $KM "$@" >>"$KS_DIR/manage.log" 2>&1; then
    echo "keystone-manage $1 failed; tail of $KS_DIR/manage.log:" >&2
    tail -n 30 "$KS_DIR/manage.log" >&2
    exit 1
  fi
}
if [ "${KS_KEEP:-0}" != 1 ] || [ ! -f "$KS_DIR/keystone.db" ]; then
  run_km fernet_setup     --keystone-user root --keystone-group root
  run_km credential_setup --keystone-user root --keystone-group root
  run_km db_sync
  run_km bootstrap \
    --bootstrap-password "$KS_ADMIN_PASSWORD" \
    --bootstrap-username admin \
    --bootstrap-project-name admin \
    --bootstrap-role-name admin \
    --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$URL" \
    --bootstrap-internal-url "$URL" \
    --bootstrap-public-url "$URL"
  # SQLite + >1 worker process: switch the DB file to WAL journal mode (persistent
  # in the file). Keystone 22's federation sql driver get_enabled_service_providers()
  # returns a lazy Query outside its session_for_read() block; iterating it (on every
  # token issue, for the token's service_providers list) re-begins a transaction on a
  # closed session (oslo.db emits an explicit BEGIN on SQLite) that is only released
  # when Python's cyclic GC collects the session. In rollback-journal mode that idle
  # SHARED lock in one worker makes every write in the other worker fail after the
  # 5 s busy timeout ("database is locked" -> HTTP 500). In WAL mode readers never
  # block writers, so the leak is harmless.
  "$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('sqlite journal_mode =', c.execute('PRAGMA journal_mode=WAL').fetchone()[0]); c.close()" "$KS_DIR/keystone.db"
  echo "keystone-manage fernet_setup/credential_setup/db_sync/bootstrap OK (log: $KS_DIR/manage.log)"
fi

# uwsgi: plain HTTP socket (no separate router process), N worker processes,
# 1 thread each, lazy-apps so every worker builds its own app/DB engine after fork
# (same approach as DevStack's keystone uwsgi ini). uwsgi's --http-socket does
# not do HTTP keep-alive, so (like DevStack) we send "Connection: close";
# without it python-requests reuses the socket and gets RemoteDisconnected.
# uwsgi puts its working directory on sys.path; this folder holds keystone.py (the
# recorder), which would shadow the keystone package, so start from $KS_DIR.
cd "$KS_DIR"
uwsgi \
  --plugin python3 \
  --http-socket "${KS_HOST}:${KS_PORT}" \
  --wsgi-file "$WSGI_FILE" \
  --master \
  --processes "$KS_PROCESSES" \
  --threads 1 \
  --enable-threads \
  --lazy-apps \
  --thunder-lock \
  --buffer-size 65535 \
  --add-header "Connection: close" \
  --die-on-term \
  --env OS_KEYSTONE_CONFIG_DIR="$KS_DIR" \
  --env OS_KEYSTONE_CONFIG_FILES=keystone.conf \
  --env KS_SQLITE_FK="$KS_SQLITE_FK" \
  --procname-prefix-spaced keystone-ref \
  --pidfile "$KS_DIR/uwsgi.pid" \
  --logto "$KS_DIR/uwsgi.log" \
  --daemonize2 "$KS_DIR/uwsgi.log"

# wait for readiness
for i in $(seq 1 120); do
  ready=$(grep -c "WSGI app 0 (mountpoint='') ready" "$KS_DIR/uwsgi.log" 2>/dev/null || true)
  if [ "${ready:-0}" -ge "$KS_PROCESSES" ] && curl -fsS -o /dev/null "$URL" 2>/dev/null; then
    echo "keystone-ref up at $URL (uwsgi master pid $(cat "$KS_DIR/uwsgi.pid"), $KS_PROCESSES workers)"
    echo "admin / $KS_ADMIN_PASSWORD, project admin, domain Default, region RegionOne"
    echo "config: processes=$KS_PROCESSES cache=$KS_CACHE security_compliance=$KS_SECURITY_COMPLIANCE notify=$KS_NOTIFY sqlite_fk=$KS_SQLITE_FK wsgi=$WSGI_FILE"
    exit 0
  fi
  sleep 0.5
done
echo "keystone-ref did not answer on $URL within 60s; see $KS_DIR/uwsgi.log" >&2
exit 1
