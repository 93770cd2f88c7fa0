"""Two processes with gloo on the CPU: a distillation config trains without
find_unused_parameters, and both ranks end with the same student."""
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


def test_two_process_gloo_training(tmp_path):
    log = train_two_processes(tmp_path)
    assert 'distill.loss_cwd' in log and 'Iter(train) [2/2]' in log, log
    rank0 = torch.load(tmp_path / 'rank0.pth')
    rank1 = torch.load(tmp_path / 'rank1.pth')
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
