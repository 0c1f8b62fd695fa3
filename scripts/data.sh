#!/usr/bin/env bash
# Unpacks PTB-XL for training, `eval` manifests and the data-dependent tests:
# ../shared/data/ptbxl (ids 1-1999) and ../shared/data/ptbxl/packed (8,421 more records,
# v1.0.3 labels) become one plain tree at .data/ptbxl (git-ignored), by the packs' own
# unpack.sh. Idempotent: a finished tree is left alone (a few ms).
#   scripts/data.sh [DEST]      DEST defaults to .data/ptbxl
#   ECGSCOPE_SHARED=DIR         the shared data folder (default ../shared/data)
# Exit 3 when the shared data is absent (setup goes on without it; `make data` fails).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${ECGSCOPE_SHARED:-../shared/data}
dest=${1:-.data/ptbxl}
unpack="$shared/ptbxl/packed/unpack.sh"
if [ ! -f "$unpack" ]; then
  echo "data: $unpack is absent, so PTB-XL cannot be unpacked into $dest." >&2
  echo "data: training, the eval manifests and the data tests need it: put the shared data folder at $shared (or point ECGSCOPE_SHARED at it) and run 'make data' again." >&2
  exit 3
fi
for tool in tar xz; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "data: '$tool' is missing; install it (apt-get install xz-utils tar) and run 'make data' again." >&2
    exit 1
  }
done
bash "$unpack" "$dest"
