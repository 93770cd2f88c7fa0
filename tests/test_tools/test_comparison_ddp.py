"""A comparison run under DDP: each arm in its own DistributedDataParallel
(``mmkd.ComparisonDistributedDataParallel``), checked in one gloo process
and with two processes against the same run in one process."""
import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import (MMDistributedDataParallel,
                            MMSeparateDistributedDataParallel)
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner
from torch.nn.parallel import DistributedDataParallel

from mmkd.datasets import generate_shapes
from mmkd.distillers import (ComparisonDistributedDataParallel,
                             ComparisonOptimWrapperConstructor, Distiller)
from tests.test_distillers.test_comparison import (CWD, OPTIM, comparison,
                                                   teacher_checkpoint)
from tests.test_tools.shapes_setup import ROOT, save_untrained
from tests.test_tools.test_ddp import free_port
from tests.utils import seg_batch

# ACAM-KD: trainable masks and attention, which must all get gradients in
# every step under DDP (no find_unused_parameters)
ACAM = dict(
    type='mmkd.ACAMKDLoss',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    student_channels=4,
    teacher_channels=4,
    num_masks=4)


@pytest.fixture
def one_process_group():
    """A gloo process group of this process alone: DDP's code paths (the
    reducer, its unused-parameter check) without a second process."""
    if dist.is_initialized():
        pytest.skip('a process group is already running in this process')
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{free_port()}',
        rank=0,
        world_size=1)
    yield
    dist.destroy_process_group()


def test_each_trainable_arm_gets_its_own_ddp(tmp_path, one_process_group):
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD)),
        acam=dict(losses=dict(loss_acam=ACAM)))
    keys = set(model.state_dict())
    wrapped = ComparisonDistributedDataParallel(model, device_ids=None)
    assert set(model.ddp_arms) == {'plain', 'cwd', 'acam'}
    for name, ddp in model.ddp_arms.items():
        assert isinstance(ddp, DistributedDataParallel)
        assert ddp.module is model.arms[name]
    # the arms, the checkpoint keys and the optimizers' parameter names are
    # those of a single process: the DDPs are outside the module tree
    assert isinstance(model.arms['cwd'], Distiller)
    assert set(model.state_dict()) == keys
    # the hidden teacher is in no DDP; ACAM-KD's trainable parts are in its
    # arm's
    teacher = {id(p) for p in model.teachers['teacher'].model.parameters()}
    for ddp in model.ddp_arms.values():
        assert not teacher & {id(p) for p in ddp.parameters()}
    assert any('loss_acam' in n
               for n, _ in model.ddp_arms['acam'].named_parameters())

    optim = ComparisonOptimWrapperConstructor(OPTIM)(wrapped)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    # DDP refuses a second step if a parameter got no gradient in the first
    for seed in range(2):
        log = wrapped.train_step(seg_batch(seed=seed), optim)
    assert {key.split('/')[0] for key in log} == {'plain', 'cwd', 'acam'}
    moved = {
        n.split('.')[1]
        for n, p in model.named_parameters() if not torch.equal(p, start[n])
    }
    assert moved == {'plain', 'cwd', 'acam'}
    with wrapped.no_sync():  # gradient accumulation: no all-reduce
        assert not any(d.require_backward_grad_sync
                       for d in model.ddp_arms.values())
    # a deep copy (EMAHook's averaged model) shares the teacher, not the DDPs
    copied = copy.deepcopy(model)
    assert copied.ddp_arms == {}
    assert copied.teachers['teacher'].model is model.teachers['teacher'].model


def test_an_arm_without_trainable_parameters_is_left_bare(
        tmp_path, one_process_group):
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD)))
    model.student_of('plain').requires_grad_(False)
    ComparisonDistributedDataParallel(model, device_ids=None)
    assert set(model.ddp_arms) == {'cwd'}


def test_other_wrappers_name_the_setting(tmp_path, one_process_group):
    ckpt = teacher_checkpoint(tmp_path)
    arms = dict(plain=dict(), cwd=dict(losses=dict(loss_cwd=CWD)))
    setting = 'mmkd.ComparisonDistributedDataParallel'
    default = MMDistributedDataParallel(
        module=comparison(ckpt, **arms), device_ids=None)
    with pytest.raises(TypeError, match=setting):
        ComparisonOptimWrapperConstructor(OPTIM)(default)
    with pytest.raises(RuntimeError, match=setting):
        default.module(
            **default.module.data_preprocessor(seg_batch()), mode='loss')
    separate = MMSeparateDistributedDataParallel(
        comparison(ckpt, **arms), device_ids=None)
    with pytest.raises(TypeError, match=setting):
        ComparisonOptimWrapperConstructor(OPTIM)(separate)
    with pytest.raises(TypeError, match='wraps a mmkd.DistillComparison'):
        ComparisonDistributedDataParallel(nn.Linear(2, 2))


# The shipped comparison (plain, CWD, BPKD with its clipping arm), with BN
# for SyncBN (SyncBN needs CUDA), no dropout (the one-process run would draw
# other masks), tiny generated images, and a fourth arm with trainable loss
# parts (ACAM-KD on the logits, as the shipped ACAM comparison has it).
SHIPPED = ('configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_'
           'plain-cwd-bpkd_1xb4-12k_camvid-120x90.py')


def small_variant(tmp: Path) -> Path:
    data = generate_shapes(
        str(tmp / 'shapes'), num_train=8, num_val=2, size=32)
    cfg = Config.fromfile(str(ROOT / SHIPPED))
    bn = dict(type='BN', requires_grad=True)
    head = dict(norm_cfg=bn, dropout_ratio=0.0)
    cfg.model.student.model = dict(
        backbone=dict(norm_cfg=bn),
        decode_head=head,
        auxiliary_head=head,
        data_preprocessor=dict(size=(32, 32)))
    cfg.model.teacher.checkpoint = str(
        save_untrained(
            ROOT / 'configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-'
            '120x90.py', tmp / 'teacher.pth'))
    cfg.model.arms.acam = dict(
        losses=dict(
            loss_acam=dict(
                ACAM, student_channels=11, teacher_channels=11, num_masks=11)))
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type='InfiniteSampler', shuffle=False),
        dataset=dict(
            type='mmkd.ShapesDataset',
            data_root=data,
            split='train',
            pipeline=pipeline))
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.param_scheduler = None  # a constant rate: iterations differ below
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1000, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.randomness = dict(seed=0)
    # both runs start from the same weights (this process initialises them)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), tmp / 'init.pth')
    cfg.load_from = str(tmp / 'init.pth')
    cfg.dump(str(tmp / 'variant.py'))
    return tmp / 'variant.py'


def test_two_processes_train_the_arms_as_one_process(tmp_path):
    """Two gloo processes of 2 images each, 2 steps; against one process
    that takes each step's 4 images as the two ranks' halves with gradient
    accumulation, which is what DDP computes (the mean of the two halves'
    gradients): one forward of all 4 would differ by BN's batch statistics
    and by BPKD's per-batch normalisation, not by DDP."""
    config = small_variant(tmp_path)
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}',
        str(ROOT / 'tests' / 'test_tools' / 'comparison_ddp_worker.py'),
        str(config), '--launcher', 'pytorch', '--work-dir',
        str(tmp_path / 'ddp')
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Iter(train) [2/2]' in log, log[-4000:]
    rank0 = torch.load(tmp_path / 'rank0.pth')
    rank1 = torch.load(tmp_path / 'rank1.pth')
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key

    # rank r takes images r, r + 2, r + 4, ... (InfiniteSampler, 2 ranks):
    # step 1 is [0, 2] and [1, 3], step 2 [4, 6] and [5, 7]
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(tmp_path / 'one')
    cfg.train_dataloader.dataset.indices = [0, 2, 1, 3, 4, 6, 5, 7]
    cfg.train_cfg.max_iters = 4
    cfg.optim_wrapper.accumulative_counts = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    one = {
        f'{name}.{key}': param.detach()
        for name, arm in runner.model.arms.items()
        for key, param in arm.named_parameters() if param.requires_grad
    }
    assert one.keys() == rank0.keys()
    assert {key.split('.')[0]
            for key in one} == {'student', 'cwd', 'bpkd', 'acam'}
    assert any('loss_acam' in key for key in one)
    start = torch.load(tmp_path / 'init.pth')['state_dict']
    for key, value in one.items():
        assert torch.allclose(rank0[key], value, rtol=1e-4, atol=1e-6), key
    moved = [k for k in one if not torch.equal(one[k], start[f'arms.{k}'])]
    assert len(moved) > len(one) // 2  # the arms trained


def test_every_shipped_comparison_trains_under_ddp():
    """A comparison config lists configs/_base_/comparison_ddp.py (or sets
    the same wrapper), so tools/dist_train.sh trains it."""
    found = 0
    for path in sorted((ROOT / 'configs' / 'comparison').glob('*.py')):
        cfg = Config.fromfile(str(path))
        if cfg.model.get('type') != 'mmkd.DistillComparison':
            continue
        found += 1
        wrapper = cfg.get('model_wrapper_cfg') or {}
        assert wrapper.get('type') == \
            'mmkd.ComparisonDistributedDataParallel', path.name
    assert found
