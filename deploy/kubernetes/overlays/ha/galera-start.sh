#!/bin/bash
# Starts one MariaDB Galera member: joins the running members, or creates the cluster when this is
# the first member, its data directory is empty and no other member answers.
# Not covered: restarting after every member stopped at once (a full outage). Then each member has
# data and waits for the others; recovery (pick the most advanced member, mark it
# safe_to_bootstrap, start it with --wsrep-new-cluster) is manual for now; see the README.
set -euo pipefail

DATADIR=${DATADIR:-/var/lib/mysql}
RUNDIR=${RUNDIR:-/run/galera}
GALERA_SERVICE=${GALERA_SERVICE:-mariadb-headless}
: "${HOSTNAME:?}" "${POD_IP:?}" "${GALERA_SST_PASSWORD:?}"
ordinal=${HOSTNAME##*-}

# Every member's address the headless Service publishes (ready or not), ours included.
member_ips() {
  getent ahostsv4 "$GALERA_SERVICE" 2>/dev/null | awk '{ print $1 }' | sort -u || true
}

# Another member accepts Galera connections (port 4567).
other_member_answers() {
  local ip
  for ip in $(member_ips); do
    [ "$ip" = "$POD_IP" ] && continue
    if timeout 2 bash -c "exec 3<>/dev/tcp/$ip/4567" 2>/dev/null; then return 0; fi
  done
  return 1
}

# Credentials and per-member settings go in a file only this user can read, not in the
# ConfigMap or on the command line (where `ps` would show them).
mkdir -p "$RUNDIR"
umask 077
cat >"$RUNDIR/member.cnf" <<CNF
[mariadb]
wsrep_node_name = $HOSTNAME
wsrep_node_address = $POD_IP
wsrep_sst_auth = mariabackup:$GALERA_SST_PASSWORD
CNF

args=(--defaults-extra-file="$RUNDIR/member.cnf")
if [ "$ordinal" = 0 ] && [ ! -s "$DATADIR/grastate.dat" ] && ! other_member_answers; then
  echo "galera-start: $HOSTNAME has no data and no member answers: creating a new cluster" >&2
  args+=(--wsrep-new-cluster)
else
  peers=$(member_ips | paste -sd, -)
  echo "galera-start: $HOSTNAME joins gcomm://${peers:-$GALERA_SERVICE}" >&2
  args+=(--wsrep-cluster-address="gcomm://${peers:-$GALERA_SERVICE}")
fi
exec docker-entrypoint.sh mariadbd "${args[@]}"
