#!/usr/bin/env bash
# Starts or stops a private PostgreSQL server for tests: start|stop DIR PORT.
# It runs as the postgres user (initdb refuses root), trusts local connections, and holds database videotube_test.
set -euo pipefail
action=$1 dir=$2 port=$3
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed: apt-get install postgresql"; exit 1; }
run_as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $action in
start)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    run_as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  fi
  if ! run_as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    run_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  fi
  psql="psql -h 127.0.0.1 -p $port -U postgres -tAc"
  $psql "select 1 from pg_roles where rolname='videotube'" | grep -q 1 || $psql "create role videotube login superuser" >/dev/null
  $psql "select 1 from pg_database where datname='videotube_test'" | grep -q 1 || $psql "create database videotube_test owner videotube" >/dev/null
  echo "PostgreSQL test server on 127.0.0.1:$port"
  ;;
stop)
  [ -f "$dir/data/PG_VERSION" ] && run_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  ;;
esac
