# A throwaway PostgreSQL for the tests and the benchmarks, sourced by both:
#
#   . scripts/postgres.sh
#   start_postgres "$dir"    # initialises and starts it in $dir; sets POSTGRES_URL
#   stop_postgres "$dir"     # stops it, if it runs (safe in an EXIT trap)
#
# It listens on a free loopback port and a socket in $dir only, trusts local
# connections, and runs with fsync off: its data is thrown away afterwards, and a
# synced disk would measure the disk, not the server. Run as root it runs as the
# `postgres` user, which PostgreSQL requires.

postgres_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local dir=$1 bin port
  bin=$(postgres_bin)
  mkdir -p "$dir/pg"
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir/pg"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_postgres "$bin/initdb" -D "$dir/pg/data" -A trust -U postgres --no-sync >/dev/null
  as_postgres "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w \
    -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
    start >/dev/null
  POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_postgres() {
  local dir=$1
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    as_postgres "$(postgres_bin)/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
}
