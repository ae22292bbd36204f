#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests and benchmarks of the shared catalog (issue 12):
# its own data directory and port, TLS on (a self-signed certificate), a `callvault` role with a password
# (scram-sha-256) that may create databases. Installs Debian's postgresql when it is missing.
#
#   scripts/pg-cluster.sh start DIR PORT   # prints: export CALLVAULT_TEST_PG=… CALLVAULT_TEST_PG_PASSWORD=…
#   scripts/pg-cluster.sh restart DIR      # a server restart (the torture run's)
#   scripts/pg-cluster.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop|restart}; dir=${2:?data directory}
bin=""
find_bin() { bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true); }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  port=${3:?port}
  find_bin
  if [ -z "$bin" ]; then
    "$(dirname "$0")/setup.sh" --no-recommends postgresql openssl >&2
    find_bin
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --locale=C.UTF-8 --encoding=UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >/dev/null 2>&1
  as_pg chmod 600 "$dir/data/server.key"
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
ssl = on
max_connections = 200
fsync = on
EOF
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
  password=$(openssl rand -hex 16)
  as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE callvault LOGIN CREATEDB PASSWORD '$password'" >/dev/null
  umask 077
  printf '%s\n' "$password" >"$dir/password"
  [ "$(id -u)" -eq 0 ] && chown root "$dir/password"
  echo "export CALLVAULT_TEST_PG=postgresql://callvault@127.0.0.1:$port CALLVAULT_TEST_PG_PASSWORD=$password"
  ;;
restart)
  find_bin
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w restart >/dev/null
  ;;
stop)
  find_bin
  [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start DIR PORT | restart DIR | stop DIR" >&2; exit 2 ;;
esac
