#!/usr/bin/env bash
# On a GPU machine without network access, from the clone's root: install
# what tools/env/gpu_wheels.sh gathered (tools/env/gpu_install.sh), then run
# tools/analysis/gpu_check.py. Its rows (gpu_check.jsonl) and both logs go to
# OUTDIR. See docs/get_started.md, "Checking a GPU machine".
#
#   bash tools/env/gpu_check.sh OUTDIR [gpu_check.py options, e.g. --only 'acam*']
#
# WHEELS (default .gpu-wheels), MMKD_GPU_SITE, PYTHON, MMCV_OPS and
# TORCH_CUDA_ARCH_LIST are passed on to gpu_install.sh.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: bash tools/env/gpu_check.sh OUTDIR [gpu_check.py options]}
shift
mkdir -p "$out"
SECONDS=0
if ! site=$(bash "$here/tools/env/gpu_install.sh" "${WHEELS:-$here/.gpu-wheels}" \
        2>"$out/install.log"); then
    cat "$out/install.log" >&2
    echo "gpu_check.sh: the install failed (log above, and $out/install.log)" >&2
    exit 2
fi
cat "$out/install.log"
export PYTHONPATH=$site:$here${PYTHONPATH:+:$PYTHONPATH}
PYTHONUNBUFFERED=1 "${PYTHON:-python3}" "$here/tools/analysis/gpu_check.py" \
    --out "$out/gpu_check.jsonl" "$@" 2>&1 | tee "$out/gpu_check.log"
status=${PIPESTATUS[0]}
echo "gpu_check.sh: install and check took ${SECONDS} s (gpu_check.py exit status $status)"
exit "$status"
