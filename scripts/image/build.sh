#!/usr/bin/env bash
# `make image`: builds the project's image (./Dockerfile) as p8fs-flows:<package.json version>.
# Uses docker where a Docker daemon answers, else podman (installed with runc and debootstrap from apt
# when missing, with this machine kind's settings: scripts/image/engine.sh). When the engine lacks the
# Dockerfile's base image and no registry serves it, scripts/image/base-image.sh makes a local stand-in.
# The machine's npm and PyPI settings (registry, CA bundle) reach the build as build secrets, read now
# from npm config, pip config / PIP_INDEX_URL / PIP_CERT; none is written into the repository or the image.
# Cached: the engine's layer cache rebuilds only what changed. Prints the build time and image size.
#   bash scripts/image/build.sh [--tag NAME:TAG]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
. scripts/image/engine.sh

say() { echo "[image] $*"; }
die() { echo "[image] error: $*" >&2; exit 1; }

version="$(node -p "require('./package.json').version")"
tag="p8fs-flows:$version"
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --tag) tag="${2:?--tag needs NAME:TAG}"; shift 2 ;;
    *) die "unknown argument $1 (--tag NAME:TAG or --help)" ;;
  esac
done

# 1. An engine. podman, runc (crun fails on this kernel's cgroups) and debootstrap (the base stand-in)
# from apt, only when there is no Docker daemon and one of them is missing.
if ! { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; then
  missing=()
  for pkg in podman runc debootstrap; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "no Docker daemon; install ${missing[*]} (apt-get install ${missing[*]}) or run as root"
    say "installing ${missing[*]} from apt (no Docker daemon here)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  fi
fi
p8fs_engine_setup
say "engine: $(bash scripts/image/engine.sh --print)"

# 2. The base image, made here when the engine does not have it.
base="$(awk '/^FROM / { print $2; exit }' Dockerfile)"
[ "$base" = "node:20.20.2-bookworm-slim" ] ||
  die "the Dockerfile's base is $base; scripts/image/base-image.sh makes node:20.20.2-bookworm-slim only: update it"
bash scripts/image/base-image.sh

# 3. This machine's registry settings as build secrets (a private directory, rewritten every build).
secrets="$root/.stack/image/secrets"
rm -rf "$secrets"
mkdir -p "$secrets"
chmod 700 "$secrets"
ca=""
for candidate in "$(npm config get cafile 2>/dev/null || true)" "${NODE_EXTRA_CA_CERTS:-}" "${PIP_CERT:-}" \
  "$(pip3 config get global.cert 2>/dev/null || true)"; do
  if [ -n "$candidate" ] && [ "$candidate" != undefined ] && [ "$candidate" != null ] && [ -s "$candidate" ]; then
    ca="$candidate"
    break
  fi
done
npm_registry="$(npm config get registry 2>/dev/null || true)"
{
  [ -n "$npm_registry" ] && echo "registry=$npm_registry"
  [ -n "$ca" ] && echo "cafile=/run/secrets/ca"
  true
} >"$secrets/npmrc"
pip_index="${PIP_INDEX_URL:-$(pip3 config get global.index-url 2>/dev/null || true)}"
pip_extra="${PIP_EXTRA_INDEX_URL:-$(pip3 config get global.extra-index-url 2>/dev/null || true)}"
pip_trusted="${PIP_TRUSTED_HOST:-$(pip3 config get global.trusted-host 2>/dev/null || true)}"
{
  echo "[global]"
  echo "disable-pip-version-check = true"
  [ -n "$pip_index" ] && echo "index-url = $pip_index"
  [ -n "$pip_extra" ] && echo "extra-index-url = $pip_extra"
  [ -n "$pip_trusted" ] && echo "trusted-host = $pip_trusted"
  [ -n "$ca" ] && echo "cert = /run/secrets/ca"
  true
} >"$secrets/pip.conf"
if [ -n "$ca" ]; then cp "$ca" "$secrets/ca"; else : >"$secrets/ca"; fi
say "registries: npm ${npm_registry:-default}, PyPI ${pip_index:-default}${ca:+, CA bundle $ca} (build secrets)"

# 4. The build.
say "building $tag from ./Dockerfile (cached layers are reused; a cold build takes minutes on 2 cores)"
started=$(date +%s)
"${ENGINE[@]}" build "${ENGINE_BUILD_FLAGS[@]}" \
  --secret "id=npmrc,src=$secrets/npmrc" \
  --secret "id=pip,src=$secrets/pip.conf" \
  --secret "id=ca,src=$secrets/ca" \
  --tag "$tag" --file Dockerfile .
seconds=$(($(date +%s) - started))
size="$("${ENGINE[@]}" image inspect --format '{{.Size}}' "$tag")"
say "built $tag in ${seconds}s: $(awk -v b="$size" 'BEGIN { printf "%.0f MB (%.0f MiB)", b / 1e6, b / 1048576 }')"
