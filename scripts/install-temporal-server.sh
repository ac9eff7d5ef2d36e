#!/usr/bin/env bash
# Installs a production-shaped Temporal server, pinned, into the git-ignored .stack/temporal-server/bin
# (idempotent): `temporal-server` (go.temporal.io/server/cmd/server) and its SQL schema tool
# `temporal-sql-tool` (go.temporal.io/server/cmd/tools/sql, the schemas are embedded in it), both built
# from the Go module proxy. Not part of `make setup` or `make test`: a cold build takes minutes on 2 cores
# (a ~160 MiB and a ~60 MiB binary). Only what needs it runs it: scripts/temporal-production.ts and
# bench/temporal-production.ts say so when the binaries are missing; test/integration/temporal-production
# skips with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_SERVER_VERSION=v1.32.2   # go.temporal.io/server (needs go >= 1.26.10: the proxy serves that toolchain)
MODULE=go.temporal.io/server

DIR=.stack/temporal-server
STAMP="$DIR/.installed"
WANTED="$MODULE@$TEMPORAL_SERVER_VERSION temporal-server temporal-sql-tool"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

mkdir -p "$DIR/bin"
# A test and a bench may run this at once: one builds, the other waits and finds it done.
exec 9>"$DIR/.lock"
flock 9

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANTED" ] && [ -x "$DIR/bin/temporal-server" ] && [ -x "$DIR/bin/temporal-sql-tool" ]; then
  say "Temporal server present in $DIR ($MODULE@$TEMPORAL_SERVER_VERSION)"
  exit 0
fi

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -z "$GO" ]; then
  echo "[setup] building the Temporal server needs the Go toolchain (go 1.21 or newer, to fetch go1.26.10+) on PATH; install it, e.g. apt-get install golang-go" >&2
  exit 1
fi
# The module asks for a newer Go than Debian's: let go fetch that toolchain from the proxy (pinned by
# the module's go.mod). -mod=mod: resolve from the module's own go.mod, not a workspace.
export GOTOOLCHAIN=auto GOFLAGS=-mod=mod

say "building temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION from the Go module proxy into $DIR/bin (minutes on a cold machine)"
work="$(mktemp -d "$DIR/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
GOBIN="$(pwd)/$work" nice -n 10 "$GO" install "$MODULE/cmd/server@$TEMPORAL_SERVER_VERSION" "$MODULE/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
# go install names binaries after their folders (server, sql): given the names Temporal's releases use.
"$work/server" --version >/dev/null
mv "$work/server" "$DIR/bin/temporal-server"
mv "$work/sql" "$DIR/bin/temporal-sql-tool"
echo "$WANTED" > "$STAMP"
say "installed $DIR/bin/temporal-server and $DIR/bin/temporal-sql-tool ($("$DIR/bin/temporal-server" --version | head -n1))"
