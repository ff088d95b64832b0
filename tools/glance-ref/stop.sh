#!/bin/bash
# Stop the glance-api started by start.sh (its pid file; the workers are its children).
# Usage: stop.sh [--purge]   (--purge also deletes $GL_DIR)
GL_DIR=${GL_DIR:-/tmp/glance-ref}
PIDF="$GL_DIR/glance-api.pid"
if [ -f "$PIDF" ]; then
  pid=$(cat "$PIDF")
  if kill -0 "$pid" 2>/dev/null; then
    # start.sh runs glance-api under setsid, so it leads its own process group: TERM the
    # parent (it stops its workers), then whatever of that group is left
    kill -TERM "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 -- "-$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null
    fi
    echo "stopped glance-ref (pid $pid)"
  else
    echo "glance-ref not running (stale pid $pid)"
  fi
  rm -f "$PIDF"
else
  echo "no pidfile at $PIDF; nothing to stop"
fi
[ "${1:-}" = --purge ] && rm -rf "$GL_DIR" && echo "removed $GL_DIR"
exit 0
