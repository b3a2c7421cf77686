#!/usr/bin/env bash
# The main job of pgca on a fresh machine, in a local demo directory: both CAs (keys encrypted
# with a random passphrase kept in demo/passphrase), a server certificate for localhost, a client
# certificate for the role alice with a pg_service.conf entry, and the inventory.
#
# Where PostgreSQL is installed (make deps installs it), it then goes end to end: a throwaway
# cluster on 127.0.0.1 and a free port serves the demo's server certificate through
# deploy-server's include file, alice logs in through the demo's service entry with
# sslmode=verify-full and her certificate, her pg_stat_ssl row is printed (TLS 1.3, her DN, the
# serial), and the cluster is stopped by its pid and removed.
set -euo pipefail
pgca=${1:-target/release/pgca}
demo=${2:-demo}

mkdir -p "$demo"
demo=$(cd "$demo" && pwd)
pass="$demo/passphrase"
if [ ! -e "$pass" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 > "$pass")
fi
export PGCA_PASSPHRASE_FILE="$pass"

if [ -e "$demo/ca/inventory.jsonl" ]; then
  echo "demo: $demo/ca already holds a CA; run 'make clean-demo' first to start over" >&2
else
  "$pgca" --dir "$demo/ca" init --server-host localhost --server-host 127.0.0.1
  "$pgca" --dir "$demo/ca" issue-client alice --service pgca-demo --host localhost --dbname postgres \
    --file "$demo/pg_service.conf"
fi
echo
"$pgca" --dir "$demo/ca" list
echo
echo "service entry ($demo/pg_service.conf), for: PGSERVICEFILE=$demo/pg_service.conf psql service=pgca-demo"
"$pgca" --dir "$demo/ca" service show pgca-demo --file "$demo/pg_service.conf"

# The end-to-end part: Debian's newest PostgreSQL (or PG_BINDIR), and psql.
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || ! command -v psql > /dev/null; then
  echo
  echo "demo: PostgreSQL is not installed (make deps installs it), so no server was started;"
  echo "      with it, the demo starts a throwaway cluster and logs alice in over TLS 1.3"
  exit 0
fi

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner=()
if [ "$(id -u)" = 0 ]; then
  as_owner=(runuser -u postgres --)
fi
work=$(mktemp -d /tmp/pgca-demo-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
    kill -INT "$pid"
    for _ in $(seq 1 200); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$work"
fi
data="$work/data"
# A free port on 127.0.0.1: the kernel picks one, and nothing else is listening there.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

echo
echo "== a throwaway PostgreSQL ($("$bindir/postgres" --version)) on 127.0.0.1:$port, in $data"
"${as_owner[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust --no-sync --no-instructions \
  -E UTF8 --locale=C > "$work/initdb.log"
deploy=$("$pgca" --dir "$demo/ca" deploy-server localhost --data-dir "$data")
echo "$deploy"
include=$(printf '%s\n' "$deploy" | sed -n "s/.*\(include_if_exists = '[^']*'\).*/\1/p" | head -n 1)
cat >> "$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
$include
EOF
printf 'local all postgres trust\nhostssl all all 127.0.0.1/32 cert\n' > "$data/pg_hba.conf"
"${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 start > /dev/null
pid=$(head -n 1 "$data/postmaster.pid")
"${as_owner[@]}" psql -X -q -h "$work" -p "$port" -U postgres -d postgres -c 'CREATE ROLE alice LOGIN'

echo
echo "== alice logs in: PGSERVICEFILE=$demo/pg_service.conf psql \"service=pgca-demo port=$port\""
PGSERVICEFILE="$demo/pg_service.conf" psql -X "service=pgca-demo port=$port" -c \
  "SELECT current_user, ssl, version, client_dn, client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
echo "(client_serial is alice's certificate serial in decimal; \`pgca inspect $demo/ca/clients/alice.crt\` shows it in hex)"
