#!/usr/bin/env bash
# Record the course on a CUDA GPU, in one command: the latency study (figures/latency_<gpu>*.csv and
# .png, read by notebook 09), then every notebook executed in full mode, its outputs stored and its
# run time in figures/notebook_times.csv (the README's course map shows it). Everything is packed into
# OUT/gpu_record.tar.gz after each step, so a run cut short still returns what it finished. The whole
# run keeps to BUDGET_S seconds (default 540: nine minutes): a step is stopped when the budget runs
# out, and the steps after it are skipped and logged. Exits non-zero if a step failed.
#
# On the lent GPU machine (torch 2.11, no Jupyter, no package index), from the project root:
#   here:   bash ../shared/device/make-wheels.sh          (fills .whl/ once)
#   there:  bash tools/gpu_record.sh "$OUT"                (with .whl carried; installed to /tmp/site)
# Usage: tools/gpu_record.sh OUT_DIR [--dry-run]
#   --dry-run: on any machine, the same steps at toy size (CPU, quick mode, a tiny study, notebook 01);
#              the tests run it to check the script, not the GPU.
set -uo pipefail
OUT=${1:?usage: tools/gpu_record.sh OUT_DIR [--dry-run]}
DRY=${2:-}
PY=${PYTHON:-python3}
BUDGET_S=${BUDGET_S:-540}
export COURSE_NO_PROGRESS=1 PYTHONUNBUFFERED=1
if [ "$DRY" = "--dry-run" ]; then
  export COURSE_MODE=quick COURSE_DEVICE=cpu
  LATENCY_ARGS=(--models mobilenet_v3_small --batches 1 --dtypes fp32 --layouts contiguous --modes eager,fused
                --min-run-time 0.02 --device cpu)
  NOTEBOOKS=${NOTEBOOKS:-01}
elif [ -n "$DRY" ]; then
  echo "unknown option $DRY; the only one is --dry-run" >&2; exit 2
else
  export COURSE_MODE=full
  LATENCY_ARGS=(--device cuda)
  # the notebooks whose full mode differs most from quick mode first (a run cut short keeps them)
  NOTEBOOKS=${NOTEBOOKS:-09 10 11 12 13 06 07 08 05 04 14 00 01 02 03}
fi
# the GPU image lacks torch-pruning and Jupyter: install the carried wheels (../shared/device/)
if [ -d .whl ] && ! $PY -c "import torch_pruning, nbclient, jupytext" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "installing .whl/ failed" >&2; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
  $PY -m ipykernel install --user --name python3 >/dev/null
fi
mkdir -p "$OUT" gpu_record
T0=$(date +%s)
FAILED=0
log() { echo "[$(date +%T)] $*" | tee -a gpu_record/steps.log; }
# written beside and then moved: a run killed while packing keeps the previous archive whole
pack() { tar czf "$OUT/.gpu_record.tar.gz" gpu_record notebooks/*.ipynb notebooks/*.py figures \
           && mv "$OUT/.gpu_record.tar.gz" "$OUT/gpu_record.tar.gz"; }
step() {  # each step gets what is left of the budget, and is stopped when it runs out
  local name=$1 t0 rc left; shift
  left=$(( BUDGET_S - ($(date +%s) - T0) ))
  if (( left <= 0 )); then log "skip $name: past the ${BUDGET_S} s budget"; return; fi
  t0=$(date +%s); log "start $name (at most $left s)"
  timeout "$left" "$@" > "gpu_record/$name.log" 2>&1; rc=$?
  log "end $name rc=$rc $(( $(date +%s) - t0 )) s"; tail -n 3 "gpu_record/$name.log"
  (( rc == 0 )) || FAILED=1
  pack
}
$PY - <<'PY' | tee gpu_record/device.txt
import helpers
print(helpers.env.device_name(helpers.env.device()), helpers.env.versions())
PY
step latency $PY -m helpers latency "${LATENCY_ARGS[@]}" --out figures
for nb in $NOTEBOOKS; do
  step "notebook_$nb" $PY -m helpers notebooks "$nb"
done
log "done in $(( $(date +%s) - T0 )) s$( (( FAILED )) && echo ', some steps failed (see their logs)')"
pack
exit $FAILED
