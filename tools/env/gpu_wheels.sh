#!/usr/bin/env bash
# Gathers what a GPU machine without network access needs to run
# tools/analysis/gpu_check.py: the OpenMMLab stack as Python 3.12 wheels, and
# mmcv 2.1.0 (its source, and optionally a wheel built here with a reduced set
# of ops). tools/env/gpu_install.sh installs them there. See
# docs/get_started.md, "Checking a GPU machine".
#
#   bash tools/env/gpu_wheels.sh [DEST]         # DEST defaults to .gpu-wheels
#   TORCH_PYTHON=/path/to/python bash tools/env/gpu_wheels.sh [DEST]
#
# The GPU machine is assumed to have Python 3.12 with torch (CUDA), numpy,
# scipy, matplotlib, opencv-python-headless (cv2), pyyaml, regex, rich, tqdm,
# packaging, pillow, six, einops, click, markdown and zipp; the wheels below
# are the OpenMMLab packages and what they import that such a machine lacks.
# Versions are those of the tested environment (requirements/, and what pip
# resolved there).
#
# TORCH_PYTHON: a Python 3.12 that has the GPU machine's exact torch (e.g.
# torch==2.11.0, the CUDA 13.0 build PyPI serves) and setuptools<82, with
# CUDA_HOME (default /usr/local/cuda) holding a matching nvcc. Then mmcv is
# also built here into a wheel, with the ops and CUDA architectures of
# MMCV_OPS and TORCH_CUDA_ARCH_LIST below, and the GPU machine only installs
# it (it builds from the source when the wheel's torch differs from its own).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-$here/.gpu-wheels}
# The ops the check needs on CUDA: sigmoid_focal_loss (RetinaNet) and
# MultiScaleDeformableAttention (DINO, D-FINE); also nms (predictions,
# `python -m mmkd.env`) and roi_align (two-stage detectors).
ops=${MMCV_OPS:-nms roi_align focal_loss ms_deform_attn}
arch=${TORCH_CUDA_ARCH_LIST:-9.0}
mkdir -p "$dest"
rm -f "$dest"/*.whl "$dest"/*.tar.gz "$dest"/mmcv-torch.txt

platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
         manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${platforms[@]}" -d "$dest" \
    mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0 \
    addict==2.4.0 termcolor==3.3.0 yapf==0.32.0 \
    pycocotools==2.0.11 shapely==2.2.0 terminaltables==3.1.10 \
    prettytable==3.19.0 wcwidth==0.9.5 ftfy==6.3.1 \
    mat4py==0.6.0 modelindex==0.0.2 model-index==0.1.11 ordered-set==4.1.0 \
    importlib-metadata==10.2.0 lazy-importer==0.1.0

# mmcv's source. pip prepares its metadata by running its setup.py, which
# imports pkg_resources (gone from setuptools 82) and needs bdist_wheel: do it
# in a throwaway venv with a setuptools that has both.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q 'setuptools>=77,<82'
"$tmp/venv/bin/python" -m pip download -q --no-deps --no-binary :all: \
    --no-build-isolation mmcv==2.1.0 -d "$dest"

if [ -n "${TORCH_PYTHON:-}" ]; then
    torch_version=$("$TORCH_PYTHON" -c 'import torch; print(torch.__version__)')
    echo "building mmcv 2.1.0 (ops: $ops; CUDA arch $arch) against torch $torch_version" >&2
    tar xzf "$dest/mmcv-2.1.0.tar.gz" -C "$tmp"
    "$TORCH_PYTHON" "$here/tools/env/mmcv_reduce_ops.py" "$tmp/mmcv-2.1.0" $ops
    sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$tmp/mmcv-2.1.0/setup.py"
    # the CUDA library headers torch's own headers include (cusparse.h, ...)
    # come with torch's nvidia-* wheels when the CUDA install lacks them
    nvidia_include=$("$TORCH_PYTHON" "$here/tools/env/mmcv_reduce_ops.py" --cuda-include)
    (cd "$tmp/mmcv-2.1.0" &&
        CPATH=$nvidia_include${CPATH:+:$CPATH} \
        CUDA_HOME=${CUDA_HOME:-/usr/local/cuda} MMCV_WITH_OPS=1 FORCE_CUDA=1 \
        TORCH_CUDA_ARCH_LIST=$arch MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$TORCH_PYTHON" -m pip wheel -q --no-deps --no-build-isolation \
            --no-cache-dir -w "$dest" .)
    # the torch it was built against: gpu_install.sh builds from the source
    # instead when the GPU machine's torch is another
    echo "$torch_version" > "$dest/mmcv-torch.txt"
fi
du -sh "$dest" >&2
ls "$dest" >&2
