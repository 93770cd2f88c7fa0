#!/usr/bin/env bash
# Creates (once) and prints the path of the virtual environment mmkd runs in.
#
# The environment lives outside the clone so the ~12 min mmcv build happens once per
# machine and every clone reuses it. It is keyed by what that build depends on
# (requirements/torch.txt and this script's mmcv recipe):
#   ${MMKD_ENV_ROOT:-$HOME/.cache/mmkd}/venv-<hash of torch.txt + mmcv recipe>
# The lighter requirements (mminstall.txt, tests.txt, lint.txt, docs.txt) are synced into it
# whenever they change, without a rebuild. Idempotent and safe to call concurrently.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3
mmcv_recipe='mmcv==2.1.0 MMCV_WITH_OPS=1 -std=c++20'
key=$( (cat "$here/requirements/torch.txt"; echo "$mmcv_recipe") | sha256sum | cut -c1-12)
light=("$here/requirements/mminstall.txt" "$here/requirements/tests.txt" "$here/requirements/lint.txt"
       "$here/requirements/docs.txt")
light_key=$(cat "${light[@]}" | sha256sum | cut -c1-12)
root=${MMKD_ENV_ROOT:-$HOME/.cache/mmkd}
venv=$root/venv-$key
ready() { [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$light_key" ]; }
if ready; then echo "$venv"; exit 0; fi
mkdir -p "$root"
# One build at a time per machine: a second caller waits for the first.
exec 9>"$root/.lock"
flock 9
if ready; then echo "$venv"; exit 0; fi

log() { echo "[mmkd env] $*" >&2; }
pip=("$venv/bin/python" -m pip install --no-cache-dir)
sync_light() {
    "${pip[@]}" -q -r "${light[0]}" -r "${light[1]}" -r "${light[2]}" -r "${light[3]}" >&2
    "$venv/bin/python" -c 'import pkg_resources, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models' >&2
    echo "$light_key" > "$venv/.complete"
}
if [ -f "$venv/.built" ]; then
    log "updating the packages of $venv (requirements changed)"
    sync_light
    echo "$venv"
    exit 0
fi
log "creating $venv (the mmcv build takes about 12 minutes on 2 cores)"
rm -rf "$venv"
"$py" -m venv "$venv"
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

touch "$venv/.built"
sync_light
log "ready"
echo "$venv"
