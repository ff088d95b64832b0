#!/bin/bash
# Runs Tempest's image API tests against upstream Glance (Debian 12 Zed, tools/glance-ref) behind
# upstream Keystone (keystone-ref), set up as tools/tempest/run-image.sh sets up alto, and prints
# the pass/fail counts: pass 1 on one file store, pass 2 (the multi-store classes) with two file
# stores `fast` (default) and `cheap`; import on (glance-direct, web-download, copy-image) and
# web-download allowed only from the local test web server on 127.0.0.1:18931.
# Usage: tools/tempest/run-image-upstream.sh        (both passes, about 10 minutes)
# Env: DATA (state, default /tmp/glance-tempest-image), KS_PORT (35420), GL_PORT (19392),
#      WS (Tempest workspace prefix, default /tmp/tempest-upstream-image; -single/-multi appended),
#      CONCURRENCY (2), KEYSTONE_REF (/work/shared/tools/keystone-ref), TEMPEST_TOOL.
# Needs Debian's tempest, python3-glance (glance-ref installs it), python3-keystone and uwsgi.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOL=${TEMPEST_TOOL:-/work/shared/tools/tempest}
KSREF=${KEYSTONE_REF:-/work/shared/tools/keystone-ref}
BASE=${DATA:-/tmp/glance-tempest-image}
KS_PORT=${KS_PORT:-35420}; GL_PORT=${GL_PORT:-19392}
MULTI='tempest\.api\.image\.v2\.(test_images\.MultiStoresImportImagesTest|admin\.test_images\.ImportCopyImagesTest)'

# Zed has no URL patterns: host, port and scheme lists give the same restriction. The Debian
# SSRF fix (deb12u5) refuses loopback addresses unless the host is in allowed_hosts. These
# options are bounded lists: oslo.config wants the brackets.
filtering() {
  cat <<INI
[import_filtering_opts]
allowed_schemes = [http]
allowed_hosts = [127.0.0.1]
allowed_ports = [18931]
INI
}
# Two file stores as in tools/tempest/alto-multistore.yaml; they replace glance-ref's file1.
multistore() { # glance state dir
  cat <<INI
[DEFAULT]
enabled_backends = fast:file, cheap:file

[glance_store]
default_backend = fast

[fast]
filesystem_store_datadir = $1/images-fast/
store_description = Fast store

[cheap]
filesystem_store_datadir = $1/images-cheap/
store_description = Cheap store

INI
}

stop_all() { # data dir
  GL_DIR="$1/glance" "$ROOT/tools/glance-ref/stop.sh" >/dev/null 2>&1
  KS_DIR="$1/keystone" "$KSREF/stop.sh" >/dev/null 2>&1
  [ -f "$1/www.pid" ] && kill "$(cat "$1/www.pid")" 2>/dev/null
  rm -f "$1/www.pid"
}

pass() { # name stores(single|multi) regex exclude
  local data="$BASE/$1"
  [ -d "$data" ] && stop_all "$data"
  rm -rf "$data"; mkdir -p "$data/www"
  head -c 1048576 /dev/urandom > "$data/www/cirros.img"
  (cd "$data/www" && exec python3 -m http.server 18931 --bind 127.0.0.1 >"$data/www.log" 2>&1) &
  echo $! >"$data/www.pid"
  trap 'stop_all "$data"; exit 130' INT TERM
  if ! KS_DIR="$data/keystone" KS_PORT=$KS_PORT KS_PROCESSES=1 KS_ADMIN_PASSWORD=secret \
      "$KSREF/start.sh" >"$data/keystone-start.log" 2>&1; then
    echo "keystone-ref failed:" >&2; tail -20 "$data/keystone-start.log" >&2; stop_all "$data"; return 1
  fi
  { [ "$2" = multi ] && multistore "$data/glance"; filtering; } >"$data/glance-extra.conf"
  if ! GL_DIR="$data/glance" GL_PORT=$GL_PORT GL_REGISTER=1 KS_URL="http://127.0.0.1:$KS_PORT/v3" \
      KS_ADMIN_PASSWORD=secret GL_EXTRA_CONF="$data/glance-extra.conf" \
      "$ROOT/tools/glance-ref/start.sh" >"$data/glance-start.log" 2>&1; then
    echo "glance-ref failed:" >&2; tail -20 "$data/glance-start.log" >&2; stop_all "$data"; return 1
  fi
  WS=${WS:-/tmp/tempest-upstream-image}-$1 CONCURRENCY=${CONCURRENCY:-2} EXTRA_CONF="$HERE/image.ini" \
    EXCLUDE_REGEX="$4" "$TOOL/run.sh" "http://127.0.0.1:$KS_PORT/v3" secret identity,image "$3" | tail -n 4
  stop_all "$data"
  trap - INT TERM
}
pass single single '^tempest\.api\.image\.' "$MULTI"
pass multi multi "$MULTI" ''
