#!/usr/bin/env bash
# aiosmtpd (PyPI), a real SMTP server, for the e-mail alert tests: they start it on a free port
# with a Maildir and read back what PhoneHub sent. Installs the pinned version into
# .data/smtp-venv when the version there differs; quiet when it is already there.
# `scripts/smtp.sh path` prints the venv's python afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

AIOSMTPD_VERSION=1.4.6
venv=.data/smtp-venv
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("aiosmtpd"))' 2>/dev/null || true)
if [ "$installed" != "$AIOSMTPD_VERSION" ]; then
  echo "smtp: installing aiosmtpd $AIOSMTPD_VERSION (PyPI) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi

if [ "${1:-}" = path ]; then
  echo "$PWD/$venv/bin/python"
fi
