"""ViT layer-wise learning-rate decay wherever the backbone sits."""
import doctest

import pytest
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

import mmkd.optim.layer_decay
from mmkd.optim import vit_layer_depth


class TinyViT(nn.Module):

    def __init__(self, blocks=3):
        super().__init__()
        self.patch_embed = nn.Linear(2, 2)
        self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(blocks))
        self.ln1 = nn.LayerNorm(2)


class Wrapped(nn.Module):
    """A Distiller-like layout: the backbone under ``student.``."""

    def __init__(self):
        super().__init__()
        self.student = nn.Module()
        self.student.backbone = TinyViT()
        self.student.head = nn.Linear(2, 2)


def lrs(model, rate=0.5, **paramwise):
    optim = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1),
            constructor='mmkd.ViTLayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(
                layer_decay_rate=rate, num_layers=3, **paramwise)))
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g for g in optim.optimizer.param_groups}


def test_depth_rule_and_scales_under_a_distiller_prefix():
    groups = lrs(Wrapped(), flat_decay_mult=0.0)
    expected = {
        'student.backbone.patch_embed.weight': 0.5**4,
        'student.backbone.layers.0.weight': 0.5**3,
        'student.backbone.layers.2.bias': 0.5**1,
        'student.backbone.ln1.weight': 1.0,
        'student.head.weight': 1.0,
    }
    for name, lr in expected.items():
        assert groups[name]['lr'] == pytest.approx(lr), name
    assert groups['student.backbone.layers.2.bias']['weight_decay'] == 0
    assert groups['student.head.weight']['weight_decay'] == 0.1


def test_lr_multipliers_compose_with_the_decay():
    model = nn.Module()
    model.backbone = TinyViT()
    groups = lrs(model, custom_keys={'.ln1': dict(lr_mult=0.1)})
    assert groups['backbone.ln1.weight']['lr'] == pytest.approx(0.1)
    assert groups['backbone.layers.1.weight']['lr'] == pytest.approx(0.25)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="no parameter under 'backbone.'"):
        lrs(nn.Linear(2, 2))
    with pytest.raises(KeyError, match='num_layers'):
        build_optim_wrapper(
            nn.Linear(2, 2),
            dict(
                optimizer=dict(type='AdamW', lr=1.0),
                constructor='mmkd.ViTLayerDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.5)))


def test_depths_and_docstring():
    assert vit_layer_depth('backbone.blocks.4.mlp.fc1.weight', 12,
                           'backbone.') == 5
    assert vit_layer_depth('backbone.mask_token', 12, 'backbone.') == 0
    assert doctest.testmod(mmkd.optim.layer_decay).failed == 0
