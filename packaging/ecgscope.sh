#!/bin/sh
# /usr/bin/ecgscope — starts the installed ecgscope with the right LibTorch.
#
# Default: the slim CPU LibTorch bundled in /usr/lib/ecgscope/libtorch (the binary's
# RUNPATH already points there; it is also put on LD_LIBRARY_PATH so that nothing from an
# unrelated torch on the system is picked up).
#
# NVIDIA GPU: install the full PyPI wheel of the same version, torch==2.11.0 (CUDA 13), and
# point ECGSCOPE_LIBTORCH at it, either in the environment or in /etc/default/ecgscope
# (system-wide) or ~/.config/ecgscope/env (per user). The value is the torch package folder
# or its lib/ folder, or the word "python" to ask python3 where torch is installed.
# See /usr/share/doc/ecgscope/README.md.
set -eu

APPDIR=/usr/lib/ecgscope
TORCH_VERSION=2.11.0

# Settings files (shell assignments); the environment wins over both.
env_torch=${ECGSCOPE_LIBTORCH-}
for f in /etc/default/ecgscope "${XDG_CONFIG_HOME:-${HOME:-/nonexistent}/.config}/ecgscope/env"; do
  # shellcheck disable=SC1090
  [ -r "$f" ] && . "$f"
done
[ -n "$env_torch" ] && ECGSCOPE_LIBTORCH=$env_torch

torch_lib=
case "${ECGSCOPE_LIBTORCH:-}" in
  "") ;;
  python)
    # find_spec locates the package without importing torch (which would take seconds)
    pkg=$(python3 -c 'import importlib.util as u; s = u.find_spec("torch"); print(s.submodule_search_locations[0] if s else "")' 2>/dev/null || true)
    [ -n "$pkg" ] && torch_lib=$pkg/lib
    [ -n "$torch_lib" ] || echo "ecgscope: ECGSCOPE_LIBTORCH=python but python3 has no torch; using the bundled CPU LibTorch" >&2
    ;;
  *)
    if [ -e "$ECGSCOPE_LIBTORCH/lib/libtorch_cpu.so" ]; then torch_lib=$ECGSCOPE_LIBTORCH/lib
    elif [ -e "$ECGSCOPE_LIBTORCH/libtorch_cpu.so" ]; then torch_lib=$ECGSCOPE_LIBTORCH
    else echo "ecgscope: no libtorch_cpu.so under ECGSCOPE_LIBTORCH=$ECGSCOPE_LIBTORCH; using the bundled CPU LibTorch" >&2
    fi
    ;;
esac

if [ -n "$torch_lib" ] && [ ! -e "$torch_lib/libtorch_cpu.so" ]; then
  echo "ecgscope: no libtorch_cpu.so in $torch_lib; using the bundled CPU LibTorch" >&2
  torch_lib=
fi

if [ -n "$torch_lib" ]; then
  # The binary was linked against torch $TORCH_VERSION; another version will not load.
  version_py=$(dirname "$torch_lib")/version.py
  if [ -r "$version_py" ] && ! grep -q "__version__ = '$TORCH_VERSION" "$version_py"; then
    echo "ecgscope: warning: $(grep '__version__' "$version_py" | head -n 1) in $torch_lib; ecgscope needs torch==$TORCH_VERSION" >&2
  fi
  LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # The binary does not link libtorch_cuda (it was built against the CPU set); preloading it
  # registers the CUDA backend so the model can run on the GPU.
  if [ -e "$torch_lib/libtorch_cuda.so" ]; then
    # Only when its own libraries (cuBLAS, cuDNN, … from the nvidia-* wheels) resolve;
    # otherwise the model runs on the CPU with this torch.
    missing=$(LD_LIBRARY_PATH=$LD_LIBRARY_PATH ldd "$torch_lib/libtorch_cuda.so" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
    if [ -z "$missing" ]; then
      LD_PRELOAD=$torch_lib/libtorch_cuda.so${LD_PRELOAD:+:$LD_PRELOAD}
      export LD_PRELOAD
    else
      echo "ecgscope: warning: $torch_lib/libtorch_cuda.so cannot load (missing: $missing); CUDA disabled. Install the full wheel: pip install torch==$TORCH_VERSION" >&2
    fi
  fi
else
  LD_LIBRARY_PATH=$APPDIR/libtorch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
export LD_LIBRARY_PATH

# The model weights are found by the binary itself beside it, in /usr/lib/ecgscope/models
# (ECGSCOPE_MODELS, when set, points elsewhere).
exec "$APPDIR/ecgscope" "$@"
