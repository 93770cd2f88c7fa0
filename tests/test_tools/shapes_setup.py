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


def save_untrained(config: Path, path: Path, options: dict = None) -> Path:
    """The model of an mmseg ``config`` (with ``options`` merged), untrained,
    saved as a checkpoint at ``path``: a teacher for tests that need one."""
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(options or {})
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def make_shapes_and_teacher(tmp: Path):
    data = generate_shapes(
        str(tmp / 'shapes'), num_train=8, num_val=4, size=64)
    return data, save_untrained(TEACHER, tmp / 'teacher.pth')


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
