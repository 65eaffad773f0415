#!/usr/bin/env bash
# Run the course on a CUDA GPU in full mode and pack what it produced into OUT/gpu_record.tar.gz:
# the zoo table measured on the GPU, the latency study (into figures/, where notebook 09 reads it),
# and every notebook executed in full mode with its run time. The archive is rewritten after each
# step, so a run cut short still returns what it finished.
# Usage: tools/gpu_record.sh OUT_DIR   (PYTHON=python3 by default; torch with CUDA must be installed)
set -uo pipefail
OUT=${1:?usage: tools/gpu_record.sh OUT_DIR}
PY=${PYTHON:-python3}
export COURSE_MODE=full COURSE_NO_PROGRESS=1 PYTHONUNBUFFERED=1
mkdir -p "$OUT" gpu_record
log() { echo "[$(date +%T)] $*" | tee -a gpu_record/steps.log; }
pack() { tar czf "$OUT/gpu_record.tar.gz" gpu_record notebooks/*.ipynb figures; }
step() {
  local name=$1 t0 rc; shift
  t0=$(date +%s); log "start $name"
  "$@" > "gpu_record/$name.log" 2>&1; rc=$?
  log "end $name rc=$rc $(( $(date +%s) - t0 )) s"; tail -n 3 "gpu_record/$name.log"
  pack
}
$PY - <<'PY' | tee gpu_record/device.txt
import helpers
print(helpers.env.device_name(), helpers.env.versions())
PY
step reproduce $PY -m helpers reproduce --device cuda --readme-config --out gpu_record/reproduce
step latency $PY -m helpers latency --out figures
# the notebooks whose full mode differs most from quick mode first (a run cut short keeps them)
for nb in ${NOTEBOOKS:-09 10 11 12 13 06 07 08 05 04 00 01 02 03}; do
  step "notebook_$nb" $PY -m helpers notebooks "$nb"
done
log done
