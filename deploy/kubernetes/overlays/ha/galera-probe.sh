#!/bin/bash
# Probes for a MariaDB Galera member: `alive` (the server answers) or `ready` (synced with the cluster).
set -euo pipefail
export MYSQL_PWD=$MARIADB_ROOT_PASSWORD
case ${1:-} in
  alive)
    # answers even while a state transfer keeps it from serving queries
    exec mariadb-admin --protocol=socket --user=root ping
    ;;
  ready)
    state=$(mariadb --protocol=socket --user=root --batch --skip-column-names \
      --execute="SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'" | awk '{ print $2 }')
    [ "$state" = Synced ] || { echo "wsrep_local_state_comment=$state" >&2; exit 1; }
    ;;
  *)
    echo "usage: probe.sh alive|ready" >&2
    exit 2
    ;;
esac
