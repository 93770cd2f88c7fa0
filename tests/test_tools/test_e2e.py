"""The tools as a user runs them, on real CamVid data: train a teacher for
two iterations, distil with CWD, evaluate with tools/test.py, export the
student and evaluate the export with MMSegmentation's own test tool."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import CAMVID, ROOT, requires_camvid

CFG = ROOT / 'configs' / 'cwd'
TEACHER = CFG / 'pspnet_r18-d8_1xb4-1k_camvid-240x180.py'
DISTILL = CFG / 'cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'
SMALL = [
    f'data_root={CAMVID}',
    f'train_dataloader.dataset.data_root={CAMVID}',
    f'val_dataloader.dataset.data_root={CAMVID}',
    f'test_dataloader.dataset.data_root={CAMVID}',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False', 'train_cfg.val_interval=1000',
    'default_hooks.logger.interval=1', 'test_dataloader.dataset.indices=24'
]


def run(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def miou(log: str) -> float:
    return float(re.findall(r'mIoU: ([0-9.]+)', log)[-1])


@requires_camvid
def test_train_test_export_on_camvid(tmp_path):
    teacher_dir, kd_dir = tmp_path / 'teacher', tmp_path / 'cwd'
    run('tools/train.py', TEACHER, '--work-dir', teacher_dir, '--cfg-options',
        *SMALL, 'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2')
    log = run('tools/train.py', DISTILL, '--work-dir', kd_dir,
              '--cfg-options', *SMALL, 'train_cfg.max_iters=3',
              'default_hooks.checkpoint.interval=3',
              f'model.teacher.checkpoint={teacher_dir / "iter_2.pth"}')
    assert 'teacher checkpoint loaded' in log
    assert re.search(r'distill\.loss_cwd: [0-9.]+', log), log[-2000:]
    assert re.search(r'decode\.loss_ce: [0-9.]+', log)

    ckpt = kd_dir / 'iter_3.pth'
    state = torch.load(ckpt)['state_dict']
    assert not any(k.startswith('teacher') for k in state)
    kd_miou = miou(run('tools/test.py', DISTILL, ckpt, '--work-dir',
                       tmp_path / 'test', '--cfg-options', *SMALL))

    out = tmp_path / 'student.pth'
    run('tools/export_student.py', ckpt, out, '--config', DISTILL)
    exported = torch.load(out)
    assert exported['meta']['dataset_meta']['classes'][0] == 'Sky'
    assert set(exported['state_dict']) == {
        k[len('student.'):] for k in state if k.startswith('student.')}

    import mmseg
    mmseg_test = Path(mmseg.__file__).parent / '.mim' / 'tools' / 'test.py'
    assert mmseg_test.is_file(), mmseg_test
    plain_miou = miou(run(mmseg_test, tmp_path / 'student.py', out,
                          '--work-dir', tmp_path / 'plain',
                          '--cfg-options', *SMALL))
    assert plain_miou == kd_miou
