"""A real mmengine Runner around a tiny Distiller on generated shapes."""
import copy
from pathlib import Path

import torch
from mmengine.hooks import Hook
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner

from mmkd.datasets import generate_shapes
from tests.utils import tiny_pspnet

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


class CaptureOutputs(Hook):
    """Keeps what ``train_step`` returned (the runner's log values)."""

    def __init__(self):
        self.outputs = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.outputs.append(outputs)


def save_teacher(path: Path, model_cfg: dict) -> str:
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(model_cfg)
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    return str(path)


def distill_runner(tmp: Path,
                   losses: dict,
                   iters: int = 1,
                   student: dict = None,
                   teacher: dict = None,
                   model_overrides: dict = None,
                   **cfg) -> Runner:
    """A Runner of a tiny PSPNet pair on 64x64 shapes, one image per step
    per sample, no validation; ``model_overrides``: more Distiller
    arguments."""
    data = tmp / 'shapes'
    if not data.is_dir():
        generate_shapes(str(data), num_train=4, num_val=2, size=64)
    teacher = teacher or dict(model=tiny_pspnet(width=32))
    if 'checkpoint' not in teacher:
        teacher = dict(
            teacher,
            checkpoint=save_teacher(tmp / 'teacher.pth', teacher['model']))
    config = dict(
        default_scope='mmseg',
        model=dict(
            type='mmkd.Distiller',
            student=student or dict(model=tiny_pspnet(width=16)),
            teacher=teacher,
            losses=copy.deepcopy(losses),
            **(model_overrides or {})),
        work_dir=str(tmp / 'work'),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=False),
            dataset=dict(
                type='mmkd.ShapesDataset',
                data_root=str(data),
                split='train',
                pipeline=PIPELINE)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        log_level='WARNING',
        randomness=dict(seed=0))
    config.update(cfg)
    return Runner.from_cfg(config)
