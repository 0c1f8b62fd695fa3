#!/usr/bin/env bash
# Enforce DESIGN.md §2: nothing flows backwards. The core crate (data model, readers,
# dsp) never uses egui or tch; the model crate never uses egui.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
if grep -rnE '\b(egui|eframe|tch|torch_sys)::' crates/ecgcore/src; then
  echo "layer violation: ecgcore must not use egui/eframe/tch" >&2; fail=1
fi
if [ -d crates/ecgmodel/src ] && grep -rnE '\b(egui|eframe)::' crates/ecgmodel/src; then
  echo "layer violation: ecgmodel must not use egui" >&2; fail=1
fi
if [ -d crates/ecgdigitize/src ] && grep -rnE '\b(egui|eframe|tch)::' crates/ecgdigitize/src; then
  echo "layer violation: ecgdigitize must not use egui/tch" >&2; fail=1
fi
exit $fail
