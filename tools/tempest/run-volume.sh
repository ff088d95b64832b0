#!/bin/bash
# Runs Tempest's volume API tests (tempest.api.volume) against a fresh `alto up` cloud with
# identity, image and block storage (compute off: the tests that attach to servers skip) and
# prints the pass/fail/skip counts. A small qcow2 image is uploaded first as [compute] image_ref
# (the volumes-from-image tests boot from it).
# Usage: tools/tempest/run-volume.sh [REGEX]      (default '^tempest\.api\.volume\.')
# Env: CONCURRENCY=2 EXCLUDE_REGEX= LOAD_LIST= KEEP=1 (leave the cloud running, print its pid)
#      ALTO_BIN=./alto (the command started as `$ALTO_BIN up`)
#      DATA=/tmp/alto-tempest-volume WS=/tmp/tempest-alto-volume KS_PORT=5710 IMG_PORT=9710 VOL_PORT=8710
# Needs Debian's tempest, python3-openstackclient and qemu-utils (apt-get install -y tempest
# python3-openstackclient qemu-utils) and the shared runner (TEMPEST_TOOL).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOL=${TEMPEST_TOOL:-/work/shared/tools/tempest}
DATA=${DATA:-/tmp/alto-tempest-volume}
KS_PORT=${KS_PORT:-5710}; IMG_PORT=${IMG_PORT:-9710}; VOL_PORT=${VOL_PORT:-8710}
REGEX=${1:-'^tempest\.api\.volume\.'}

rm -rf "$DATA"; mkdir -p "$DATA"
ALTO_DATA_DIR="$DATA" ALTO_ADMIN_PASSWORD=secret \
  ALTO_IDENTITY__API__PORT=$KS_PORT ALTO_IMAGE__API__PORT=$IMG_PORT ALTO_BLOCK_STORAGE__API__PORT=$VOL_PORT \
  ${ALTO_BIN:-"$ROOT/alto"} up >"$DATA/alto.log" 2>&1 &
alto=$!
stop() { [ -n "${KEEP:-}" ] && { echo "cloud left running: pid $alto, data $DATA"; return; }; kill $alto 2>/dev/null; wait $alto 2>/dev/null; }
for _ in $(seq 1 180); do
  grep -q "is up" "$DATA/alto.log" && break
  kill -0 $alto 2>/dev/null || { echo "alto up failed:" >&2; tail -20 "$DATA/alto.log" >&2; exit 1; }
  sleep 1
done
grep -q "is up" "$DATA/alto.log" || { echo "alto up did not come up in 180 s" >&2; stop; exit 1; }

export OS_CLIENT_CONFIG_FILE="$DATA/clouds.yaml" OS_CLOUD=altostratus PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
[ -f "$OS_CLIENT_CONFIG_FILE" ] || OS_CLIENT_CONFIG_FILE=$(sed -n 's/^export OS_CLIENT_CONFIG_FILE=//p' "$DATA/alto.log")
# the volume backend must have reported a pool before the scheduler can place anything
for _ in $(seq 1 60); do
  [ "$(openstack volume backend pool list -f value 2>/dev/null | wc -l)" -gt 0 ] && break
  sleep 1
done
# a public 64 MiB qcow2 (min_disk 0): what DevStack's cirros image is to these tests
qemu-img create -q -f qcow2 "$DATA/tempest-image.qcow2" 64M
IMAGE_REF=$(openstack image create --public --disk-format qcow2 --container-format bare \
  --file "$DATA/tempest-image.qcow2" -f value -c id tempest-volume-image) || { echo "image upload failed" >&2; stop; exit 1; }
export IMAGE_REF IMAGE_REF_ALT=$IMAGE_REF

WS=${WS:-/tmp/tempest-alto-volume} CONCURRENCY=${CONCURRENCY:-2} EXTRA_CONF="$HERE/volume.ini" \
  "$TOOL/run.sh" "http://127.0.0.1:$KS_PORT/v3" secret identity,image,volume "$REGEX" | tail -n 4
stop
