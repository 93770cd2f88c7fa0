"""mmkd.MultiLevelLoss: one loss per level, summed (ACAM-KD's A8 head
distillation is this wrapper around mmdet's L1Loss)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401
from mmkd.losses import MultiLevelLoss
from tests.utils import make_batch

ROOT = Path(__file__).resolve().parents[2]


def test_sums_the_levels_by_hand():
    s = [torch.zeros(1, 1, 1, 2), torch.ones(1, 1, 2, 2)]
    t = [torch.ones(1, 1, 1, 2), torch.full((1, 1, 2, 2), 3.0)]
    l1 = dict(type='mmdet.L1Loss', loss_weight=1.0)
    assert MultiLevelLoss(l1)(s, t).item() == pytest.approx(1 + 2)
    half = dict(type='mmdet.L1Loss', loss_weight=0.5)
    assert MultiLevelLoss(half)(s, t).item() == pytest.approx(1.5)
    assert MultiLevelLoss(l1, levels=[1])(s, t).item() == pytest.approx(2)
    assert MultiLevelLoss(l1)(s[0], t[0]).item() == pytest.approx(1)
    with pytest.raises(ValueError, match='2 levels but the teacher 1'):
        MultiLevelLoss(l1)(s, t[:1])
    with pytest.raises(ValueError, match=r'level 0: student \(1, 1, 1, 2\)'):
        MultiLevelLoss(l1)([s[0]], [t[1]])


def test_retinanet_head_distillation_in_a_distiller():
    cfg = Config.fromfile(
        str(ROOT / 'configs/acam/cwd_retinanet-r50_retinanet-r18_1xb4-12e_'
            'bccd.py'))
    cfg.model.load_teacher_checkpoint = False
    cfg.model.losses = dict(
        loss_head=dict(
            type='mmkd.MultiLevelLoss',
            loss=dict(type='mmdet.L1Loss', loss_weight=1.0),
            student='bbox_head.retina_reg',
            teacher='bbox_head.retina_reg'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.data_preprocessor.pad_size_divisor = 32
    batch = make_batch('mmdet', size=(128, 128))
    data = model.data_preprocessor(batch, True)
    seen = dict(student=[], teacher=[])
    for side, net in (('student', model.student), ('teacher', model.teacher)):
        net.bbox_head.retina_reg.register_forward_hook(
            lambda m, i, o, side=side: seen[side].append(o.detach()))
    losses = model.loss(data['inputs'], data['data_samples'])
    # retina_reg runs once per FPN level: the sum of 5 mean |s - t|
    assert len(seen['student']) == len(seen['teacher']) == 5
    want = sum(
        (s - t).abs().mean() for s, t in zip(seen['student'], seen['teacher']))
    value = losses['distill.loss_head']
    assert value.item() == pytest.approx(want.item(), rel=1e-6)
    value.backward()
    grad = model.student.bbox_head.retina_reg.weight.grad
    assert grad is not None and grad.abs().sum() > 0
