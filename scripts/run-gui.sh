#!/usr/bin/env bash
# Start the GUI. Without a display (e.g. a headless server) say so instead of failing
# obscurely; set ECGSCOPE_XVFB=1 to run it inside Xvfb (for screenshots).
set -euo pipefail
bin=$1; shift
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  if [ "${ECGSCOPE_XVFB:-0}" = 1 ] && command -v xvfb-run >/dev/null; then
    exec xvfb-run -a -s "-screen 0 1600x1000x24" "$bin" "$@"
  fi
  echo "No display found (DISPLAY/WAYLAND_DISPLAY unset). Run 'make run' from a desktop session," >&2
  echo "or 'ECGSCOPE_XVFB=1 make run' to start it in a virtual X server." >&2
  echo "Meanwhile, the analysis of the sample study:" >&2
  exec "$bin" analyze "$@"
fi
exec "$bin" "$@"
