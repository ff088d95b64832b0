# Shared by ./alto and scripts/test: make a Node.js >= 22 available and the workspace built.
# Source it, don't run it. Functions print progress on stderr and leave PATH pointing at the
# node that was chosen.
#
# The Debian machines we target ship Node 20 (past end of life). The npm registry carries
# Node 24 as the package node-linux-<arch> (binary and headers), so we install it into
# .tools/ with the machine's npm: no download from anywhere but the npm registry.

ALTO_NODE_VERSION=${ALTO_NODE_VERSION:-24.21.0}
ALTO_NODE_MIN_MAJOR=22

alto_log() { printf 'alto: %s\n' "$*" >&2; }

_alto_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# alto_ensure_node ROOT: puts a node >= 22 first on PATH (system one if new enough, else the
# project-local copy, installing it on first use).
alto_ensure_node() {
  local root=$1 sys arch pkg dir
  sys=$(command -v node || true)
  if [ -n "$sys" ] && [ "$(_alto_node_major "$sys")" -ge "$ALTO_NODE_MIN_MAJOR" ] && [ "${ALTO_FORCE_LOCAL_NODE:-0}" != 1 ]; then
    return 0
  fi
  case $(uname -m) in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) alto_log "unsupported CPU $(uname -m)"; return 1 ;; esac
  pkg=node-linux-$arch
  dir=$root/.tools/node-$ALTO_NODE_VERSION
  if [ ! -x "$dir/node_modules/$pkg/bin/node" ]; then
    command -v npm >/dev/null || { alto_log "npm is needed once to fetch Node.js $ALTO_NODE_VERSION (apt-get install -y nodejs npm)"; return 1; }
    alto_log "installing Node.js $ALTO_NODE_VERSION from the npm registry into .tools/ (first run only, ~10 s)"
    mkdir -p "$dir"
    (cd "$dir" && printf '{"private":true}\n' >package.json &&
      npm install --no-save --no-audit --no-fund --loglevel=error "$pkg@$ALTO_NODE_VERSION" >/dev/null) ||
      { alto_log "could not install $pkg@$ALTO_NODE_VERSION from the npm registry"; rm -rf "$dir"; return 1; }
  fi
  export PATH="$dir/node_modules/$pkg/bin:$PATH"
  # native addons build against this node's own headers (the machine's npmrc points at /usr)
  export npm_config_nodedir="$dir/node_modules/$pkg"
}

# alto_ensure_built ROOT: npm ci when the lockfile changed, tsc -b apps/cli when one of its sources changed.
alto_ensure_built() {
  local root=$1 stamp=$1/.build-stamp
  if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    alto_log "installing npm dependencies (first run only, ~30 s)"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { alto_log "npm ci failed; run 'npm ci' in $root to see why"; return 1; }
    rm -f "$stamp"
  fi
  # only what the alto command is built from: a half-edited test never stops ./alto
  if [ ! -f "$stamp" ] || [ -n "$(cd "$root" && find packages services apps \( -name node_modules -o -name dist \) -prune -o \
        -newer "$stamp" \( -name '*.ts' -o -name 'package.json' -o -name 'tsconfig*.json' \) -print -quit 2>/dev/null)" ]; then
    alto_log "building (tsc -b)"
    (cd "$root" && node node_modules/typescript/bin/tsc -b apps/cli) || { alto_log "build failed; fix the errors above or run 'npm run build'"; return 1; }
    touch "$stamp"
  fi
}
