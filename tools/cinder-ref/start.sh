#!/bin/bash
# Start upstream Cinder (Debian 12 python3-cinder 2:21.3.x, Zed) on loopback as a reference:
# cinder-api + cinder-scheduler + cinder-volume (cinder's own FakeLoggingVolumeDriver), SQLite,
# RabbitMQ, Keystone auth, secure RBAC.
#
# Env: CI_DIR (state dir, default /tmp/cinder-ref; wiped unless CI_KEEP=1), CI_HOST (127.0.0.1),
#      CI_PORT (18776), KS_URL (Keystone v3 URL, default http://127.0.0.1:5000/v3),
#      KS_ADMIN_PASSWORD (secret; admin/admin in Default domain), CI_SERVICE_PASSWORD (generated
#      if unset), CI_REGISTER=1 (also create the volumev3 and block-storage services and their
#      endpoints), CI_TRANSPORT_URL (an oslo.messaging URL; unset: start.sh starts its own
#      RabbitMQ through scripts/services/rabbitmq.sh in CI_RMQ_ROOT, default
#      /tmp/alto-svc-cinderref, AMQP port CI_RMQ_PORT 56672, +1 Erlang distribution, epmd
#      CI_RMQ_PORT-2203), CI_EXTRA_CONF (a file passed as a second --config-file, whose options
#      override the generated ones), CI_DEBUG=1, CI_CACHE (where cinder-common's data files are
#      unpacked, default /tmp/cinder-ref-cache).
# See README.md here. Stop with stop.sh.
set -euo pipefail

CI_DIR=${CI_DIR:-/tmp/cinder-ref}
CI_HOST=${CI_HOST:-127.0.0.1}
CI_PORT=${CI_PORT:-18776}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_URL=${KS_URL%/}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
CI_REGISTER=${CI_REGISTER:-0}
CI_DEBUG=${CI_DEBUG:-0}
CI_CACHE=${CI_CACHE:-/tmp/cinder-ref-cache}
CI_RMQ_ROOT=${CI_RMQ_ROOT:-/tmp/alto-svc-cinderref}
CI_RMQ_PORT=${CI_RMQ_PORT:-56672}
PY=/usr/bin/python3          # Debian's python, where python3-cinder lives
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
URL="http://${CI_HOST}:${CI_PORT}"
# keystonemiddleware wants the unversioned Keystone root (DevStack's KEYSTONE_SERVICE_URI)
KS_ROOT=${KS_URL%/v3}
SERVICES="cinder-api cinder-scheduler cinder-volume"

apt_install() {
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' 2>/dev/null | head -1)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@" \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@"; }
}
if ! "$PY" -c 'import cinder.cmd.api, cinder.tests.fake_driver' 2>/dev/null; then
  apt_install python3-cinder
fi

for s in $SERVICES; do
  if [ -f "$CI_DIR/$s.pid" ] && kill -0 "$(cat "$CI_DIR/$s.pid")" 2>/dev/null; then
    echo "cinder-ref already running ($s pid $(cat "$CI_DIR/$s.pid")); run stop.sh first" >&2
    exit 1
  fi
done
if [ "${CI_KEEP:-0}" != 1 ]; then
  rm -rf "$CI_DIR"
fi
mkdir -p "$CI_DIR"/locks "$CI_DIR"/volumes
CI_DIR=$(cd "$CI_DIR" && pwd)

# --- RabbitMQ (cinder-api casts to the scheduler, the scheduler to cinder-volume)
if [ -z "${CI_TRANSPORT_URL:-}" ]; then
  rmq_env=(ALTO_SVC_ROOT="$CI_RMQ_ROOT" RMQ_PORT="$CI_RMQ_PORT" RMQ_DIST_PORT=$((CI_RMQ_PORT + 1))
           RMQ_EPMD_PORT=$((CI_RMQ_PORT - 2203)) RMQ_NODE=cinderref RMQ_VHOST=cinder
           RMQ_USER=cinder RMQ_PASSWORD=cinderpw)
  CI_TRANSPORT_URL="rabbit://cinder:cinderpw@127.0.0.1:${CI_RMQ_PORT}/cinder"
  if [ -f "$CI_RMQ_ROOT/rabbitmq/pid" ] && kill -0 "$(cat "$CI_RMQ_ROOT/rabbitmq/pid")" 2>/dev/null; then
    echo "reusing RabbitMQ in $CI_RMQ_ROOT (port $CI_RMQ_PORT)" >&2
  else
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_install rabbitmq-server
    env "${rmq_env[@]}" "$REPO/scripts/services/rabbitmq.sh" start >"$CI_DIR/rabbitmq.out" 2>&1 \
      || { cat "$CI_DIR/rabbitmq.out" >&2; exit 1; }
    echo "$CI_RMQ_ROOT" >"$CI_DIR/rabbitmq-started"
  fi
fi

if [ -z "${CI_SERVICE_PASSWORD:-}" ]; then
  if [ -f "$CI_DIR/service-password" ]; then
    CI_SERVICE_PASSWORD=$(cat "$CI_DIR/service-password")
  else
    # hex: a leading '-' would read as an option somewhere
    CI_SERVICE_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
  fi
fi
(umask 077; printf '%s\n' "$CI_SERVICE_PASSWORD" >"$CI_DIR/service-password")

# --- Keystone: cinder user (+ volumev3/block-storage services and endpoints)
setup_args=(--ks-url "$KS_URL" --admin-password "$KS_ADMIN_PASSWORD" --cinder-password "$CI_SERVICE_PASSWORD")
if [ "$CI_REGISTER" = 1 ]; then
  setup_args+=(--register --cinder-url "$URL")
fi
"$PY" "$HERE/keystone-setup.py" "${setup_args[@]}" >"$CI_DIR/keystone-setup.env"
# shellcheck disable=SC1091
. "$CI_DIR/keystone-setup.env"

# --- cinder-common's data files: api-paste.ini and resource_filters.json (which list filters
# each resource accepts: without it every filter is "Invalid filter keys"). python3-cinder does
# not ship them; unpack cinder-common's .deb (not installed: its maintainer scripts want
# dbconfig and system services) unless they are already on the machine.
common=""
for d in / "$CI_CACHE/"; do
  if [ -f "${d}usr/share/cinder-common/api-paste.ini" ] && [ -f "${d}etc/cinder/resource_filters.json" ]; then
    common=$d; break
  fi
done
if [ -z "$common" ]; then
  mkdir -p "$CI_CACHE"
  (cd "$CI_CACHE" && apt-get download -qq cinder-common >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq cinder-common; })
  dpkg-deb -x "$(ls "$CI_CACHE"/cinder-common_*.deb | tail -1)" "$CI_CACHE"
  common="$CI_CACHE/"
fi
cp "${common}etc/cinder/resource_filters.json" "$CI_DIR/resource_filters.json"
sed "s|^disable_by_file_path = .*|disable_by_file_path = ${CI_DIR}/healthcheck_disable|" \
  "${common}usr/share/cinder-common/api-paste.ini" >"$CI_DIR/api-paste.ini"

CONF="$CI_DIR/cinder.conf"
cat >"$CONF" <<CONF
[DEFAULT]
debug = $([ "$CI_DEBUG" = 1 ] && echo true || echo false)
use_stderr = true
# a fixed host name: it is in os-services and os-vol-host-attr:host (cinder-ref@fake#fake)
host = cinder-ref
my_ip = ${CI_HOST}
state_path = ${CI_DIR}
volumes_dir = ${CI_DIR}/volumes
osapi_volume_listen = ${CI_HOST}
osapi_volume_listen_port = ${CI_PORT}
osapi_volume_workers = 1
api_paste_config = ${CI_DIR}/api-paste.ini
resource_query_filters_file = ${CI_DIR}/resource_filters.json
auth_strategy = keystone
transport_url = ${CI_TRANSPORT_URL}
enabled_backends = fake
# the type created by the database migrations, as in every Zed install
default_volume_type = __DEFAULT__
storage_availability_zone = nova
# the other services' state reports every 10 s (default); a service is "down" after 60 s
report_interval = 10

[database]
connection = sqlite:///${CI_DIR}/cinder.db

[fake]
# cinder's own logging driver (packaged in python3-cinder, used by upstream's functional
# tests): an LVM driver whose commands are logged, never run; infinite capacity. Subclassed in
# cinder_ref_driver.py here (on PYTHONPATH) for extend, which the packaged fake lacks.
volume_driver = cinder_ref_driver.CinderRefDriver
volume_backend_name = fake

[keystone_authtoken]
www_authenticate_uri = ${KS_ROOT}
auth_url = ${KS_ROOT}
auth_type = password
username = cinder
password = ${CI_SERVICE_PASSWORD}
user_domain_id = default
project_name = service
project_domain_id = default
service_token_roles_required = true

[oslo_policy]
enforce_new_defaults = true
enforce_scope = true

[oslo_concurrency]
lock_path = ${CI_DIR}/locks

[oslo_messaging_notifications]
driver = noop
CONF

conf_args=(--config-file "$CONF")
if [ -n "${CI_EXTRA_CONF:-}" ]; then
  cp "$CI_EXTRA_CONF" "$CI_DIR/extra.conf"
  conf_args+=(--config-file "$CI_DIR/extra.conf")
fi
printf '%s\n' "${conf_args[@]}" >"$CI_DIR/config-args"

if [ "${CI_KEEP:-0}" != 1 ] || [ ! -f "$CI_DIR/cinder.db" ]; then
  if ! "$PY" -c 'import sys; sys.argv[0] = "cinder-manage"; from cinder.cmd.manage import main; sys.exit(main())' \
      "${conf_args[@]}" db sync >"$CI_DIR/manage.log" 2>&1; then
    echo "cinder-manage db sync failed; tail of $CI_DIR/manage.log:" >&2
    tail -n 30 "$CI_DIR/manage.log" >&2
    exit 1
  fi
  # three processes write the one SQLite file: WAL (persistent in the file) lets readers
  # go on while one writes; cinder_ref_sqlite.py (imported by each service) makes every
  # transaction BEGIN IMMEDIATE, so writers wait for each other instead of failing with
  # "database is locked" on quota reservations
  "$PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("pragma journal_mode=wal")' "$CI_DIR/cinder.db"
fi

# each service in the background, in its own session (stop.sh kills the process group)
for s in $SERVICES; do
  mod=${s#cinder-}
  PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" nohup setsid "$PY" -c "import sys; sys.argv[0] = '$s'; import cinder_ref_sqlite; from cinder.cmd.$mod import main; sys.exit(main())" \
    "${conf_args[@]}" >>"$CI_DIR/$s.log" 2>&1 </dev/null &
  echo $! >"$CI_DIR/$s.pid"
done

alive() {
  for s in $SERVICES; do
    if ! kill -0 "$(cat "$CI_DIR/$s.pid")" 2>/dev/null; then
      echo "$s exited; tail of $CI_DIR/$s.log:" >&2
      tail -n 30 "$CI_DIR/$s.log" >&2
      return 1
    fi
  done
}
up=0
for i in $(seq 1 180); do
  alive || exit 1
  if curl -fsS -o /dev/null "$URL/" 2>/dev/null || [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/" 2>/dev/null)" = 300 ]; then
    up=1; break
  fi
  sleep 0.5
done
[ $up = 1 ] || { echo "cinder-api did not answer on $URL/ within 90s; see $CI_DIR/cinder-api.log" >&2; exit 1; }
# the volume service is usable once it has reported its capabilities to the scheduler;
# the database row appears when it has started (its first stats report follows at once)
"$PY" - "$CI_DIR/cinder.db" <<'PYEOF' || { alive; echo "cinder-volume never registered; see $CI_DIR/cinder-volume.log" >&2; exit 1; }
import sqlite3, sys, time
end = time.time() + 90
while time.time() < end:
    try:
        db = sqlite3.connect(sys.argv[1], timeout=5)
        rows = db.execute("select topic from services where deleted = 0").fetchall()
        db.close()
        if {'cinder-volume', 'cinder-scheduler'} <= {r[0] for r in rows}:
            sys.exit(0)
    except sqlite3.Error:
        pass
    time.sleep(0.5)
sys.exit(1)
PYEOF
alive || exit 1
echo "cinder-ref up at $URL (api pid $(cat "$CI_DIR/cinder-api.pid"), scheduler and volume running, state in $CI_DIR)"
echo "keystone: $KS_URL; cinder service user: cinder / (password in $CI_DIR/service-password)"
echo "messaging: ${CI_TRANSPORT_URL%%@*}@...; backend: fake (cinder_ref_driver.CinderRefDriver), host cinder-ref@fake#fake"
[ -n "${ENDPOINT_ID:-}" ] && echo "volumev3 and block-storage endpoints registered at $URL/v3/\$(project_id)s"
echo "$URL"
exit 0
