# P8FS Flows. Two commands do everything on a fresh clone:
#   make demo   the main job on the local stack of real servers
#   make test   the test suite against its own stack of real servers
SHELL := /bin/bash
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true
P8FS := node bin/p8fs.js

.PHONY: setup deploy-tools build demo test chaos soak bench bench-huge histories docs lint typecheck stack-up stack-down stack-status clean image image-test

node_modules/.p8fs-installed: package.json package-lock.json
	@echo "[setup] installing npm packages (npm install, pinned by package-lock.json)"
	@# Not `npm ci`: the registry mirror here lacks other platforms' optional binaries (darwin, win32),
	@# so the lockfile cannot list them and `npm ci` refuses it. Versions are exact in package.json too.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

.stack/venv/.installed: scripts/install-servers.sh
	@bash scripts/install-servers.sh

setup: node_modules/.p8fs-installed .stack/venv/.installed ## install npm packages, server binaries, PostgreSQL
	@bash scripts/install-servers.sh >/dev/null

deploy-tools: ## kustomize, kubeconform, hadolint and the Kubernetes/KEDA schemas that test/unit/deploy.test.ts checks with (pinned)
	@bash scripts/install-deploy-tools.sh

build: node_modules/.p8fs-installed ## compile TypeScript and prebuild the workflow bundle
	@echo "[build] compiling TypeScript and bundling workflows"
	@npm run --silent build

demo: setup build ## stack up, migrate, run the ingestion demo over ../shared/samples
	@$(P8FS) demo

test: setup build ## run every test against real servers (the test stack uses its own ports)
	@# `build` is the Dockerfile's `npm run build`: the image's build is checked here, and
	@# test/integration/deploy-metrics.test.ts starts the built `node bin/p8fs.js` as the containers do.
	@# The type-check runs beside vitest's start (servers starting, workflows bundling: mostly waiting);
	@# its errors print at the end and fail the target.
	@echo "[test] type-checking (tsc, beside the test run; its result is printed at the end)"
	@echo "[test] running vitest (the test stack starts on ports 2xxxx if it is not running, and stops again at the end)"
	@# The deploy checkers build from the Go module proxy (minutes on a cold machine, mostly downloading):
	@# in the background beside the run; test/unit/deploy.test.ts runs the same script, which waits on its lock.
	@echo "[test] installing the deploy checkers in the background (log: .deploy-tools.log)"
	@bash scripts/install-deploy-tools.sh > .deploy-tools.log 2>&1 & \
	npx tsc -p tsconfig.json > .tsc-report.txt 2>&1 & tsc=$$!; \
	P8FS_TEST_STOP_STACK=1 npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json; \
	status=$$?; \
	if wait $$tsc; then echo "[test] type-check: no errors"; else echo "[test] type-check FAILED:"; cat .tsc-report.txt; status=1; fi; \
	node scripts/test-summary.mjs .vitest-report.json; exit $$status

chaos: setup ## slow soaks kept out of make test: huge files streamed in bounded memory, workers and servers killed or stopped mid-work (the files in test/chaos/)
	@bash scripts/install-jaeger.sh
	@echo "[chaos] running the slow soaks (test/chaos/: huge files, kills, outages) against the test stack"
	@echo "[chaos] and the trace test (test/chaos/traces-otlp) against a private Jaeger"
	@P8FS_TEST_SUITE=chaos P8FS_TEST_STOP_STACK=1 npx vitest run
	@echo "[chaos] last: the soak with every fault at once (make soak; SOAK_UPLOADS=200 for a short one)"
	@$(MAKE) --no-print-directory soak

soak: setup build ## every fault at once: SOAK_UPLOADS (5000) mixed uploads through S3 while processes are SIGKILLed and servers restarted or stopped, on its own stack; accounts for every upload (SOAK_SEED=n repeats; `npx tsx test/chaos/soak/run.ts --help`)
	@npx tsx test/chaos/soak/run.ts

bench: setup build ## benchmarks: ratios against baselines and ceilings, then the huge files, written to docs/PERFORMANCE.md (P8FS_BENCH_HUGE=0 skips the huge files)
	@npx tsx bench/run.ts
	@if [ "$${P8FS_BENCH_HUGE:-1}" = "0" ]; then echo "[bench] huge files skipped (P8FS_BENCH_HUGE=0); their section keeps its last run"; \
	else echo "[bench] huge files: 1 GiB on the large tier, 300 MiB on the medium tier (the longest part: tens of minutes on 2 cores)"; \
	npx tsx bench/huge-file.ts; fi

bench-huge: setup build ## generated huge text files (1 GiB on the large tier, 300 MiB on the medium tier): worker peak RSS, into docs/PERFORMANCE.md
	@npx tsx bench/huge-file.ts $${P8FS_BENCH_HUGE_MIB:+--mib $$P8FS_BENCH_HUGE_MIB}

histories: setup ## re-record the workflow histories the replay test replays (after an intended, patched change)
	@npx tsx scripts/capture-histories.ts
	@npx tsx scripts/capture-batch-histories.ts

docs: node_modules/.p8fs-installed ## write the generated reference pages in docs/ (CLI.md from the command tree, CONFIGURATION.md from the config declarations); a unit test fails when one is stale
	@npx tsx scripts/gen-cli-doc.ts
	@npx tsx scripts/gen-config-doc.ts

image: ## build the image (Dockerfile) with docker, else podman (installed from apt if missing); makes the base image locally where no registry serves it (scripts/image/build.sh; a cold build takes tens of minutes on 2 cores)
	@bash scripts/image/build.sh

image-test: setup build ## run every role of deploy/k8s/base from the built image against the local stack, one PASS/FAIL line each (scripts/image/test.ts; minutes, kept out of make test)
	@npx tsx scripts/image/test.ts

lint: node_modules/.p8fs-installed ## formatting, lint rules and the direction of imports (.dependency-cruiser.cjs)
	@npx biome check src test bench scripts
	@npx depcruise --config .dependency-cruiser.cjs src

typecheck: node_modules/.p8fs-installed
	@npx tsc -p tsconfig.json

stack-up: setup build
	@$(P8FS) stack up
stack-down: build
	@$(P8FS) stack down
stack-status: build
	@$(P8FS) stack status

clean:
	rm -rf dist
