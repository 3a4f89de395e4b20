#!/usr/bin/env bash
# Starts (or stops) the scale-out engines on loopback for the service-backed tests: PostgreSQL from Debian's
# packages and a Chroma server. `start` prints the `export` lines the tests read; `start-db` starts PostgreSQL
# only; `stop` ends both; `restart-db` restarts PostgreSQL (a fault the tests and the soak inject: it restarts the
# whole server, so a run that must not see other runs' faults uses a server of its own, SERVICES_DIR + PG_PORT).
#   eval "$(bash scripts/services.sh start)"   ...   bash scripts/services.sh stop
set -euo pipefail
root=${SERVICES_DIR:-/tmp/commerce-services}
pg_port=${PG_PORT:-55432}
chroma_port=${CHROMA_PORT:-8765}
pgdata=$root/pg
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

as_postgres() {
  # PostgreSQL refuses to run as root; drop to its own user when we are root.
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_for() {  # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { echo "services: timed out waiting for: $*" >&2; return 1; }
    sleep 0.5
  done
}

start_postgres() {
  [[ -n "$pg_bin" ]] || { echo "services: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  mkdir -p "$root"
  [[ $(id -u) -eq 0 ]] && chown postgres "$root"
  if [[ ! -f $pgdata/PG_VERSION ]]; then
    as_postgres "$pg_bin/initdb" -D "$pgdata" -U postgres -A trust --no-sync >"$root/initdb.log" 2>&1
  fi
  if ! as_postgres "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    as_postgres "$pg_bin/pg_ctl" -D "$pgdata" -l "$root/postgres.log" -w \
      -o "-h 127.0.0.1 -p $pg_port -k $root -c fsync=off -c max_connections=200" start >/dev/null
  fi
  local psql=("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qtA)
  if [[ -z $("${psql[@]}" -c "select 1 from pg_roles where rolname='commerce'") ]]; then
    "${psql[@]}" -c "create user commerce password 'commerce' createdb" >/dev/null
  fi
  if [[ -z $("${psql[@]}" -c "select 1 from pg_database where datname='commerce'") ]]; then
    "${psql[@]}" -c "create database commerce owner commerce" >/dev/null
  fi
}

chroma_up() {
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$chroma_port/api/v2/heartbeat', timeout=2)"
}

start_chroma() {
  mkdir -p "$root/chroma"
  if ! chroma_up >/dev/null 2>&1; then
    nohup chroma run --path "$root/chroma" --host 127.0.0.1 --port "$chroma_port" >"$root/chroma.log" 2>&1 &
    echo $! >"$root/chroma.pid"
    wait_for 60 chroma_up
  fi
}

stop_all() {
  if [[ -f $root/chroma.pid ]]; then kill "$(cat "$root/chroma.pid")" 2>/dev/null || true; rm -f "$root/chroma.pid"; fi
  if [[ -n "$pg_bin" && -f $pgdata/PG_VERSION ]]; then
    as_postgres "$pg_bin/pg_ctl" -D "$pgdata" -m fast stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start)
    start_postgres >&2
    start_chroma >&2
    echo "export COMMERCE_ASSISTANT_DATABASE_URL=postgresql+psycopg://commerce:commerce@127.0.0.1:$pg_port/commerce"
    echo "export COMMERCE_ASSISTANT_CHROMA_URL=http://127.0.0.1:$chroma_port"
    ;;
  start-db)  # PostgreSQL alone (a server of one's own: SERVICES_DIR and PG_PORT set by the caller)
    start_postgres >&2
    echo "export COMMERCE_ASSISTANT_DATABASE_URL=postgresql+psycopg://commerce:commerce@127.0.0.1:$pg_port/commerce"
    ;;
  stop) stop_all ;;
  # Fault injection for tests and the soak: the database restarts (clients see their connections drop). `-l` again,
  # or the restarted server would log nowhere.
  restart-db) as_postgres "$pg_bin/pg_ctl" -D "$pgdata" -l "$root/postgres.log" -m fast -w restart >/dev/null ;;
  *) echo "usage: $0 start|start-db|stop|restart-db" >&2; exit 2 ;;
esac
