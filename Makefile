# Berth: `make run` and `make test` do all set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
BERTH_HOST ?= unix:///run/berth.sock

.PHONY: deps build run test bench clean lint

deps:
	@scripts/install-deps.sh

build: deps
	@npm run --silent build

run: build
	@scripts/ensure-daemon.sh
	@bin/berth run --rm busybox echo hello from berth

test: lint
	@scripts/ensure-daemon.sh
	@node --test --test-concurrency=2 --test-timeout=600000 $$(find dist/test dist/src -name "*.test.js" | sort)

# eslint (typescript-eslint, import-x/no-cycle: eslint.config.js), prettier (.prettierrc.json) and the
# file-size rule (scripts/check-file-size.mjs); `make test` runs it first.
lint: build
	@npx eslint .
	@npx prettier --check --log-level warn "src/**/*.ts" "test/**/*.ts" "bench/**/*.ts" "scripts/**/*.mjs" "*.js"
	@node scripts/check-file-size.mjs

bench: build
	@scripts/ensure-daemon.sh
	@node dist/bench/run.js
	@node dist/bench/registry.js
	@node dist/bench/pull.js
	@node dist/bench/build.js
	@node dist/bench/cri.js

clean:
	rm -rf dist
