"""Every shipped config builds and trains one iteration on the CPU, with
the real models and small inputs (teacher checkpoints are not loaded)."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401  (lets configs name mmkd::)
from tests.utils import make_batch

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)
# DETRs select 900 queries from the encoder tokens: 256x256 has enough.
SIZES = dict(mmseg=dict(size=(64, 128)), mmdet=dict(size=(256, 256)))


def build_for_test(path: Path):
    cfg = Config.fromfile(str(path))
    scope = cfg.get('default_scope')
    distiller = cfg.model.get('type') in ('mmkd.Distiller', 'Distiller')
    if distiller:
        cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    # As the runner does (DETRs' level_embed is uninitialised memory before),
    # but without downloads: pretrained backbones start from scratch.
    for module in model.modules():
        if 'Pretrained' in str(getattr(module, 'init_cfg', None)):
            module.init_cfg = None
    model.init_weights()
    model = revert_sync_batchnorm(model).train()
    # Padding to the full crop (e.g. 512x1024) is what makes a step slow.
    if getattr(model.data_preprocessor, 'size', None) is not None:
        model.data_preprocessor.size = SIZES[scope]['size']
    return model, scope, distiller


def test_configs_are_found():
    names = {p.relative_to(ROOT / 'configs').as_posix() for p in CONFIGS}
    assert {
        'cwd/cwd_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes-512x1024.py',
        'cwd/cwd_retinanet-r101-fpn_retinanet-r50-fpn_1x_coco.py',
        'cwd/cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py',
    } <= names


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[p.relative_to(ROOT / 'configs').as_posix()
                          for p in CONFIGS])
def test_one_training_iteration(path):
    torch.manual_seed(0)
    model, scope, distiller = build_for_test(path)
    batch = make_batch(scope, **SIZES[scope])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-5))
    log = model.train_step(batch, optim)
    assert all(math.isfinite(float(v.detach())) for v in log.values()), log
    if distiller:
        assert any(k.startswith('distill.') for k in log), log


def test_user_config_inherits_mmkd_config(tmp_path):
    user = tmp_path / 'my_cwd.py'
    user.write_text(
        "_base_ = ['mmkd::cwd/cwd_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_"
        "cityscapes-512x1024.py']\n"
        'model = dict(losses=dict(loss_cwd=dict(tau=4.0)))\n')
    cfg = Config.fromfile(str(user))
    assert cfg.model.type == 'mmkd.Distiller'
    assert cfg.model.losses.loss_cwd.tau == 4.0
    assert cfg.model.losses.loss_cwd.loss_weight == 5.0
    assert cfg.train_cfg.max_iters == 80000
