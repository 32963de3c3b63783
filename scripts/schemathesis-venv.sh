#!/usr/bin/env bash
# Installs the schemathesis CLI (PyPI) into a virtualenv cached outside the clone, so CI's fresh clones reuse it:
# ~/.cache/payment-manager/venv/bin/st. Re-installs only when the pinned version changes.
set -euo pipefail

VERSION=4.32.5
VENV=${PM_SCHEMATHESIS_VENV:-$HOME/.cache/payment-manager/venv}

if [[ $("$VENV/bin/st" --version 2>/dev/null) == *"$VERSION"* ]]; then
  echo "schemathesis $VERSION already in $VENV"
  exit 0
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
echo "schemathesis $("$VENV/bin/st" --version) installed in $VENV"
