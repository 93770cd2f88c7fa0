#!/usr/bin/env bash
# On a GPU machine without network access: installs what
# tools/env/gpu_wheels.sh gathered (the OpenMMLab wheels, and mmcv 2.1.0 from
# its wheel or, failing that, built from its source with a reduced set of ops)
# into a folder of its own, and writes mmkd's package metadata into the clone.
# Nothing is installed into the machine's Python itself.
#
#   bash tools/env/gpu_install.sh [WHEELS]      # WHEELS defaults to .gpu-wheels
#   export PYTHONPATH=$MMKD_GPU_SITE:$PWD       # what it prints last
#
# MMKD_GPU_SITE: where to install (default /tmp/mmkd-site). PYTHON: the Python
# that has torch (default python3). MMCV_OPS, TORCH_CUDA_ARCH_LIST: the ops
# and CUDA architectures of a build from source (default: those of
# tools/env/gpu_wheels.sh, and 9.0, i.e. H100/H200). MMCV_CUDA=0: build only
# the ops' CPU code (minutes less); the runs whose models call a CUDA op of
# mmcv (RetinaNet's focal loss, DINO's deformable attention) then fail with
# that op's error, the others run.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
wheels=$(cd "${1:-$here/.gpu-wheels}" && pwd)
site=${MMKD_GPU_SITE:-/tmp/mmkd-site}
py=${PYTHON:-python3}
ops=${MMCV_OPS:-nms roi_align focal_loss ms_deform_attn}
arch=${TORCH_CUDA_ARCH_LIST:-9.0}
cuda=${MMCV_CUDA:-1}
log() { echo "[gpu_install] $*" >&2; }
SECONDS=0
mkdir -p "$site"
pip=("$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir
     --upgrade --target "$site")

others=()
for whl in "$wheels"/*.whl; do
    case $(basename "$whl") in mmcv-*) ;; *) others+=("$whl") ;; esac
done
"${pip[@]}" "${others[@]}"
log "${#others[@]} wheels installed into $site (${SECONDS} s)"

torch_version=$("$py" -c 'import torch; print(torch.__version__)')
mmcv_wheel=$(ls "$wheels"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
built_for=$(cat "$wheels/mmcv-torch.txt" 2>/dev/null || true)
if [ -n "$mmcv_wheel" ] && [ "$built_for" = "$torch_version" ] && [ "$cuda" = 1 ]; then
    "${pip[@]}" "$mmcv_wheel"
    log "mmcv from $(basename "$mmcv_wheel") (built for torch $built_for)"
else
    [ -n "$mmcv_wheel" ] && log "the mmcv wheel was built for torch $built_for, this is $torch_version: building from the source"
    src=$(mktemp -d)
    tar xzf "$wheels/mmcv-2.1.0.tar.gz" -C "$src"
    "$py" "$here/tools/env/mmcv_reduce_ops.py" "$src/mmcv-2.1.0" $ops >&2
    # torch >= 2.14's headers need C++20; mmcv 2.1.0 asks for C++14/17
    sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$src/mmcv-2.1.0/setup.py"
    # the CUDA library headers torch's own headers include (cusparse.h, ...)
    # come with torch's nvidia-* wheels when the CUDA install lacks them
    nvidia_include=$("$py" "$here/tools/env/mmcv_reduce_ops.py" --cuda-include)
    start=$SECONDS
    (cd "$src/mmcv-2.1.0" &&
        # mmcv's setup.py builds the CUDA code whenever torch sees a GPU
        if [ "$cuda" != 1 ]; then export CUDA_VISIBLE_DEVICES=; fi &&
        CPATH=$nvidia_include${CPATH:+:$CPATH} \
        PYTHONPATH=$site MMCV_WITH_OPS=1 FORCE_CUDA=$cuda TORCH_CUDA_ARCH_LIST=$arch \
        MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" --no-build-isolation .)
    rm -rf "$src"
    log "mmcv built from source (ops: $ops; CUDA $cuda, arch $arch) in $((SECONDS - start)) s"
fi

# mmkd's metadata in the clone, so `mmkd::` config paths resolve (as
# tools/env/activate does)
(cd "$here" && PYTHONPATH=$site "$py" setup.py -q egg_info >/dev/null 2>&1) ||
    log "could not write mmkd.egg-info: configs that name mmkd:: paths will fail"
PYTHONPATH=$site:$here "$py" -c '
import mmcv, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, mmkd
from mmcv.ops import MultiScaleDeformableAttention, nms, roi_align, sigmoid_focal_loss
print("mmcv", mmcv.__version__, "ops compiled with CUDA",
      mmcv.ops.get_compiling_cuda_version())' >&2
log "ready in ${SECONDS} s; use: export PYTHONPATH=$site:$here"
echo "$site"
