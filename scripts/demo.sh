#!/usr/bin/env bash
# The main job of pgca on a fresh machine, in a local demo directory: both CAs (keys encrypted
# with a random passphrase kept in demo/passphrase), a server certificate for localhost, a client
# certificate for the role alice with a pg_service.conf entry, and the inventory.
set -euo pipefail
pgca=${1:-target/release/pgca}
demo=${2:-demo}

mkdir -p "$demo"
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
