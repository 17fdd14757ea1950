#!/usr/bin/env bash
# moto (PyPI), an AWS-compatible mock, for telephony's AWS tests (tests/aws.rs runs SNS against
# moto_server). Installs the pinned version into .data/moto-venv when the version there differs;
# quiet when it is already there. `scripts/moto.sh path` prints moto_server's path afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
venv=.data/moto-venv
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)
if [ "$installed" != "$MOTO_VERSION" ] || [ ! -x "$venv/bin/moto_server" ]; then
  echo "moto: installing moto[server] $MOTO_VERSION (PyPI) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

if [ "${1:-}" = path ]; then
  echo "$PWD/$venv/bin/moto_server"
fi
