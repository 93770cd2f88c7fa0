#!/usr/bin/env bash
# Creates (once) and prints the path of the virtual environment mmkd runs in.
#
# The environment lives outside the clone, keyed by the requirement files, so the
# ~11 min mmcv build happens once per machine and every clone reuses it:
#   ${MMKD_ENV_ROOT:-$HOME/.cache/mmkd}/venv-<hash of requirements/*.txt>
# Idempotent: a complete environment (marked by .complete) is reused as it is.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3
key=$(cat "$here"/requirements/*.txt | sha256sum | cut -c1-12)
root=${MMKD_ENV_ROOT:-$HOME/.cache/mmkd}
venv=$root/venv-$key
if [ -f "$venv/.complete" ]; then echo "$venv"; exit 0; fi
mkdir -p "$root"
# One build at a time per machine: a second caller waits for the first.
exec 9>"$root/.lock"
flock 9
if [ -f "$venv/.complete" ]; then echo "$venv"; exit 0; fi

log() { echo "[mmkd env] $*" >&2; }
log "creating $venv (the mmcv build takes about 11 minutes on 2 cores)"
rm -rf "$venv"
"$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --no-cache-dir)
"${pip[@]}" -q --upgrade pip >&2
"${pip[@]}" -q -r "$here/requirements/torch.txt" >&2
# pip upgrades setuptools with torch; pkg_resources (needed by mmcv's setup.py and
# mmengine's `mmdet::` lookup) is gone from setuptools 82 on.
"${pip[@]}" -q 'setuptools>=77,<82' >&2
"$venv/bin/python" -c 'import pkg_resources' >&2

# mmcv 2.1.0 with its ops, built against this torch. Its setup.py asks for C++14/17,
# which torch >= 2.14's headers refuse, so raise the standard to C++20.
src=$(mktemp -d)
"$venv/bin/python" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
    mmcv==2.1.0 -d "$src" >&2
tar xzf "$src"/mmcv-2.1.0.tar.gz -C "$src"
sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$src/mmcv-2.1.0/setup.py"
MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" -q --no-build-isolation \
    "$src/mmcv-2.1.0" >&2
rm -rf "$src"

"${pip[@]}" -q -r "$here/requirements/mminstall.txt" -r "$here/requirements/tests.txt" >&2
"$venv/bin/python" -c 'import pkg_resources, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models' >&2
touch "$venv/.complete"
log "ready"
echo "$venv"
