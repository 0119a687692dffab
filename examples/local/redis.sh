#!/bin/sh
# A Redis master, a replica and three Sentinels on this machine, for README's "Try it on your laptop":
# master 127.0.0.1:6379, replica 127.0.0.1:6380, Sentinels 127.0.0.1:26379-26381 watching "mymaster".
# Needs redis-server 6.2 or later (apt-get install redis-server; brew install redis).
#
#   examples/local/redis.sh start        # start them (in the background)
#   examples/local/redis.sh failover     # ask the Sentinels for a failover (SENTINEL FAILOVER mymaster)
#   examples/local/redis.sh kill-master  # kill -9 the current master; the Sentinels fail over 2 s later
#   examples/local/redis.sh stop         # stop what start started (then start again for a fresh pair)
#
# RMD_REDIS_PORT (6379; the replica takes the next port) and RMD_SENTINEL_PORT (26379, and the next
# two) choose other ports; the files live in RMD_LOCAL_DIR (default /tmp/rmd-local-<port>).
set -eu
PORT=${RMD_REDIS_PORT:-6379}
REPLICA=$((PORT + 1))
SENTINEL=${RMD_SENTINEL_PORT:-26379}
DIR=${RMD_LOCAL_DIR:-/tmp/rmd-local-$PORT}

case "${1:-start}" in
  start)
    command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server (or brew install redis)" >&2; exit 1; }
    mkdir -p "$DIR"
    redis-server --port "$PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no --dir "$DIR" \
      --pidfile "$DIR/redis-$PORT.pid" --logfile "$DIR/redis-$PORT.log"
    redis-server --port "$REPLICA" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no --dir "$DIR" \
      --pidfile "$DIR/redis-$REPLICA.pid" --logfile "$DIR/redis-$REPLICA.log" --replicaof 127.0.0.1 "$PORT"
    for S in "$SENTINEL" $((SENTINEL + 1)) $((SENTINEL + 2)); do
      cat > "$DIR/sentinel-$S.conf" <<CONF
port $S
bind 127.0.0.1
daemonize yes
dir $DIR
pidfile $DIR/sentinel-$S.pid
logfile $DIR/sentinel-$S.log
sentinel monitor mymaster 127.0.0.1 $PORT 2
sentinel down-after-milliseconds mymaster 2000
sentinel failover-timeout mymaster 10000
CONF
      redis-server "$DIR/sentinel-$S.conf" --sentinel
    done
    echo "master 127.0.0.1:$PORT, replica 127.0.0.1:$REPLICA, Sentinels 127.0.0.1:$SENTINEL-$((SENTINEL + 2)) (master set mymaster)"
    ;;
  failover)
    redis-cli -p "$SENTINEL" SENTINEL FAILOVER mymaster
    ;;
  kill-master)
    M=$(redis-cli -p "$SENTINEL" SENTINEL GET-MASTER-ADDR-BY-NAME mymaster | tail -n 1)
    kill -9 "$(cat "$DIR/redis-$M.pid")"
    rm -f "$DIR/redis-$M.pid"
    echo "killed the master 127.0.0.1:$M; the Sentinels promote the replica in about 2 s"
    ;;
  stop)
    PIDS=""
    for f in "$DIR"/*.pid; do
      if [ -f "$f" ]; then
        PIDS="$PIDS $(cat "$f")"
        kill "$(cat "$f")" 2>/dev/null || true
      fi
    done
    for p in $PIDS; do # wait until they are gone (5 s at most), so the ports are free again
      i=0
      while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    done
    # The replica kept the data of its last full sync in dump.rdb: remove it, so that start begins empty.
    rm -f "$DIR"/*.pid "$DIR"/*.rdb
    ;;
  *)
    echo "usage: $0 start|failover|kill-master|stop" >&2
    exit 2
    ;;
esac
