#!/usr/bin/env bash
# podman for podman-compose 1.0.3 (Debian bookworm's) on host networking: that version adds its project
# network (`--net P_default --network-alias SERVICE`) to every `podman run`, even beside a service's
# `network_mode: host`, and podman refuses the pair ("cannot set multiple networks without bridge network
# mode"). This drops the project network when `--network host` is given; everything else goes to podman
# unchanged, with the machine's settings (scripts/image/engine.sh). Used as
#   podman-compose --podman-path scripts/image/podman-host-net.sh …     (scripts/image/compose-test.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/engine.sh"
p8fs_engine_setup
args=("$@")
host=0
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = --network ] && [ "${args[$((i + 1))]:-}" = host ]; then host=1; fi
done
if [ "$host" = 1 ]; then
  kept=()
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
      --net | --network-alias) i=$((i + 1)) ;;
      *) kept+=("${args[$i]}") ;;
    esac
  done
  args=("${kept[@]}")
fi
exec podman "${args[@]}"
