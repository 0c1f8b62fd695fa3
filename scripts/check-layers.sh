#!/usr/bin/env bash
# The layer rules Cargo cannot enforce (ARCHITECTURE.md): nothing flows backwards.
# Crates: ecgcore ← ecgsession ← ecgreport; ecgcore ← ecgmodel, ecgdigitize; the product
# (ecgscope) never links the lab (ecglab). Modules of the app: pipeline and timing import
# neither app, ui nor cli; app imports neither ui nor cli (shell joins app and ui); panels
# never take app state &mut; cli imports no ui. ecgmodel fits nothing and ecgdigitize
# neither evaluates nor renders test pages (that is ecglab's).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
violation() { echo "layer violation: $1" >&2; fail=1; }
grep -rnE '\b(egui|eframe|tch|torch_sys)::' crates/ecgcore/src && violation "ecgcore must not use egui/eframe/tch"
grep -rnE '\b(egui|eframe|tch|krilla)::' crates/ecgsession/src && violation "ecgsession must not use egui/tch/krilla"
grep -rnE '\b(egui|eframe)::' crates/ecgmodel/src && violation "ecgmodel must not use egui"
grep -rnE '\b(egui|eframe|tch)::' crates/ecgdigitize/src && violation "ecgdigitize must not use egui/tch"
grep -rnE '\b(egui|eframe|tch)::' crates/ecgreport/src && violation "ecgreport must not use egui/tch"
grep -rnE '\becglab::|ecglab *=' crates/ecgmodel/src crates/ecgmodel/Cargo.toml src Cargo.toml \
  | grep -v '^Cargo.toml:.*members' | grep -vE '^[^:]+:[0-9]+:\s*//' \
  && violation "the product (ecgscope, ecgmodel) must not use the lab (ecglab)"
grep -nE 'crate::(app|ui|cli)\b' src/pipeline.rs src/timing.rs src/edits.rs && violation "pipeline/timing must not import app, ui or cli"
grep -rnE 'crate::cli\b' src/app src/ui && violation "app/ui must not import cli"
grep -rnE 'crate::(ui|shell)\b' src/app && violation "app must not import ui (shell joins them)"
grep -rnE '&mut (EcgApp|Study|Settings|PaperView|crate::app::)' src/ui && violation "panels read app state and return commands; they never take it &mut"
grep -rnE 'crate::ui\b' src/cli && violation "cli must not import ui"
grep -rnE 'std::fs::|File::open' crates/ecgcore/src/dsp && violation "ecgcore::dsp is pure: no file access"
# The lab apart from the product (issue 14): fitting calibrations and evaluating or
# rendering test pages for the digitizer live in ecglab, never in ecgmodel or ecgdigitize.
grep -rnE '\bfn (fit|fit_[a-z_]+|select_components|threshold_for_recall)\b' crates/ecgmodel/src \
  && violation "ecgmodel is inference only: fitting belongs to ecglab (ecglab::fit)"
grep -rnE '^\s*(pub(\([a-z]+\))? )?mod (eval|render)\b|^\s*pub use (eval|render)::' crates/ecgdigitize/src \
  && violation "ecgdigitize is the product digitizer: evaluation and page rendering belong to ecglab"
[ -e crates/ecgdigitize/src/eval.rs ] || [ -e crates/ecgdigitize/src/render.rs ] \
  && violation "ecgdigitize/src/eval.rs or render.rs is back: they belong to ecglab (digitizer_eval, paper_render)"
exit $fail
