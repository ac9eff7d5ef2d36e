#!/usr/bin/env bash
# Makes a local stand-in for the Dockerfile's base image, node:20.20.2-bookworm-slim, when no registry can
# serve it (none serves images on this machine kind), so the Dockerfile stays the one users build
# elsewhere. What it makes, like the official image: Debian bookworm (debootstrap --variant=minbase, the
# docs, man pages and locales left out as debian:bookworm-slim does), this machine's Node 20.20.2 with npm
# and corepack, and the `node` user (uid and gid 1000, home /home/node). It differs in where Node lives
# (/usr/bin, as the NodeSource package installs it, not /usr/local/bin) and in having no docker-entrypoint.sh.
# apt inside it uses the Debian mirror of this machine's apt sources, read now (never written into the
# repository). Cached under .stack/image/base; does nothing when the engine already has the image.
#   bash scripts/image/base-image.sh [--force]      (make image runs it)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/scripts/image/engine.sh"

BASE_IMAGE="node:20.20.2-bookworm-slim"
NODE_VERSION="20.20.2"
SUITE="bookworm"
cache="$root/.stack/image/base"
rootfs="$cache/rootfs"
tarball="$cache/rootfs.tar"

say() { echo "[image] $*"; }
die() { echo "[image] error: $*" >&2; exit 1; }

force=0
case "${1:-}" in
  -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --force) force=1 ;;
  "") ;;
  *) die "unknown argument $1 (--force or --help)" ;;
esac

p8fs_engine_setup
if [ "$force" = 0 ] && "${ENGINE[@]}" image exists "$BASE_IMAGE" 2>/dev/null; then
  say "base image $BASE_IMAGE is present (${ENGINE[0]}); not remade"
  exit 0
fi
if [ "${ENGINE[0]}" = docker ] && [ "$force" = 0 ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "base image $BASE_IMAGE is present (docker); not remade"
  exit 0
fi

# The Debian mirror and its security mirror, as this machine's apt knows them.
mirror_for() {
  apt-get indextargets --format '$(SITE)|$(CODENAME)|$(ORIGIN)' 2>/dev/null |
    awk -F'|' -v c="$1" '$2 == c && $3 ~ /^Debian/ { print $1; exit }'
}
mirror="$(mirror_for "$SUITE")"
security="$(mirror_for "$SUITE-security")"
[ -n "$mirror" ] || die "no Debian $SUITE mirror in this machine's apt sources (apt-get indextargets); add one or pass the base image in"

host_node="$(node --version 2>/dev/null || true)"
[ "$host_node" = "v$NODE_VERSION" ] ||
  die "this machine's node is ${host_node:-missing}, the Dockerfile's base wants $NODE_VERSION: install it (NodeSource) or provide $BASE_IMAGE"

if [ "$force" = 1 ] || [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || die "debootstrap is missing (make image installs it)"
  rm -rf "$rootfs" "$tarball"
  mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
  # debian:bookworm-slim's exclusions, set before any package is unpacked.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
DPKG
  say "debootstrap --variant=minbase $SUITE from $mirror (about a minute)"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$cache.debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $cache.debootstrap.log"

  # apt sources as the official image has them (deb822), with this machine's mirrors.
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" "$SUITE" "$SUITE"
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$security" "$SUITE"
    fi
  } >"$rootfs/etc/apt/sources.list.d/debian.sources"
  # The official images keep no apt caches and mark apt to clean after installs.
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
    >"$rootfs/etc/apt/apt.conf.d/docker-clean"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc/*/changelog* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

  # This machine's Node (NodeSource's package): the binary, npm and corepack, as the package lays them out.
  say "adding this machine's node $host_node (/usr/bin/node, npm, corepack)"
  node_bin="$(command -v node)"
  install -D -m 0755 "$node_bin" "$rootfs/usr/bin/node"
  mkdir -p "$rootfs/usr/lib/node_modules"
  for module in npm corepack; do
    [ -d "/usr/lib/node_modules/$module" ] || die "/usr/lib/node_modules/$module is missing: the base needs the NodeSource layout"
    cp -a "/usr/lib/node_modules/$module" "$rootfs/usr/lib/node_modules/"
  done
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/bin/corepack"
  chroot "$rootfs" /usr/bin/node --version >/dev/null || die "node does not run inside the new root (missing libraries?)"

  # The official image's user, by the numbers the Dockerfile's USER names.
  grep -q '^node:' "$rootfs/etc/group" || echo 'node:x:1000:' >>"$rootfs/etc/group"
  grep -q '^node:' "$rootfs/etc/passwd" || echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
  grep -q '^node:' "$rootfs/etc/shadow" || echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
  install -d -o 1000 -g 1000 -m 0755 "$rootfs/home/node"

  say "packing the root file system ($(du -sh "$rootfs" | cut -f1))"
  tar --numeric-owner -C "$rootfs" -cf "$tarball" .
  rm -rf "$rootfs"
fi

say "importing it as $BASE_IMAGE (${ENGINE[0]})"
"${ENGINE[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  "$tarball" "$BASE_IMAGE" >/dev/null
say "base image $BASE_IMAGE made ($("${ENGINE[@]}" image inspect --format '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
