#!/usr/bin/env bash
# Installs barman-cloud (PyPI barman[cloud], with boto3) and moto's S3 server (PyPI moto[server]) into a virtualenv
# cached outside the clone, for the restore drill (scripts/restore-drill.sh). Re-installs only when a pinned version
# changes. Not under ~/.cache: PostgreSQL runs archive_command and restore_command as the postgres user, who cannot
# enter root's home, so the virtualenv is built from the system Python in a world-readable cache directory.
set -euo pipefail

BARMAN_VERSION=3.19.1
MOTO_VERSION=5.2.6
VENV=${PM_BARMAN_VENV:-/var/cache/payment-manager/barman-venv}
STAMP="$VENV/.payment-manager-versions"
WANT="barman[cloud]==$BARMAN_VERSION moto[server]==$MOTO_VERSION"

if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" && -x $VENV/bin/barman-cloud-backup ]]; then
  echo "barman-cloud $BARMAN_VERSION and moto $MOTO_VERSION already in $VENV"
  exit 0
fi
mkdir -p "$(dirname "$VENV")"
rm -rf "$VENV"
# The system interpreter: pyenv's and other per-user ones live under a home the postgres user cannot read.
/usr/bin/python3 -m venv "$VENV"
# shellcheck disable=SC2086 # WANT is a list of requirement specifiers
"$VENV/bin/pip" install --quiet --disable-pip-version-check $WANT
echo "$WANT" >"$STAMP"
chmod -R a+rX "$VENV"
echo "barman-cloud $("$VENV/bin/barman-cloud-backup" --version 2>&1 | tail -1) and moto $MOTO_VERSION installed in $VENV"
