#!/usr/bin/env bash
# The main job of pgca on a fresh machine, in a local demo directory.
set -euo pipefail
pgca=${1:-target/release/pgca}
demo=${2:-demo}

if [ -e "$demo/ca/inventory.jsonl" ]; then
  echo "demo: $demo/ca already holds a CA; run 'make clean-demo' first to start over" >&2
else
  "$pgca" --dir "$demo/ca" init --server-host localhost --server-host 127.0.0.1
  "$pgca" --dir "$demo/ca" issue-client alice
fi
echo
"$pgca" --dir "$demo/ca" list
