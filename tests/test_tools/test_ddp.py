"""Two processes with gloo on the CPU: a distillation config with CWD,
ACAM-KD and ProC-KD trains without find_unused_parameters, and both ranks
end with the same student and the same trainable loss parts."""
import os
import socket
import subprocess
import sys

import torch

from tests.test_tools.shapes_setup import (DISTILL, ROOT,
                                           make_shapes_and_teacher,
                                           small_options)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_two_processes(tmp_path, extra=None) -> str:
    """Train the shapes distillation config for 2 iterations on 2 gloo
    processes (``ddp_worker.py``, which saves each rank's weights); the
    log. ``extra``: more ``--cfg-options``."""
    data, ckpt = make_shapes_and_teacher(tmp_path)
    options = small_options(data, ckpt, tmp_path / 'run', 2)
    options.pop('work_dir')
    options.update(extra or {})
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}',
        str(ROOT / 'tests' / 'test_tools' / 'ddp_worker.py'),
        str(DISTILL), '--launcher', 'pytorch', '--work-dir',
        str(tmp_path / 'run'), '--cfg-options',
        *[f'{k}={v}' for k, v in options.items()]
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


# Losses with trainable parts that must all be in the graph each step
# without find_unused_parameters. ACAM-KD: the A6/A7 switches that leave
# m_c out of every term but the zero path.
ACAM = {
    'model.losses.loss_acam.type': 'mmkd.ACAMKDLoss',
    'model.losses.loss_acam.student': 'decode_head.conv_seg',
    'model.losses.loss_acam.teacher': 'decode_head.conv_seg',
    'model.losses.loss_acam.student_channels': 4,
    'model.losses.loss_acam.teacher_channels': 4,
    'model.losses.loss_acam.num_masks': 4,
    'model.losses.loss_acam.detach_masks_in_loss': True,
    'model.losses.loss_acam.dice_on': 'spatial',
}
# ProC-KD: the student's head runs twice in a step (its own loss and the
# teacher path); PLM, TAFA and the bank.
PROCKD = {
    'model.losses.loss_prockd.type': 'mmkd.ProCKDLoss',
    'model.losses.loss_prockd.student': 'backbone',
    'model.losses.loss_prockd.teacher': 'backbone',
    'model.losses.loss_prockd.student_level': 4,  # the FCN head's in_index
    'model.losses.loss_prockd.student_channels': 8,
    'model.losses.loss_prockd.teacher_layers': '[2,3]',
    'model.losses.loss_prockd.teacher_channels': '[64,32]',
    'model.losses.loss_prockd.num_prototypes': 8,
    'model.losses.loss_prockd.logits_module': 'decode_head.conv_seg',
}


def test_two_process_gloo_training(tmp_path):
    """One 2-process run distils with CWD, ACAM-KD and ProC-KD at once."""
    log = train_two_processes(tmp_path, {**ACAM, **PROCKD})
    assert 'Iter(train) [2/2]' in log, log[-4000:]
    for key in ('distill.loss_cwd', 'distill.loss_acam_distill',
                'distill.loss_acam_l0_mask_s_mean',
                'distill.loss_prockd_aug_ce'):
        assert key in log, (key, log[-4000:])
    rank0 = torch.load(tmp_path / 'rank0.pth')
    rank1 = torch.load(tmp_path / 'rank1.pth')
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    parts0 = torch.load(tmp_path / 'rank0_losses.pth')
    parts1 = torch.load(tmp_path / 'rank1_losses.pth')
    assert any('m_s' in k for k in parts0), sorted(parts0)
    assert any('tafa.prototypes' in k for k in parts0), sorted(parts0)
    for key in parts0:
        assert torch.equal(parts0[key], parts1[key]), key
