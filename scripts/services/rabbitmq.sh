#!/usr/bin/env bash
# Throwaway RabbitMQ node on 127.0.0.1 for tests and CI: `rabbitmq.sh start` prints AMQP_URL and
# RABBITMQCTL (a wrapper with the right environment for admin commands), `stop` removes it.
# Own epmd and Erlang distribution port on loopback, no plugins, no guest user.
# Env: RMQ_PORT=55672 RMQ_DIST_PORT=55673 RMQ_EPMD_PORT=54369 RMQ_NODE=alto-ci RMQ_VHOST=cloud
#      RMQ_USER=cloud RMQ_PASSWORD=cloudpw ALTO_SVC_ROOT ALTO_SVC_KEEP
. "$(dirname "$0")/_lib.sh"
svc_usage "$0" "${1:-}"

RMQ_PORT=${RMQ_PORT:-55672}; RMQ_DIST_PORT=${RMQ_DIST_PORT:-55673}; RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-54369}
RMQ_NODE=${RMQ_NODE:-alto-ci}; RMQ_VHOST=${RMQ_VHOST:-cloud}; RMQ_USER=${RMQ_USER:-cloud}; RMQ_PASSWORD=${RMQ_PASSWORD:-cloudpw}
D=$ALTO_SVC_ROOT/rabbitmq
U=$(svc_user rabbitmq)
# Not /usr/sbin/rabbitmq-server: Debian's wrapper forces `su rabbitmq`, cd /var/lib/rabbitmq and
# logs to /var/log/rabbitmq.
RBIN=/usr/lib/rabbitmq/bin

rmq_start() {
  [ -x $RBIN/rabbitmq-server ] || svc_die "rabbitmq-server not installed (scripts/services/install-debs.sh rabbitmq)"
  if svc_pidfile_alive "$D/pid"; then svc_die "already running ($D); run '$0 stop' first"; fi
  svc_claim_ports "$RMQ_PORT" "$RMQ_DIST_PORT"
  local t0; t0=$(svc_now)
  rm -rf "$D"; mkdir -p "$D/mnesia" "$D/log"
  # One environment shared by the server and rabbitmqctl (the CLI needs the same cookie, epmd
  # port and node name to reach the node).
  cat >"$D/env" <<EOF
export HOME=$D
export RABBITMQ_NODENAME=$RMQ_NODE@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$RMQ_PORT
export RABBITMQ_DIST_PORT=$RMQ_DIST_PORT
export RABBITMQ_MNESIA_BASE=$D/mnesia
export RABBITMQ_LOG_BASE=$D/log
export RABBITMQ_PID_FILE=$D/rabbit.pid
export RABBITMQ_CONFIG_FILE=$D/rabbitmq.conf
export RABBITMQ_ADVANCED_CONFIG_FILE=$D/advanced.config
export RABBITMQ_ENABLED_PLUGINS_FILE=$D/enabled_plugins
export RABBITMQ_CONF_ENV_FILE=$D/rabbitmq-env.conf
export RABBITMQ_PLUGINS_EXPAND_DIR=$D/plugins-expand
export ERL_EPMD_PORT=$RMQ_EPMD_PORT
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_CTL_DIST_PORT_MIN=$((RMQ_DIST_PORT + 1))
export RABBITMQ_CTL_DIST_PORT_MAX=$((RMQ_DIST_PORT + 10))
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
  # Why each of those: HOME holds .erlang.cookie; the default DIST_PORT (NODE_PORT+20000) would be
  # above 65535; the empty CONF_ENV_FILE keeps /etc/rabbitmq/rabbitmq-env.conf out; the extra Erlang
  # argument keeps the distribution port off 0.0.0.0.
  : >"$D/rabbitmq-env.conf"
  echo '[].' >"$D/enabled_plugins"
  echo '[].' >"$D/advanced.config"
  # default_* apply on first boot only: our vhost and user instead of guest/guest, with no
  # rabbitmqctl round trips (each one boots an Erlang VM, ~0.5 s).
  cat >"$D/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$RMQ_PORT
log.file.level = info
disk_free_limit.absolute = 50MB
default_vhost = $RMQ_VHOST
default_user = $RMQ_USER
default_pass = $RMQ_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
EOF
  head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/.erlang.cookie"
  chmod 400 "$D/.erlang.cookie"
  cat >"$D/rabbitmqctl" <<EOF
#!/bin/sh
# rabbitmqctl for the node that scripts/services/rabbitmq.sh started in $D
. $D/env
exec $RBIN/rabbitmqctl "\$@"
EOF
  chmod 755 "$D/rabbitmqctl"
  svc_own "$U" "$D"
  . "$D/env"
  export SVC_HOME=$D
  # The first Erlang VM would start epmd itself and leave it running forever; start our own so
  # that stop can take it down again.
  if ! epmd -names >/dev/null 2>&1; then
    svc_claim_ports "$RMQ_EPMD_PORT"
    svc_spawn "$U" "$D/log/epmd.log" "$D/epmd.pid" epmd -address 127.0.0.1 -port "$RMQ_EPMD_PORT"
    svc_wait 10 epmd -names || svc_die "epmd did not start"
  fi
  # $D/pid is the rabbitmq-server sh wrapper (it traps SIGTERM and stops the VM cleanly); the
  # Erlang VM writes its own pid to $D/rabbit.pid.
  svc_spawn "$U" "$D/log/stdout.log" "$D/pid" $RBIN/rabbitmq-server
  # The AMQP listener opens late in the boot: poll it cheaply, then confirm once with the CLI.
  amqp_open() { svc_pidfile_alive "$D/pid" && (exec 3<>/dev/tcp/127.0.0.1/"$RMQ_PORT") 2>/dev/null; }
  svc_wait 90 amqp_open || { tail -30 "$D/log/stdout.log" >&2; svc_die "AMQP port never opened"; }
  "$D/rabbitmqctl" -q await_startup --timeout 60 >/dev/null || { tail -30 "$D/log/stdout.log" >&2; svc_die "rabbit did not boot"; }
  "$D/rabbitmqctl" -q authenticate_user -- "$RMQ_USER" "$RMQ_PASSWORD" >/dev/null || svc_die "user $RMQ_USER missing"
  svc_log "rabbitmq READY in $(svc_elapsed "$t0")s pid=$(cat "$D/pid") node=$RABBITMQ_NODENAME"
  echo "AMQP_URL=amqp://$RMQ_USER:$RMQ_PASSWORD@127.0.0.1:$RMQ_PORT/$RMQ_VHOST"
  echo "RABBITMQCTL=$D/rabbitmqctl"
}

rmq_stop() {
  if [ -x "$D/rabbitmqctl" ] && svc_pidfile_alive "$D/pid"; then
    # `stop <pidfile>` returns once the VM has exited
    timeout 60 "$D/rabbitmqctl" -q stop "$D/rabbit.pid" >/dev/null 2>&1 || true
  fi
  svc_stop_pidfile "$D/pid" 30 TERM
  svc_stop_pidfile "$D/rabbit.pid" 30 TERM   # the VM, if the wrapper died without taking it along
  svc_stop_pidfile "$D/epmd.pid" 5 TERM
  svc_finish_stop rabbitmq "$D"
}

case $1 in
  start) rmq_start ;;
  stop) rmq_stop ;;
esac
