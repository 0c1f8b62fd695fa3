# ecgscope — the two commands of the quick start are `make run` and `make test`.
# Everything else is here for developers and CI.
SHELL := /bin/bash
CARGO ?= cargo
SAMPLE := assets/sample/00010_hr.hea

.PHONY: setup build run test lint bench fmt package clean-venv

setup:
	@./scripts/setup.sh

build: setup
	$(CARGO) build --release --bin ecgscope

run: build
	@./scripts/run-gui.sh target/release/ecgscope $(SAMPLE)

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@./scripts/check-layers.sh

test: setup lint
	$(CARGO) test --workspace

bench: setup
	$(CARGO) build --release --bin ecgscope
	target/release/ecgscope bench

fmt:
	$(CARGO) fmt --all

package: build
	@./packaging/build-deb.sh

clean-venv:
	rm -rf .venv .libtorch
