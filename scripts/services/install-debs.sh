#!/usr/bin/env bash
# Installs the Debian packages behind the named backing services, e.g. `install-debs.sh postgres rabbitmq`.
# Names: postgres mariadb rabbitmq memcached (or `all`). Does nothing, not even apt-get update, when
# every package is already installed. The daemons are never started by apt: the start/stop scripts
# beside this file run them on their own ports.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 postgres|mariadb|rabbitmq|memcached|all ..." >&2; exit 2; }

pkgs=()
for name in "$@"; do
  case $name in
    postgres) pkgs+=(postgresql) ;;
    mariadb) pkgs+=(mariadb-server) ;;
    rabbitmq) pkgs+=(rabbitmq-server) ;;
    memcached) pkgs+=(memcached) ;;
    all) pkgs+=(postgresql mariadb-server rabbitmq-server memcached) ;;
    *) echo "$0: unknown service '$name' (known: postgres mariadb rabbitmq memcached all)" >&2; exit 2 ;;
  esac
done

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} = 0 ]; then
  echo "install-debs: already installed: ${pkgs[*]}" >&2
  exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "$0: must run as root (or with sudo available) to install ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

# Without policy-rc.d, installing a daemon package starts it through /etc/init.d on its default
# port and under /var/lib. Exit code 101 tells invoke-rc.d "not allowed". Removed again afterwards
# when we created it, so the machine's own policy is left as it was.
guard=/usr/sbin/policy-rc.d
if [ ! -e $guard ]; then
  printf '#!/bin/sh\n# added by altostratus scripts/services/install-debs.sh while installing\nexit 101\n' | "${SUDO[@]}" tee $guard >/dev/null
  "${SUDO[@]}" chmod 755 $guard
  trap '"${SUDO[@]}" rm -f '"$guard" EXIT
fi

echo "install-debs: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
for p in "${missing[@]}"; do installed "$p" || { echo "$0: $p still not installed" >&2; exit 1; }; done
echo "install-debs: done" >&2
