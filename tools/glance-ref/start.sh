#!/bin/bash
# Start upstream Glance (Debian 12 python3-glance 2:25.1.x, Zed) on loopback as a reference.
#
# Env: GL_DIR (state dir, default /tmp/glance-ref; wiped unless GL_KEEP=1), GL_HOST (127.0.0.1),
#      GL_PORT (19292), GL_WORKERS (1), KS_URL (Keystone v3 URL, default
#      http://127.0.0.1:5000/v3), KS_ADMIN_PASSWORD (secret; admin/admin in Default domain),
#      GL_SERVICE_PASSWORD (generated if unset), GL_REGISTER=1 (also create the image
#      service and its endpoints), GL_KEYSTONE_LIMITS=1 ([DEFAULT] use_keystone_limits = True
#      with oslo.limit, implies GL_REGISTER=1; GL_LIMITS="image_count_total=5 ..." overrides
#      the registered defaults), GL_EXTRA_CONF (a file passed as a second --config-file, whose
#      options override the generated ones), GL_DEBUG=1, GL_METADEFS=0 (skip db_load_metadefs),
#      GL_CACHE (where glance-common's data files are unpacked, default /tmp/glance-ref-cache).
# See README.md here. Stop with stop.sh.
set -euo pipefail

GL_DIR=${GL_DIR:-/tmp/glance-ref}
GL_HOST=${GL_HOST:-127.0.0.1}
GL_PORT=${GL_PORT:-19292}
GL_WORKERS=${GL_WORKERS:-1}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_URL=${KS_URL%/}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
GL_REGISTER=${GL_REGISTER:-0}
GL_KEYSTONE_LIMITS=${GL_KEYSTONE_LIMITS:-0}
GL_DEBUG=${GL_DEBUG:-0}
GL_METADEFS=${GL_METADEFS:-1}
GL_CACHE=${GL_CACHE:-/tmp/glance-ref-cache}
PY=/usr/bin/python3          # Debian's python, where python3-glance lives
HERE=$(cd "$(dirname "$0")" && pwd)
URL="http://${GL_HOST}:${GL_PORT}"
# keystonemiddleware wants the unversioned Keystone root (DevStack's KEYSTONE_SERVICE_URI)
KS_ROOT=${KS_URL%/v3}

if ! "$PY" -c 'import glance.cmd.api' 2>/dev/null; then
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' 2>/dev/null | head -1)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 python3-glance \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 python3-glance; }
fi

if [ -f "$GL_DIR/glance-api.pid" ] && kill -0 "$(cat "$GL_DIR/glance-api.pid")" 2>/dev/null; then
  echo "glance-ref already running (pid $(cat "$GL_DIR/glance-api.pid")); run stop.sh first" >&2
  exit 1
fi
if [ "${GL_KEEP:-0}" != 1 ]; then
  rm -rf "$GL_DIR"
fi
mkdir -p "$GL_DIR"/images "$GL_DIR"/staging "$GL_DIR"/tasks "$GL_DIR"/locks
GL_DIR=$(cd "$GL_DIR" && pwd)

if [ -z "${GL_SERVICE_PASSWORD:-}" ]; then
  if [ -f "$GL_DIR/service-password" ]; then
    GL_SERVICE_PASSWORD=$(cat "$GL_DIR/service-password")
  else
    GL_SERVICE_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
  fi
fi
(umask 077; printf '%s\n' "$GL_SERVICE_PASSWORD" >"$GL_DIR/service-password")

# --- Keystone: glance user (+ image service/endpoints, + registered limits)
setup_args=(--ks-url "$KS_URL" --admin-password "$KS_ADMIN_PASSWORD" --glance-password "$GL_SERVICE_PASSWORD")
if [ "$GL_REGISTER" = 1 ] || [ "$GL_KEYSTONE_LIMITS" = 1 ]; then
  setup_args+=(--register --glance-url "$URL")
fi
if [ "$GL_KEYSTONE_LIMITS" = 1 ]; then
  setup_args+=(--limits)
  for l in ${GL_LIMITS:-}; do setup_args+=(--limit "$l"); done
fi
"$PY" "$HERE/keystone-setup.py" "${setup_args[@]}" >"$GL_DIR/keystone-setup.env"
# shellcheck disable=SC1091
. "$GL_DIR/keystone-setup.env"

# --- glance-common's data files: schema-image.json (the custom image properties every
# packaged or DevStack install has in /etc/glance) and the metadefs namespaces DevStack loads.
# python3-glance does not ship them; unpack glance-common's .deb (not installed: its maintainer
# scripts want dbconfig) unless they are already on the machine.
common_dir=""
for d in /usr/share/glance-common "$GL_CACHE/usr/share/glance-common"; do
  if [ -f "$d/schema-image.json" ]; then common_dir=$d; break; fi
done
if [ -z "$common_dir" ]; then
  mkdir -p "$GL_CACHE"
  (cd "$GL_CACHE" && apt-get download -qq glance-common >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq glance-common; })
  dpkg-deb -x "$(ls "$GL_CACHE"/glance-common_*.deb | tail -1)" "$GL_CACHE"
  common_dir="$GL_CACHE/usr/share/glance-common"
fi
# glance looks for schema-image.json in the directories of its --config-file's
cp "$common_dir/schema-image.json" "$GL_DIR/schema-image.json"

# --- paste pipeline: upstream's etc/glance-api-paste.ini, keystone flavor only
# (python3-glance does not ship the ini; glance-common puts it in /usr/share/glance-common)
cat >"$GL_DIR/glance-api-paste.ini" <<INI
[pipeline:glance-api-keystone]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = ${GL_DIR}/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
INI

CONF="$GL_DIR/glance-api.conf"
cat >"$CONF" <<CONF
[DEFAULT]
debug = $([ "$GL_DEBUG" = 1 ] && echo true || echo false)
use_stderr = true
bind_host = ${GL_HOST}
bind_port = ${GL_PORT}
workers = ${GL_WORKERS}
enabled_backends = file1:file
enabled_import_methods = [glance-direct,web-download,copy-image]
worker_self_reference_url = ${URL}
# secure RBAC: [DEFAULT] enforce_secure_rbac must equal [oslo_policy] enforce_new_defaults
enforce_secure_rbac = true
use_keystone_limits = $([ "$GL_KEYSTONE_LIMITS" = 1 ] && echo true || echo false)

[database]
connection = sqlite:///${GL_DIR}/glance.db

[glance_store]
default_backend = file1

[file1]
filesystem_store_datadir = ${GL_DIR}/images/
store_description = Filesystem store in ${GL_DIR}/images (glance-ref)

[os_glance_staging_store]
filesystem_store_datadir = ${GL_DIR}/staging/

[os_glance_tasks_store]
filesystem_store_datadir = ${GL_DIR}/tasks/

[paste_deploy]
flavor = keystone
config_file = ${GL_DIR}/glance-api-paste.ini

[keystone_authtoken]
www_authenticate_uri = ${KS_ROOT}
auth_url = ${KS_ROOT}
auth_type = password
username = glance
password = ${GL_SERVICE_PASSWORD}
user_domain_id = default
project_name = service
project_domain_id = default
service_token_roles_required = true

[oslo_policy]
enforce_new_defaults = true
enforce_scope = true

[oslo_concurrency]
lock_path = ${GL_DIR}/locks
CONF
if [ "$GL_KEYSTONE_LIMITS" = 1 ]; then
  cat >>"$CONF" <<CONF

[oslo_limit]
auth_url = ${KS_ROOT}
auth_type = password
username = glance
password = ${GL_SERVICE_PASSWORD}
user_domain_id = default
system_scope = all
endpoint_id = ${ENDPOINT_ID}
CONF
fi

conf_args=(--config-file "$CONF")
if [ -n "${GL_EXTRA_CONF:-}" ]; then
  cp "$GL_EXTRA_CONF" "$GL_DIR/extra.conf"
  conf_args+=(--config-file "$GL_DIR/extra.conf")
fi
printf '%s\n' "${conf_args[@]}" >"$GL_DIR/config-args"

if [ "${GL_KEEP:-0}" != 1 ] || [ ! -f "$GL_DIR/glance.db" ]; then
  if ! "$PY" -c 'import sys; from glance.cmd.manage import main; sys.exit(main())' \
      "${conf_args[@]}" db_sync >"$GL_DIR/manage.log" 2>&1; then
    echo "glance-manage db_sync failed; tail of $GL_DIR/manage.log:" >&2
    tail -n 30 "$GL_DIR/manage.log" >&2
    exit 1
  fi
  if [ "$GL_METADEFS" = 1 ]; then
    if ! "$PY" -c 'import sys; from glance.cmd.manage import main; sys.exit(main())' \
        "${conf_args[@]}" db load_metadefs --path "$common_dir/metadefs" >>"$GL_DIR/manage.log" 2>&1; then
      echo "glance-manage db_load_metadefs failed; tail of $GL_DIR/manage.log:" >&2
      tail -n 30 "$GL_DIR/manage.log" >&2
      exit 1
    fi
  fi
fi

# glance-api (eventlet server) in the background; it forks GL_WORKERS children
nohup setsid "$PY" -c 'import sys; sys.argv[0] = "glance-api"; from glance.cmd.api import main; sys.exit(main())' \
  "${conf_args[@]}" >>"$GL_DIR/glance-api.log" 2>&1 </dev/null &
echo $! >"$GL_DIR/glance-api.pid"

for i in $(seq 1 120); do
  if curl -fsS -o /dev/null "$URL/versions" 2>/dev/null; then
    echo "glance-ref up at $URL (pid $(cat "$GL_DIR/glance-api.pid"), workers=$GL_WORKERS, state in $GL_DIR)"
    echo "keystone: $KS_URL; glance service user: glance / (password in $GL_DIR/service-password)"
    [ -n "${ENDPOINT_ID:-}" ] && echo "image endpoint registered: $ENDPOINT_ID"
    [ "$GL_KEYSTONE_LIMITS" = 1 ] && echo "quotas: use_keystone_limits = true"
    echo "$URL"
    exit 0
  fi
  if ! kill -0 "$(cat "$GL_DIR/glance-api.pid")" 2>/dev/null; then
    echo "glance-api exited; tail of $GL_DIR/glance-api.log:" >&2
    tail -n 30 "$GL_DIR/glance-api.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "glance-api did not answer on $URL/versions within 60s; see $GL_DIR/glance-api.log" >&2
exit 1
