#!/usr/bin/env bash
# Builds the Debian package target/debian/ecgscope_<version>-1_<arch>.deb with cargo-deb.
# Called by `make package` after `make build`; see packaging/README.md.
#
# Stages under target/deb-stage/ what cargo-deb packs besides the files in packaging/:
#   ecgscope    the release binary, stripped, RUNPATH = $ORIGIN/libtorch
#   libtorch/   real copies (not links) of the slim CPU LibTorch set from .libtorch/lib,
#               stripped of symbol tables (saves ~90 MB of libtorch_cpu.so)
#   models/     whatever models/ holds now (the anomaly model weights), or a note if empty
# and checks that the staged binary and libraries resolve every shared library without the
# repository (.venv, .libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${ECGSCOPE_BIN:-target/release/ecgscope}
LIBTORCH_DIR=${LIBTORCH:-.libtorch}
STAGE=target/deb-stage
OUT_DIR=target/debian
# The slim CPU set (../shared/TOOLCHAIN.md): what libtorch_cpu.so and tch need on a machine
# without CUDA. libcudart/libcupti are the small NVIDIA runtime libraries libtorch_cpu.so
# names even on CPU.
LIBS=(libtorch_cpu.so libtorch.so libc10.so libgomp.so.1 libcudart.so.13 libcupti.so.13)

log() { printf '[package] %s\n' "$*" >&2; }
die() { printf '[package] error: %s\n' "$*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------------
command -v cargo-deb >/dev/null 2>&1 \
  || die "cargo-deb is not installed: run 'cargo install cargo-deb --locked' (a few minutes)"
if ! command -v patchelf >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing patchelf"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >/dev/null
  else
    die "patchelf is missing: sudo apt-get install patchelf"
  fi
fi

[ -x "$BIN" ] || die "no binary at $BIN: run 'make build' first"
[ -d "$LIBTORCH_DIR/lib" ] || die "no LibTorch at $LIBTORCH_DIR/lib: run 'make setup' first"
if readelf -d "$BIN" | grep -q 'libtorch_cuda'; then
  die "$BIN links libtorch_cuda (built against the CUDA LibTorch); the package bundles the \
CPU set only: build it on a machine set up without a GPU (scripts/setup.sh slim install)"
fi

# --- stage --------------------------------------------------------------------------------
rm -rf "$STAGE"
mkdir -p "$STAGE/libtorch" "$STAGE/models"

cp "$BIN" "$STAGE/ecgscope"
strip --strip-unneeded "$STAGE/ecgscope"
patchelf --set-rpath '$ORIGIN/libtorch' "$STAGE/ecgscope"

for lib in "${LIBS[@]}"; do
  src="$LIBTORCH_DIR/lib/$lib"
  [ -e "$src" ] || die "missing $src (expected the slim CPU LibTorch set: ${LIBS[*]})"
  cp -L "$src" "$STAGE/libtorch/$lib"
  chmod 644 "$STAGE/libtorch/$lib"
  strip --strip-unneeded "$STAGE/libtorch/$lib"
done

if compgen -G 'models/*' >/dev/null; then
  cp -rL models/. "$STAGE/models/"
  log "models: $(find "$STAGE/models" -type f | wc -l) file(s), $(du -sh "$STAGE/models" | cut -f1)"
else
  log "warning: models/ is empty: the package carries no anomaly model weights"
  printf 'No anomaly-model weights were bundled in this build of ecgscope.\n' > "$STAGE/models/NO-WEIGHTS.txt"
fi

# --- check: every shared library resolves inside the stage or from the system ---------------
check_ldd() {
  local what=$1 out
  out=$(env -i PATH=/usr/bin:/bin ldd "$what")
  if grep -q 'not found' <<<"$out"; then
    die "$what: unresolved libraries:"$'\n'"$(grep 'not found' <<<"$out")"
  fi
  local repo_abs
  repo_abs=$(pwd -P)
  if grep -E "=> ($repo_abs|$(realpath "$LIBTORCH_DIR"))/(\.venv|\.libtorch)" <<<"$out"; then
    die "$what still loads libraries from the repository"
  fi
}
check_ldd "$STAGE/ecgscope"
check_ldd "$STAGE/libtorch/libtorch_cpu.so"
check_ldd "$STAGE/libtorch/libc10.so"

# --- build ----------------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
log "running cargo deb (xz compression of ~$(du -sh "$STAGE" | cut -f1) takes a few minutes on 2 cores)"
deb=$(cargo deb --no-build --no-strip --output "$OUT_DIR" "$@" | tail -n 1)
[ -f "$deb" ] || die "cargo deb did not report a .deb (got: $deb)"
size_mib=$(du -m "$deb" | cut -f1)
installed_kib=$(dpkg-deb -f "$deb" Installed-Size)
log "built $deb: $size_mib MiB (.deb), $((installed_kib / 1024)) MiB installed"
echo "$deb"
