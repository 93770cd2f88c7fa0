"""DistillHealthHook's figures under DDP (2 gloo processes, each half of
the batch) equal those of one process on the whole batch."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers import Distiller
from tests.test_tools.test_ddp import free_port
from tests.utils import tiny_pspnet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
WORKER = os.path.join(ROOT, 'tests', 'test_tools', 'ddp_health_worker.py')


def test_health_figures_under_ddp_equal_one_process(tmp_path):
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(tiny_pspnet(width=16))
    torch.save(
        dict(state_dict=teacher.state_dict(), meta={}), tmp_path / 't.pth')
    model = Distiller(
        student=dict(model=tiny_pspnet(width=8)),
        teacher=dict(
            model=tiny_pspnet(width=16), checkpoint=str(tmp_path / 't.pth')),
        losses=dict(
            loss_cwd=dict(
                type='mmkd.ChannelWiseDivergence',
                student='decode_head.conv_seg',
                teacher='decode_head.conv_seg'),
            loss_bpkd=dict(
                type='mmkd.BPKDLoss',
                student='decode_head.conv_seg',
                teacher='decode_head.conv_seg',
                kernel_size=3,
                edge_norm='per_class_count')))  # as the worker's
    model.init_weights()
    torch.save(model.state_dict(), tmp_path / 's.pth')
    (tmp_path / 'one').mkdir()
    for name in ('t.pth', 's.pth'):
        os.link(tmp_path / name, tmp_path / 'one' / name)
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    for cmd in ([sys.executable, WORKER,
                 str(tmp_path / 'one')], [
                     sys.executable, '-m', 'torch.distributed.run',
                     '--nproc_per_node=2', f'--master_port={free_port()}',
                     WORKER,
                     str(tmp_path)
                 ]):
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    one = torch.load(tmp_path / 'one' / 'health_rank0.pth')
    ranks = [torch.load(tmp_path / f'health_rank{r}.pth') for r in (0, 1)]
    assert set(one) == {
        'distill.loss_cwd', 'distill.loss_bpkd_edge', 'distill.loss_bpkd_body'
    }
    for key, row in one.items():
        for rank in ranks:  # every rank holds the whole batch's figures
            for stat in ('grad_norm', 'task_grad_norm', 'ratio', 'cos'):
                assert rank[key][stat] == pytest.approx(
                    row[stat], rel=1e-4), (key, stat)
