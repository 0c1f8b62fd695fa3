#!/usr/bin/env bash
# Smoke test of a built package without installing it: extract it into a temporary folder,
# check the files and metadata, and run the extracted binary with a clean environment (and
# inside a new network namespace when `unshare -n` is permitted).
#   packaging/test-deb.sh [target/debian/ecgscope_*.deb]
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls -t target/debian/ecgscope_*.deb 2>/dev/null | head -n 1)}
[ -f "$deb" ] || { echo "no .deb: run 'make package' first" >&2; exit 1; }

fail() { printf '[test-deb] FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf '[test-deb] ok: %s\n' "$*" >&2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"

for f in usr/bin/ecgscope usr/lib/ecgscope/ecgscope \
         usr/lib/ecgscope/libtorch/{libtorch_cpu.so,libtorch.so,libc10.so,libgomp.so.1,libcudart.so.13,libcupti.so.13} \
         usr/share/ecgscope/assets/sample/00010_hr.hea usr/share/ecgscope/assets/sample/00010_hr.dat \
         usr/share/applications/ecgscope.desktop usr/share/mime/packages/ecgscope.xml \
         usr/share/metainfo/org.ecgscope.ecgscope.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/ecgscope.svg usr/share/icons/hicolor/256x256/apps/ecgscope.png \
         etc/default/ecgscope usr/share/doc/ecgscope/README.md; do
  [ -e "$root/$f" ] || fail "missing /$f"
done
[ -n "$(ls -A "$root/usr/lib/ecgscope/models")" ] || fail "empty /usr/lib/ecgscope/models"
find "$root" -type l | grep -q . && fail "symlinks in the package: $(find "$root" -type l)"
ok "files present ($(find "$root" -type f | wc -l) files, $(du -sm "$root" | cut -f1) MiB unpacked)"

command -v desktop-file-validate >/dev/null && { desktop-file-validate "$root/usr/share/applications/ecgscope.desktop" || fail "desktop entry"; ok "desktop entry valid"; }
command -v appstreamcli >/dev/null && { appstreamcli validate --no-net "$root/usr/share/metainfo/org.ecgscope.ecgscope.metainfo.xml" >/dev/null || fail "metainfo"; ok "metainfo valid"; }

bin=$root/usr/lib/ecgscope/ecgscope
readelf -d "$bin" | grep -q 'R.*PATH.*\[\$ORIGIN/libtorch\]' || fail "binary RUNPATH is not \$ORIGIN/libtorch: $(readelf -d "$bin" | grep PATH)"
lddout=$(env -i PATH=/usr/bin:/bin ldd "$bin" "$root"/usr/lib/ecgscope/libtorch/libtorch_cpu.so)
grep -q 'not found' <<<"$lddout" && fail "unresolved libraries: $(grep 'not found' <<<"$lddout")"
ok "all shared libraries resolve with a clean environment"

netns=()
if unshare -n true 2>/dev/null; then netns=(unshare -n); elif unshare -r -n true 2>/dev/null; then netns=(unshare -r -n); fi
sample=$root/usr/share/ecgscope/assets/sample/00010_hr.hea
env -i PATH=/usr/bin:/bin HOME="$root/home" "${netns[@]}" "$bin" analyze "$sample" --json --no-maps > "$root/analysis.json" || fail "analyze"
python3 - "$root/analysis.json" <<'PY' || fail "analyze --json output"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    v = json.load(f)
assert len(v["leads"]) == 12, v["leads"]
assert v["sample_rate_hz"] == 500.0 and v["duration_s"] == 10.0
# The packaged weights load (hash checked) and the model runs on the CPU.
assert v.get("anomaly") and v.get("baseline"), v.get("model_status")
assert v["anomaly"]["device"] == "cpu", v["anomaly"]["device"]
PY
ok "analyze --json on the installed sample, model on cpu ${netns[*]:+(inside ${netns[*]})}"
env -i PATH=/usr/bin:/bin HOME="$root/home" "${netns[@]}" "$bin" report "$sample" -o "$root/sample.pdf" >/dev/null || fail "report"
head -c 5 "$root/sample.pdf" | grep -q '%PDF-' || fail "report is not a PDF"
ok "report -> PDF ($(du -k "$root/sample.pdf" | cut -f1) KiB) ${netns[*]:+(inside ${netns[*]})}"
# First start of the GUI with an empty home: opens the packaged sample and analyses it.
if command -v xvfb-run >/dev/null; then
  mkdir -p "$root/gui-home"
  out=$(cd "$root/gui-home" && env -i PATH=/usr/bin:/bin HOME="$root/gui-home" ECGSCOPE_EXIT_WHEN_ANALYSED=1 \
        timeout 180 xvfb-run -a -s "-screen 0 1600x1000x24" "${netns[@]}" "$bin" 2>/dev/null) || fail "GUI first start"
  grep -q "analysed .*usr/share/ecgscope/assets/sample/00010_hr.hea (anomaly model on cpu)" <<<"$out" \
    || fail "GUI first start did not show the analysed sample: $out"
  ok "GUI first start (empty home) opened and analysed the packaged sample ${netns[*]:+(inside ${netns[*]})}"
else
  echo "[test-deb] skipped the GUI first start: xvfb-run is not installed" >&2
fi
echo "[test-deb] $deb: all checks passed"
