#!/usr/bin/env bash
# Idempotent project setup: system packages (when root and missing), a Python venv
# inside the repo with the pinned PyPI torch wheel, and the `.libtorch` folder that
# tch/torch-sys build and link against (see ../shared/TOOLCHAIN.md).
#
# GPU present (nvidia-smi works)  -> full CUDA wheel, .libtorch = torch package dir.
# otherwise                       -> slim CPU install: torch --no-deps + the two
#                                    small NVIDIA runtime wheels libtorch_cpu needs;
#                                    .libtorch/lib links only the CPU libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.11.0
VENV=.venv
PY=${PYTHON:-python3}
STAMP="$VENV/.ecgscope-setup-$TORCH_VERSION"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages (only what tests and `make run` need at run time) -------------
need_apt=()
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb xauth)
command -v xz >/dev/null 2>&1 || need_apt+=(xz-utils)
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || need_apt+=(libvulkan1 mesa-vulkan-drivers)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing system packages: ${need_apt[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null) \
      || log "warning: apt-get install failed; some tests may be skipped"
  else
    log "note: missing system packages (${need_apt[*]}); install them with apt-get for the full test suite"
  fi
fi

# --- data: PTB-XL unpacked into .data/ptbxl (training, eval manifests, data tests) ------
rc=0; ./scripts/data.sh >&2 || rc=$?
if [ "$rc" = 3 ]; then log "note: no shared data; the app runs, training and the data tests need 'make data'"
elif [ "$rc" != 0 ]; then exit "$rc"; fi

# --- torch wheel ---------------------------------------------------------------------
gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
want="cpu"; [ "$gpu" = 1 ] && want="cuda"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -e .libtorch/lib/libtorch_cpu.so ]; then
  log "torch $TORCH_VERSION ($want) already set up"
  exit 0
fi

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
PIP="$VENV/bin/pip --disable-pip-version-check -q"

if [ "$want" = cuda ]; then
  log "GPU found: installing the full torch==$TORCH_VERSION wheel (CUDA)"
  $PIP install "torch==$TORCH_VERSION"
  tdir=$("$VENV/bin/python" -c 'import torch,os;print(os.path.dirname(torch.__file__))')
  ln -sfn "$tdir" .libtorch
else
  log "no GPU: slim CPU install of torch==$TORCH_VERSION"
  $PIP install --no-deps "torch==$TORCH_VERSION"
  tdir=$(ls -d "$VENV"/lib/python3*/site-packages/torch | head -1)
  # libtorch_cpu.so needs the CUDA runtime and CUPTI shared objects by soname even on CPU.
  needed=$(ldd "$tdir/lib/libtorch_cpu.so" | awk '/not found/ {print $1}' || true)
  for so in $needed; do
    case "$so" in
      libcudart.so.*) $PIP install --no-deps "nvidia-cuda-runtime==13.0.*" || $PIP install --no-deps nvidia-cuda-runtime-cu13 ;;
      libcupti.so.*)  $PIP install --no-deps "nvidia-cuda-cupti==13.0.*" || $PIP install --no-deps nvidia-cuda-cupti-cu13 ;;
      *) log "warning: libtorch_cpu needs $so (not handled)";;
    esac
  done
  rm -rf .libtorch && mkdir -p .libtorch/lib
  ln -sfn "$(realpath "$tdir/include")" .libtorch/include
  for so in "$tdir"/lib/libtorch_cpu.so "$tdir"/lib/libtorch.so "$tdir"/lib/libc10.so "$tdir"/lib/libgomp*.so* "$tdir"/lib/libshm.so; do
    [ -e "$so" ] && ln -sfn "$(realpath "$so")" ".libtorch/lib/$(basename "$so")"
  done
  # the NVIDIA runtime wheels put their .so files under site-packages/nvidia/*/lib
  for so in $(find "$VENV"/lib/python3*/site-packages/nvidia -name 'libcudart.so*' -o -name 'libcupti.so*' 2>/dev/null); do
    ln -sfn "$(realpath "$so")" ".libtorch/lib/$(basename "$so")"
  done
  missing=$(LD_LIBRARY_PATH=.libtorch/lib ldd .libtorch/lib/libtorch_cpu.so | awk '/not found/ {print $1}' || true)
  [ -z "$missing" ] || { log "error: still missing after setup: $missing"; exit 1; }
fi
echo "$want" > "$STAMP"
log "done: LIBTORCH=.libtorch ($want)"
