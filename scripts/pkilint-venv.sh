#!/usr/bin/env bash
# Makes sure pkilint (https://github.com/digicert/pkilint) is installed in a virtual environment
# under target/pkilint-venv, for tests/pkilint.rs; installs it only when it is missing. Prints
# the venv's bin directory. Installs python3-venv with apt-get (as install-deps.sh does) when
# `python3 -m venv` cannot make a venv.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${PKILINT_VENV:-$root/target/pkilint-venv}"
# The version tests/pkilint.rs was checked with: a newer pkilint may add findings, so moving to
# it is a change of its own. Changing this line reinstalls.
spec="pkilint==0.13.3"

# One install at a time (two test binaries may ask at once); the lock file sits beside the venv.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

# The marker, written last, names what was installed: a venv left half-made by an interrupted
# install, or holding another version, is made again.
if [ "$(cat "$venv/.pkilint-installed" 2>/dev/null)" = "$spec" ] &&
  [ -x "$venv/bin/lint_pkix_cert" ] && [ -x "$venv/bin/lint_crl" ]; then
  echo "$venv/bin"
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "pkilint-venv: installing python3-venv" >&2
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "pkilint-venv: python3 -m venv is missing and not root: apt-get install python3-venv" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv
fi

echo "pkilint-venv: installing $spec into $venv" >&2
# In place, not renamed afterwards: a venv's scripts name its absolute path.
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" >&2
echo "$spec" >"$venv/.pkilint-installed"
echo "$venv/bin"
