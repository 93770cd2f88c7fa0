"""Every shipped config builds and trains one iteration on the CPU, with
the real models and small inputs (teacher checkpoints are not loaded)."""
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401  (lets configs name mmkd::)
from mmkd.distillers import (ComparisonOptimWrapperConstructor,
                             DistillComparison, Distiller, model_config)
from mmkd.distillers.builder import load_model_config
from mmkd.hooks.distill_health import distillers_of
from mmkd.utils import student_only
from tests.utils import make_batch

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)
# DETRs select their queries (at most 100 here) from the encoder tokens:
# 128x128 gives 340 on four levels (strides 8-64). A step costs about half
# of one at 256x256.
# MAE ViTs (G2SD) mask a fixed number of 16x16 patches: 224x224.
SIZES = dict(
    mmseg=dict(size=(64, 128)),
    mmdet=dict(size=(128, 128)),
    mmpretrain=dict(size=(224, 224)))
#: Models that hold a teacher but are not Distillers (no student to run
#: alone): their teacher checkpoints are not loaded either.
TEACHER_MODELS = ('mmkd.G2SD', )

#: Backbones whose position table is fixed by ``img_size`` (no resizing in
#: the forward): built at the test size.
FIXED_SIZE_BACKBONES = ('MAE', 'BEiT', 'mmseg.MAE', 'mmseg.BEiT')


def fit_fixed_size_backbones(cfg, size) -> None:
    specs = [cfg.model.get('student'), cfg.model.get('teacher')]
    if not any(specs):
        specs = [dict(model=cfg.model)]
    for spec in filter(None, specs):
        model = spec.get('model') or {}
        backbone = model.get('backbone', {}).get('type')
        if backbone is None and spec.get('config'):
            backbone = load_model_config(spec['config']).model.backbone.type
        if backbone in FIXED_SIZE_BACKBONES:
            spec.setdefault('model', {}).setdefault('backbone', {})
            spec['model']['backbone']['img_size'] = size


def input_size(cfg, scope):
    """The test input size: the scope's, or a self-supervised MAE's own
    (its masking needs the exact patch count)."""
    img_size = cfg.model.get('backbone', {}).get('img_size')
    if scope == 'mmpretrain' and isinstance(img_size, int):
        return (img_size, img_size)
    return SIZES[scope]['size']


def build_for_test(path: Path):
    cfg = Config.fromfile(str(path))
    scope = cfg.get('default_scope')
    fit_fixed_size_backbones(cfg, SIZES.get(scope, {}).get('size'))
    if cfg.model.get('num_queries', 0) > 100:  # DETRs: like the input size
        cfg.model.num_queries = 100
    distiller = student_only(cfg)  # no teacher checkpoint download
    if cfg.model.type in TEACHER_MODELS:
        cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_config(cfg))  # as the runner builds it
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
    augments = getattr(model.data_preprocessor, 'batch_augments', None)
    if isinstance(augments, nn.ModuleList):  # so does a fixed-size pad
        kept = [a for a in augments if type(a).__name__ != 'BatchFixedSizePad']
        model.data_preprocessor.batch_augments = nn.ModuleList(kept) or None
    cap_proposals(model)
    return model, scope, distiller


def cap_proposals(model: nn.Module, num: int = 20) -> None:
    """Two-stage detectors keep at most ``num`` proposals per image.

    A teacher's first forward runs to the end (it learns how often each tap
    fires) and so does its RoI head on 1,000 proposals per image: with
    4-conv box heads that is most of a Mask R-CNN config's step. Like the
    input size, the proposal count is not what the test checks.
    """
    hidden = [t.model for t in getattr(model, 'teachers', {}).values()]
    for module in [
            *model.modules(), *(m for h in hidden for m in h.modules())
    ]:
        rpn_head = getattr(module, 'rpn_head', None)
        if rpn_head is None or not hasattr(module, 'roi_head'):
            continue
        configs = (rpn_head.test_cfg, (module.test_cfg or {}).get('rpn'),
                   (module.train_cfg or {}).get('rpn_proposal'))
        for proposals in filter(None, configs):
            proposals.nms_pre = min(proposals.get('nms_pre', num), num)
            proposals.max_per_img = min(proposals.get('max_per_img', num), num)


def test_configs_are_found():
    names = {p.relative_to(ROOT / 'configs').as_posix() for p in CONFIGS}
    assert {
        'cwd/cwd_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes-512x1024.py',
        'cwd/cwd_retinanet-r101-fpn_retinanet-r50-fpn_1x_coco.py',
        'cwd/cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py',
    } <= names


@pytest.mark.parametrize(
    'path',
    CONFIGS,
    ids=[p.relative_to(ROOT / 'configs').as_posix() for p in CONFIGS])
def test_one_training_iteration(path):
    torch.manual_seed(0)
    model, scope, distiller = build_for_test(path)
    extra = {}
    if any(name.endswith('mask_head') for name, _ in model.named_modules()):
        extra['with_mask'] = True  # Mask R-CNN needs instance masks
    cfg = Config.fromfile(str(path))
    batch = make_batch(scope, size=input_size(cfg, scope), **extra)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-5))
    if isinstance(model, DistillComparison):  # one optimizer per arm
        optim = ComparisonOptimWrapperConstructor(
            dict(
                type='OptimWrapper',
                optimizer=dict(type='SGD', lr=1e-5),
                arms=cfg.optim_wrapper.get('arms')))(
                    model)
    # the step measures every term's gradient, as DistillHealthHook asks
    distills = isinstance(model, (Distiller, DistillComparison))
    distillers = distillers_of(model) if distills else {}
    for arm in distillers.values():
        arm.health_check = 'taps'
    log = model.train_step(batch, optim)
    assert all(math.isfinite(float(v.detach())) for v in log.values()), log
    if distiller:
        assert any('distill.' in k for k in log), log
    if distills:
        hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
        assert 'mmkd.DistillHealthHook' in hooks, hooks
    for prefix, arm in distillers.items():
        terms = {
            key
            for keys in arm._distill_keys.values()
            for key, is_term in keys.items() if is_term
        }
        assert set(arm.health) == terms, (prefix, arm.health, terms)
        for row in arm.health.values():
            assert math.isfinite(row['grad_norm']), row


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


def test_camvid_data_root_hint_reaches_every_loader():
    # The base config tells users which --cfg-options move the data; apply
    # exactly those to a config that inherits it.
    base = ROOT / 'configs' / '_base_' / 'datasets' / 'camvid_240x180.py'
    hint = dict(
        re.findall(r'(\w+_dataloader\.dataset\.data_root)=(\S+)',
                   base.read_text()))
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    assert sorted(hint) == sorted(f'{k}.dataset.data_root' for k in loaders)
    cfg = Config.fromfile(
        str(ROOT / 'configs' / 'cwd' /
            'cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'))
    cfg.merge_from_dict(hint)
    for loader in loaders:
        assert cfg[loader].dataset.data_root == 'data/camvid', loader


def test_bpkd_configs_share_their_loss_block():
    base = Config.fromfile(
        str(ROOT / 'configs' / '_base_' / 'distill' / 'bpkd_conv-seg.py'))
    paths = sorted((ROOT / 'configs' / 'bpkd').glob('*.py'))
    assert paths
    for path in paths:
        assert 'mmkd.BPKDLoss' not in path.read_text(), path  # redeclared
        cfg = Config.fromfile(str(path))
        assert cfg.model.type == 'mmkd.Distiller'
        assert cfg.model.losses.to_dict() == base.model.losses.to_dict()
