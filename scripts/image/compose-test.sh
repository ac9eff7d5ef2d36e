#!/usr/bin/env bash
# Runs our own services of docker-compose.yml (migrate, bridge, subscriber, the three storage workers, the
# dreaming worker, the API) from the built image with podman-compose, against the local stack's servers
# (scripts/image/compose.local-servers.yml; the compose file's server images cannot be pulled here), then
# checks that they work: migrate exits 0, every service's /health answers, a Markdown file uploaded with
# `p8fs ingest --publish never` (S3 only; the subscriber service publishes) completes, and a dream
# completes; then `podman-compose down`. Uses the local stack's default database (p8fs); the tenant is
# new each run. Needs `make image` and `make build` first; takes a few minutes. docs/DEPLOY.md.
#   bash scripts/image/compose-test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
say() { echo "[compose-test] $*"; }
die() { echo "[compose-test] FAIL: $*" >&2; exit 1; }
case "${1:-}" in -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

. scripts/image/engine.sh
p8fs_engine_setup
[ "${ENGINE[0]}" = podman ] || die "a Docker daemon answers: run \`docker compose up -d --build\` with the whole file instead"
if ! command -v podman-compose >/dev/null; then
  say "installing podman-compose from apt"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends podman-compose >/dev/null
fi
version="$(node -p "require('./package.json').version")"
"${ENGINE[@]}" image exists "p8fs-flows:$version" || die "image p8fs-flows:$version is missing: run make image"

for port in 8080 8090 8091 9464 9465 9466 9467; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port is taken (the local stack's own processes? p8fs stack down, then p8fs stack up --servers-only)"; fi
done
say "local stack: p8fs stack up --servers-only"
node bin/p8fs.js stack up --servers-only >/dev/null

# The local stack's S3 keys (what the host CLI uses), read from the config now.
eval "$(node --input-type=module -e "
  const { loadConfig } = await import('./dist/config/config.js');
  const c = loadConfig();
  console.log('export P8FS_S3_ACCESS_KEY=' + JSON.stringify(c.s3.accessKeyId) + ' P8FS_S3_SECRET_KEY=' + JSON.stringify(c.s3.secretAccessKey));
")"
# The API refuses to start without a download identity's secret; the local stack has no such identity,
# so download links are not checked here.
P8FS_API_PRESIGN_SECRET_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export P8FS_API_PRESIGN_SECRET_KEY

project=p8fs-compose
compose=(podman-compose --podman-path "$root/scripts/image/podman-host-net.sh" -p "$project"
  -f docker-compose.yml -f scripts/image/compose.local-servers.yml)
services=(bridge subscriber storage-worker-small storage-worker-medium storage-worker-large dreaming-worker api)
trap 'say "podman-compose down"; "${compose[@]}" down >/dev/null 2>&1 || true' EXIT

say "podman-compose up migrate"
"${compose[@]}" up -d --no-deps migrate >/dev/null 2>.stack/image/compose-up.log || die "podman-compose up migrate: $(tail -3 .stack/image/compose-up.log)"
code="$("${ENGINE[@]}" wait "${project}_migrate_1" | tail -1)"
[ "$code" = 0 ] || die "migrate exited $code: $("${ENGINE[@]}" logs "${project}_migrate_1" 2>&1 | tail -3)"
say "PASS migrate: exit 0"

say "podman-compose up ${services[*]}"
"${compose[@]}" up -d --no-deps "${services[@]}" >/dev/null 2>>.stack/image/compose-up.log || die "podman-compose up: $(tail -3 .stack/image/compose-up.log)"
declare -A health=([bridge]=8090 [subscriber]=8091 [storage-worker-small]=9464 [storage-worker-medium]=9465
  [storage-worker-large]=9466 [dreaming-worker]=9467 [api]=8080)
deadline=$((SECONDS + 240))
for service in "${services[@]}"; do
  until curl -fs -o /dev/null "http://127.0.0.1:${health[$service]}/health" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "$service: /health on ${health[$service]} never answered: $("${ENGINE[@]}" logs "${project}_${service}_1" 2>&1 | tail -3)"
    sleep 2
  done
  say "PASS $service: /health 200 on port ${health[$service]} ($SECONDS s)"
done

tenant="compose-test-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
say "p8fs ingest Sample.md --tenant $tenant --publish never --wait (the subscriber service publishes)"
env -u P8FS_API_PRESIGN_SECRET_KEY node bin/p8fs.js ingest ../shared/samples/content/Sample.md --tenant "$tenant" --category notes --publish never --wait --timeout 300s |
  tail -3 || die "ingest did not complete"
say "p8fs dream start --tenant $tenant --wait"
env -u P8FS_API_PRESIGN_SECRET_KEY node bin/p8fs.js dream start --tenant "$tenant" --wait | grep -E '^(completed|skipped):' || die "the dream did not complete"
say "PASS: every service ran from docker-compose.yml (with the override) and did its work"
