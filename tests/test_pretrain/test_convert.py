"""``tools/convert/mae_to_mmpretrain.py``: official MAE / G2SD checkpoints
(key names of the official ``models_mae.py``, re-stated in
``official_mae.py``) to MMPretrain's names and back."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.registry import DefaultScope

from mmkd.pretrain.convert import mae_to_mmpretrain, mmpretrain_to_mae
from mmkd.registry import MODELS
from tests.conftest import ROOT
from tests.utils import load_tool
from .official_mae import MaskedAutoencoderViT

TOOL = ROOT / 'tools' / 'convert' / 'mae_to_mmpretrain.py'
SIZES = dict(
    img_size=32,
    patch_size=8,
    embed_dim=32,
    depth=2,
    num_heads=2,
    decoder_embed_dim=16,
    decoder_depth=3,
    decoder_num_heads=2)


def random_state(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        k: torch.randn(v.shape, generator=g)
        for k, v in module.state_dict().items()
    }


def mmpretrain_mae():
    """MMPretrain's own MAE algorithm at the test sizes."""
    cfg = dict(
        type='MAE',
        backbone=dict(
            type='MAEViT',
            arch=dict(
                embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=128),
            img_size=32,
            patch_size=8),
        neck=dict(
            type='MAEPretrainDecoder',
            num_patches=16,
            patch_size=8,
            embed_dim=32,
            decoder_embed_dim=16,
            decoder_depth=3,
            decoder_num_heads=2),
        head=dict(
            type='MAEPretrainHead',
            norm_pix=True,
            patch_size=8,
            loss=dict(type='PixelReconstructionLoss', criterion='L2')))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def test_official_mae_round_trip_through_mmpretrains_mae():
    official = random_state(MaskedAutoencoderViT(teacher=True, **SIZES))
    assert {
        'blocks.1.mlp.fc2.weight', 'decoder_blocks.2.norm1.bias',
        'patch_embed.proj.weight', 'norm.weight', 'decoder_norm.weight',
        'decoder_pred.bias', 'mask_token'
    } <= set(official)
    converted, dropped = mae_to_mmpretrain(official)
    assert not dropped and len(converted) == len(official)
    model = mmpretrain_mae()
    model.load_state_dict(converted, strict=True)  # every key, every shape
    back, _ = mmpretrain_to_mae(model.state_dict())
    assert back.keys() == official.keys()
    for key, value in official.items():
        assert torch.equal(back[key], value), key


def test_g2sd_student_checkpoint_to_the_mmkd_student():
    official = random_state(
        MaskedAutoencoderViT(
            encoder_pred_channel=48, decoder_pred_channel=24, **SIZES))
    converted, dropped = mae_to_mmpretrain(official)
    assert sorted(dropped) == sorted(
        k for k in official if k.startswith('encoderfeature_pred.'))
    assert torch.equal(converted['neck.feature_pred.fc2.weight'],
                       official['decoderfeature_pred.fc2.weight'])
    neck = MODELS.build(
        dict(
            type='mmkd.G2SDFeatDecoder',
            num_patches=16,
            embed_dim=32,
            decoder_embed_dim=16,
            decoder_depth=3,
            decoder_num_heads=2,
            target_dim=24))
    neck_state = {
        k[5:]: v
        for k, v in converted.items() if k.startswith('neck.')
        and 'decoder_pred' not in k and not k.startswith('neck.ln1')
    }
    neck.load_state_dict(neck_state, strict=True)


def test_keys_outside_the_layout_are_refused():
    with pytest.raises(
            KeyError,
            match=r"1 keys are not in the official MAE "
            r"layout: \['head.weight'\]"):
        mae_to_mmpretrain({'head.weight': torch.zeros(1), 'norm.bias': 0})
    with pytest.raises(KeyError, match='MMPretrain MAE'):
        mmpretrain_to_mae({'backbone.layers.0.gamma_1': torch.zeros(1)})


def run_tool(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)


def test_tool_round_trip_and_encoder_only_refusal(tmp_path, capsys):
    # The command line once (the conversion as a user runs it); the reverse
    # and the refusal call the same tool in process.
    official = random_state(MaskedAutoencoderViT(teacher=True, **SIZES))
    torch.save(dict(model=official, epoch=1599), tmp_path / 'mae_full.pth')
    proc = run_tool(tmp_path / 'mae_full.pth', tmp_path / 'mmpretrain.pth')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f'{len(official)} tensors written' in proc.stdout
    saved = torch.load(tmp_path / 'mmpretrain.pth')
    mmpretrain_mae().load_state_dict(saved['state_dict'], strict=True)
    tool = load_tool('tools/convert/mae_to_mmpretrain.py')
    tool.convert(
        tmp_path / 'mmpretrain.pth', tmp_path / 'back.pth', reverse=True)
    back = torch.load(tmp_path / 'back.pth')['model']
    assert back.keys() == official.keys()
    assert all(torch.equal(back[k], v) for k, v in official.items())

    encoder = {
        k: v
        for k, v in official.items() if not k.startswith(('decoder', 'mask'))
    }
    torch.save(dict(model=encoder), tmp_path / 'mae_pretrain.pth')
    with pytest.raises(ValueError, match='has no MAE decoder'):
        tool.convert(tmp_path / 'mae_pretrain.pth', tmp_path / 'enc.pth')
    assert not (tmp_path / 'enc.pth').exists()
