#!/usr/bin/env bash
# Makes sure schemathesis (https://schemathesis.readthedocs.io, the `st` command; PyPI) is
# installed in a virtual environment under target/schemathesis-venv, for tests/api_fuzz.rs and
# `make fuzz`; installs it only when missing. Prints the venv's bin directory. Installs
# python3-venv with apt-get (as install-deps.sh does) when `python3 -m venv` cannot make a venv.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}"
# The version tests/api_fuzz.rs was checked with: another schemathesis may add checks or
# change its options, so moving to it is a change of its own. Changing the line reinstalls.
spec="schemathesis==4.32.5"

# One install at a time (two test binaries may ask at once); the lock file sits beside the venv.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

# The marker, written last, names what was installed: a venv left half-made by an interrupted
# install, or holding another version, is made again.
if [ "$(cat "$venv/.installed" 2>/dev/null)" = "$spec" ] && [ -x "$venv/bin/st" ]; then
  echo "$venv/bin"
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "schemathesis-venv: installing python3-venv" >&2
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "schemathesis-venv: python3 -m venv is missing and not root: apt-get install python3-venv" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv
fi

echo "schemathesis-venv: installing $spec into $venv" >&2
# In place, not renamed afterwards: a venv's scripts name its absolute path.
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" >&2
echo "$spec" >"$venv/.installed"
echo "$venv/bin"
