#!/usr/bin/env bash
# The container engine the image scripts use, as a command: `bash scripts/image/engine.sh ARGS…` runs
# `docker ARGS…` where a Docker daemon answers, else `podman ARGS…` with this machine kind's settings.
# `--print` says which engine it would use. Sourced (`. scripts/image/engine.sh`), it only defines
# p8fs_engine_setup, which fills ENGINE (the command) and ENGINE_BUILD_FLAGS (flags `build` needs).
#
# Why podman needs settings here (docs/DEPLOY.md, "The image, built and run here"): crun refuses this
# kernel's hybrid cgroups (runc works), systemd is not the cgroup manager, the sandbox refuses to raise
# rlimits to podman's defaults ("setrlimit … operation not permitted"), and no bridge network can be
# made (host networking). They go into a containers.conf under .stack/image that every podman call here
# reads (CONTAINERS_CONF), so podman-compose, which runs plain `podman`, gets them too.
set -euo pipefail

p8fs_engine_setup() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    ENGINE=(docker)
    ENGINE_BUILD_FLAGS=()
    return
  fi
  if ! command -v podman >/dev/null 2>&1; then
    echo "[image] no Docker daemon and no podman: run \`make image\` (it installs podman and runc from apt)" >&2
    return 1
  fi
  local conf="$root/.stack/image/containers.conf"
  mkdir -p "$(dirname "$conf")"
  if [ ! -f "$conf" ]; then
    cat >"$conf" <<'CONF'
# Written by scripts/image/engine.sh for podman on this machine kind (see that script for why).
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "host"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  fi
  export CONTAINERS_CONF="$conf"
  ENGINE=(podman)
  ENGINE_BUILD_FLAGS=(--pull=never --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
  esac
  p8fs_engine_setup
  if [ "${1:-}" = "--print" ]; then
    echo "${ENGINE[*]}${CONTAINERS_CONF:+ (CONTAINERS_CONF=$CONTAINERS_CONF)}"
    exit 0
  fi
  exec "${ENGINE[@]}" "$@"
fi
