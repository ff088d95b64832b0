#!/bin/bash
# Runs Tempest's image API tests against fresh `alto up` clouds and prints the pass/fail counts:
# pass 1 on the single default store, pass 2 (the multi-store classes) with the two stores of
# tools/tempest/alto-multistore.yaml; Tempest waits for an import to reach every store when it
# names none, which only a single-store cloud (or upstream's) satisfies.
# Usage: tools/tempest/run-image.sh            (everything)
# Needs Debian's tempest (apt-get install -y tempest) and the shared runner (TEMPEST_TOOL).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOL=${TEMPEST_TOOL:-/work/shared/tools/tempest}
BASE=${DATA:-/tmp/alto-tempest-image}
KS_PORT=${KS_PORT:-5700}; IMG_PORT=${IMG_PORT:-9700}
MULTI='tempest\.api\.image\.v2\.(test_images\.MultiStoresImportImagesTest|admin\.test_images\.ImportCopyImagesTest)'

pass() { # name config regex exclude
  local data="$BASE/$1"; rm -rf "$data"; mkdir -p "$data/www"
  head -c 1048576 /dev/urandom > "$data/www/cirros.img"
  (cd "$data/www" && exec python3 -m http.server 18931 --bind 127.0.0.1 >/dev/null 2>&1) & local www=$!
  ALTO_CONFIG="$2" ALTO_DATA_DIR="$data" ALTO_ADMIN_PASSWORD=secret \
    ALTO_IDENTITY__API__PORT=$KS_PORT ALTO_IMAGE__API__PORT=$IMG_PORT "$ROOT/alto" up >"$data/alto.log" 2>&1 & local alto=$!
  for _ in $(seq 1 180); do
    grep -q "is up" "$data/alto.log" && break
    kill -0 $alto 2>/dev/null || { echo "alto up failed:" >&2; tail -20 "$data/alto.log" >&2; kill $www; return 1; }
    sleep 1
  done
  WS=${WS:-/tmp/tempest-alto-image}-$1 CONCURRENCY=${CONCURRENCY:-2} EXTRA_CONF="$HERE/image.ini" EXCLUDE_REGEX="$4" \
    "$TOOL/run.sh" "http://127.0.0.1:$KS_PORT/v3" secret identity,image "$3" | tail -n 4
  kill $alto $www 2>/dev/null; wait $alto 2>/dev/null
}
pass single "$HERE/alto-image.yaml" '^tempest\.api\.image\.' "$MULTI"
pass multi "$HERE/alto-multistore.yaml" "$MULTI" ''
