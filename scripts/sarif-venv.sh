#!/usr/bin/env bash
# Makes sure Microsoft's sarif-tools (https://github.com/microsoft/sarif-tools, the `sarif`
# command) and the SARIF 2.1.0 JSON schema are installed in a virtual environment under
# target/sarif-venv, for tests/audit_reports.rs; installs them only when missing. Prints the
# venv's bin directory. The schema is not fetched at test time: it comes, once, from the npm
# package @microsoft/jest-sarif (MIT, Microsoft's SARIF SDK for JavaScript), which ships it as
# lib/schemas/sarif-2.1.0-rtm.5.json, and is validated with the jsonschema package (draft 4, the
# schema's own), its `uri` and `date-time` formats checked by rfc3986-validator and
# rfc3339-validator. Installs python3-venv with apt-get (as install-deps.sh does) when
# `python3 -m venv` cannot make a venv.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${SARIF_VENV:-$root/target/sarif-venv}"
# The versions tests/audit_reports.rs was checked with: another sarif-tools may print its
# summary differently, so moving to it is a change of its own. Changing a line reinstalls.
spec="sarif-tools==3.0.5 jsonschema==4.26.0 rfc3986-validator==0.1.1 rfc3339-validator==0.1.4"
schema_pkg="@microsoft/jest-sarif@1.0.0-beta.0"
marker="$spec $schema_pkg"

# One install at a time (two test binaries may ask at once); the lock file sits beside the venv.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

# The marker, written last, names what was installed: a venv left half-made by an interrupted
# install, or holding another version, is made again.
if [ "$(cat "$venv/.sarif-installed" 2>/dev/null)" = "$marker" ] &&
  [ -x "$venv/bin/sarif" ] && [ -s "$venv/sarif-schema-2.1.0.json" ]; then
  echo "$venv/bin"
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "sarif-venv: installing python3-venv" >&2
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "sarif-venv: python3 -m venv is missing and not root: apt-get install python3-venv" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "sarif-venv: npm is missing (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

echo "sarif-venv: installing $spec and the schema of $schema_pkg into $venv" >&2
# In place, not renamed afterwards: a venv's scripts name its absolute path.
rm -rf "$venv"
python3 -m venv "$venv" >&2
# shellcheck disable=SC2086 # several requirements, split on purpose
"$venv/bin/pip" install --quiet --disable-pip-version-check $spec >&2
# npm checks the tarball against the registry's integrity hash; only the schema is kept.
tmp="$(mktemp -d "$venv/.schema.XXXXXX")"
(cd "$tmp" && npm pack --silent "$schema_pkg" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/schemas/sarif-2.1.0-rtm.5.json
mv "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$venv/sarif-schema-2.1.0.json"
rm -rf "$tmp"
echo "$marker" >"$venv/.sarif-installed"
echo "$venv/bin"
