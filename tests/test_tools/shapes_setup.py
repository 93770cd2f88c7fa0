"""A tiny generated dataset and a teacher checkpoint for runner tests."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmkd.datasets import generate_shapes

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'demo'
TEACHER = DEMO / 'unet-s5-c16_1xb16-600i_shapes-64x64.py'
STUDENT = DEMO / 'unet-s5-c8_1xb16-300i_shapes-64x64.py'
DISTILL = DEMO / 'cwd_unet-s5-c16_unet-s5-c8_1xb16-300i_shapes-64x64.py'


def make_shapes_and_teacher(tmp: Path):
    data = generate_shapes(
        str(tmp / 'shapes'), num_train=8, num_val=4, size=64)
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(Config.fromfile(str(TEACHER)).model)
    ckpt = tmp / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), ckpt)
    return data, ckpt


def small_options(data, ckpt, work_dir, iters):
    return {
        'work_dir': str(work_dir),
        'train_dataloader.dataset.data_root': data,
        'val_dataloader.dataset.data_root': data,
        'test_dataloader.dataset.data_root': data,
        'train_dataloader.batch_size': 2,
        'model.teacher.checkpoint': str(ckpt),
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': 1000,
        'default_hooks.checkpoint.interval': 1,
        'default_hooks.logger.interval': 1,
        'randomness.seed': 0,
    }
