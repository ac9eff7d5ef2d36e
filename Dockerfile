# P8FS Flows image: one image for every process (`p8fs migrate|bridge|worker --tier …`), used by
# docker-compose.yml. Build: docker build -t p8fs-flows:0.1.0 .

# ---- build: all dependencies, compile TypeScript and the workflow bundle
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: our lockfile is made where the registry mirror lacks other platforms'
# optional binaries, so `npm ci` rejects it. Versions are exact in package.json and the lockfile.
RUN npm install
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/copy-assets.mjs ./scripts/
# The build compiles, copies the SQL migrations beside the compiled modules and prebuilds the workflow bundle.
RUN npm run build

# ---- runtime: production dependencies only, compiled output, non-root
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm install --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
# Bridge health (8090) and worker metrics (9464).
EXPOSE 8090 9464
ENTRYPOINT ["node", "bin/p8fs.js"]
CMD ["--help"]
