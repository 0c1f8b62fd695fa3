# ecgscope — the two commands of the quick start are `make run` and `make test`.
# Everything else is here for developers and CI.
SHELL := /bin/bash
CARGO ?= cargo
SAMPLE := assets/sample/00010_hr.hea

.PHONY: setup data build run test lint bench fmt package clean-venv

setup:
	@./scripts/setup.sh

# PTB-XL (plain + packed records of ../shared/data) unpacked into .data/ptbxl; setup runs it too.
data:
	@./scripts/data.sh

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

# The GUI cold start needs a display: without one, the bench runs inside Xvfb.
bench: setup
	$(CARGO) build --release --bin ecgscope
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ] && command -v xvfb-run >/dev/null; then \
	  echo "no display: running the bench inside Xvfb (software rendering)"; \
	  xvfb-run -a -s "-screen 0 1600x1000x24" target/release/ecgscope bench; \
	else target/release/ecgscope bench; fi

fmt:
	$(CARGO) fmt --all

package: build
	@./packaging/build-deb.sh

clean-venv:
	rm -rf .venv .libtorch
