#!/bin/bash
# Stop the cinder-api, cinder-scheduler and cinder-volume started by start.sh (their pid files;
# each leads its own process group), and the RabbitMQ start.sh started, if it did.
# Usage: stop.sh [--purge]   (--purge also deletes $CI_DIR)
CI_DIR=${CI_DIR:-/tmp/cinder-ref}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
for s in cinder-api cinder-scheduler cinder-volume; do
  PIDF="$CI_DIR/$s.pid"
  [ -f "$PIDF" ] || continue
  pid=$(cat "$PIDF")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 -- "-$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null
    fi
    echo "stopped $s (pid $pid)"
  fi
  rm -f "$PIDF"
done
if [ -f "$CI_DIR/rabbitmq-started" ] && [ "${CI_KEEP_RABBIT:-0}" != 1 ]; then
  rmq_root=$(cat "$CI_DIR/rabbitmq-started")
  ALTO_SVC_ROOT="$rmq_root" "$REPO/scripts/services/rabbitmq.sh" stop >/dev/null 2>&1 \
    && echo "stopped RabbitMQ in $rmq_root"
  rm -f "$CI_DIR/rabbitmq-started"
fi
[ "${1:-}" = --purge ] && rm -rf "$CI_DIR" && echo "removed $CI_DIR"
exit 0
