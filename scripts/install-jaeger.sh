#!/usr/bin/env bash
# Installs Jaeger v2 (a real OpenTelemetry OTLP receiver with a query API), pinned, into the git-ignored
# .stack/bin (idempotent). The trace test (test/chaos/traces-otlp.test.ts, `make chaos`) and an
# operator trying P8FS_OTEL_EXPORTER_OTLP_ENDPOINT locally point the processes at it.
#
# Why built from source: no PyPI or npm package here ships a Jaeger or OpenTelemetry Collector binary,
# and nothing outside the package registries can be downloaded. The Go module proxy serves Jaeger's
# module; `go install …@v1.76.0` refuses it (its go.mod has replace directives), so we build it inside a
# throw-away module that requires it as a tool. About 30 s to fetch and 3–4 min to build on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

JAEGER_VERSION=v1.76.0
BIN_DIR=.stack/bin
BIN="$BIN_DIR/jaeger"
STAMP="$BIN_DIR/.jaeger-version"
BUILD_DIR=.stack/build/jaeger

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$JAEGER_VERSION" ]; then
  say "Jaeger $JAEGER_VERSION present ($BIN)"
  exit 0
fi

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -z "$GO" ]; then
  echo "[setup] building Jaeger needs the Go toolchain (go 1.24 or newer) on PATH; install it, e.g. apt-get install golang-go" >&2
  exit 1
fi

say "building Jaeger $JAEGER_VERSION from the Go module proxy into $BIN (about 30 s to fetch, 3-4 min to build)"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR" "$BIN_DIR"
(
  cd "$BUILD_DIR"
  "$GO" mod init example.com/p8fs-tools >/dev/null 2>&1
  "$GO" get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION"
  "$GO" build -o jaeger github.com/jaegertracing/jaeger/cmd/jaeger
)
mv "$BUILD_DIR/jaeger" "$BIN"
echo "$JAEGER_VERSION" > "$STAMP"
rm -rf "$BUILD_DIR"
say "Jaeger $JAEGER_VERSION installed: $BIN"
