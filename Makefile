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

test: build
	@scripts/ensure-daemon.sh
	@node --test --test-concurrency=2 --test-timeout=600000 $$(find dist/test dist/src -name "*.test.js" | sort)

# Not yet run by `make test`: eslint still reports findings on main (see docs/dependencies.md).
lint: build
	@npx eslint .

bench: build
	@scripts/ensure-daemon.sh
	@node dist/bench/run.js
	@node dist/bench/registry.js
	@node dist/bench/pull.js
	@node dist/bench/build.js

clean:
	rm -rf dist
