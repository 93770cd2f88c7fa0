"""A built wheel carries mmkd's configs: after installing it, a user's
config inherits ``mmkd::`` configs from outside the source tree."""
import os
import subprocess
import sys

from tests.conftest import ROOT

USER_CONFIG = ("_base_ = ['mmkd::cwd/cwd_pspnet-r101-d8_pspnet-r18-d8_"
               "4xb2-80k_cityscapes-512x1024.py']\n")
CHECK = """
import mmkd
from mmengine.config import Config
assert mmkd.__file__.startswith({target!r}), mmkd.__file__
cfg = Config.fromfile('user.py')
print(cfg.model.type, cfg.model.losses.loss_cwd.loss_weight)
"""


def test_wheel_ships_configs(tmp_path):
    wheels, target = tmp_path / 'wheels', tmp_path / 'site'
    pip = [sys.executable, '-m', 'pip']
    subprocess.run(
        pip + [
            'wheel',
            str(ROOT), '--no-deps', '--no-build-isolation', '-q', '-w',
            str(wheels)
        ],
        check=True,
        cwd=tmp_path)
    wheel = next(wheels.glob('mmkd-*.whl'))
    subprocess.run(
        pip +
        ['install', '--no-deps', '-q', '--target',
         str(target),
         str(wheel)],
        check=True)
    (tmp_path / 'user.py').write_text(USER_CONFIG)
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run(
        [sys.executable, '-c',
         CHECK.format(target=str(target))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'mmkd.Distiller 5.0' in out.stdout
