"""G2SD's specific stage: the distillation token's place (and MMPretrain's
position-embedding pitfall), the classification losses, the layer-decay
table, and the generic-stage checkpoint entering each specific config
through its one field (the student backbone's ``init_cfg.checkpoint``)."""
import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope

from mmkd.pretrain.convert import g2sd_backbone
from tests.utils import cls_batch, load_tool

ROOT = Path(__file__).resolve().parents[2]
G2SD = ROOT / 'configs' / 'g2sd'
GD = G2SD / 'g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_8xb512-amp-300e_in1k.py'
CLS = G2SD / 'g2sd-cls_vit-b-mae-ft_vit-s-dist_8xb128-amp-200e_in1k.py'
SEG = G2SD / ('g2sd-seg_upernet-mae-vit-b_upernet-mae-vit-s_8xb2-amp-160k_'
              'ade20k-512x512.py')
DET = G2SD / ('g2sd-det_mask-rcnn-vitdet-vit-b_mask-rcnn-vitdet-vit-s_8xb8-'
              'lsj-100e_coco.py')


def distilled_vit(**kwargs):
    cfg = dict(
        type='mmkd.G2SDDistilledViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32,
        patch_size=8)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


# --- the distillation token --------------------------------------------
def test_distillation_token_is_last_and_has_no_position_embedding():
    vit = distilled_vit()
    vit.init_weights()
    assert vit.pos_embed.shape == (1, 1 + 16, 32)
    seen = []
    vit.layers[0].register_forward_pre_hook(
        lambda m, args: seen.append(args[0].clone()))
    x = torch.randn(2, 3, 32, 32)
    (cls, dist), = vit(x)
    tokens = seen[0]
    assert tokens.shape == (2, 1 + 16 + 1, 32)  # cls, 16 patches, dist
    # the last token is the bare dist token: no position embedding added
    torch.testing.assert_close(tokens[:, -1], vit.dist_token[0].expand(2, -1))
    patches = vit.patch_embed(x)[0]
    torch.testing.assert_close(tokens[:, 1:-1], patches + vit.pos_embed[:, 1:])
    assert cls.shape == dist.shape == (2, 32)


def test_a_vit_table_loads_unchanged_where_mmpretrain_cannot():
    """The pitfall of MMPretrain's DistilledVisionTransformer (spec 7): its
    load hook reads a 197-entry table as 195 patches + 2 extra tokens, a
    13x13 grid to resize (MMPretrain 1.2.0 then stops on a shape check; the
    spec expected a silent resize)."""
    vit = distilled_vit(img_size=224, patch_size=16)
    table = torch.randn(1, 197, 32)
    vit.load_state_dict({'pos_embed': table.clone()}, strict=False)
    assert torch.equal(vit.pos_embed, table)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        deit = MODELS.build(
            dict(
                type='DistilledVisionTransformer',
                arch=dict(
                    embed_dims=32,
                    num_layers=2,
                    num_heads=2,
                    feedforward_channels=64),
                img_size=224,
                patch_size=16))
    assert deit.pos_embed.shape == (1, 198, 32)
    with pytest.raises(AssertionError, match=r'\(197\).*\(13\*13\+2\)'):
        deit.load_state_dict({'pos_embed': table.clone()}, strict=False)


def test_head_trains_the_class_head_and_predicts_the_mean():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = MODELS.build(
            dict(
                type='mmkd.G2SDDeiTClsHead',
                num_classes=5,
                in_channels=8,
                loss=dict(
                    type='LabelSmoothLoss',
                    label_smooth_val=0.1,
                    mode='original',
                    loss_weight=0.5)))
    torch.nn.init.normal_(head.layers.head.weight)
    torch.nn.init.normal_(head.layers.head_dist.weight)
    feats = ((torch.randn(3, 8), torch.randn(3, 8)), )
    batch = cls_batch(num_classes=5, size=(4, 4), batch=3)
    samples = batch['data_samples']
    dist_out = []
    head.layers.head_dist.register_forward_hook(
        lambda m, a, out: dist_out.append(out))
    losses = head.loss(feats, samples)
    assert list(losses) == ['loss_cls'] and len(dist_out) == 1
    cls_logits = head.layers.head(feats[0][0])
    labels = torch.cat([s.gt_label for s in samples])
    smoothed = F.one_hot(labels, 5) * 0.9 + 0.1 / 5
    expected = 0.5 * -(smoothed * cls_logits.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(losses['loss_cls'], expected)
    torch.testing.assert_close(
        head(feats), (cls_logits + head.layers.head_dist(feats[0][1])) / 2)


def test_hard_distillation_is_cross_entropy_to_the_teacher_argmax():
    loss = MODELS.build(dict(type='mmkd.DeiTHardDistillLoss', loss_weight=.5))
    student, teacher = torch.randn(4, 7), torch.randn(4, 7)
    torch.testing.assert_close(
        loss(student, teacher),
        0.5 * F.cross_entropy(student, teacher.argmax(1)))


# --- optimisers ---------------------------------------------------------
def _groups(config, model):
    cfg = Config.fromfile(str(config))
    wrapper = cfg.optim_wrapper.copy()
    wrapper.type = 'OptimWrapper'  # AMP needs a GPU; the groups are the same
    wrapper.pop('loss_scale', None)
    optim = build_optim_wrapper(model, wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    return cfg, {
        names[id(g['params'][0])]: g
        for g in optim.optimizer.param_groups  # one parameter per group
    }


def test_generic_stage_decays_all_but_one_dimensional_parameters():
    from tests.test_configs import build_for_test
    model, _, _ = build_for_test(GD)
    cfg, groups = _groups(GD, model)
    assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.95)
    assert cfg.auto_scale_lr.base_batch_size == 4096
    assert cfg.train_dataloader.batch_size * 8 == 4096
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(groups) == trainable  # the sin-cos tables are not optimised
    assert 'backbone.pos_embed' not in groups
    for name, group in groups.items():
        flat = group['params'][0].ndim == 1
        assert group['weight_decay'] == (0.0 if flat else 0.05), name
    assert groups['backbone.cls_token']['weight_decay'] == 0.05
    assert groups['neck.mask_token']['weight_decay'] == 0.05
    assert all(g['lr'] == 2.4e-3 for g in groups.values())


def test_generic_stage_schedule():
    """10 warm-up epochs from ~0, cosine to 2.5e-6 at epoch 300."""
    cfg = Config.fromfile(str(GD))
    warm, cosine = cfg.param_scheduler
    assert (warm.type, warm.begin, warm.end) == ('LinearLR', 0, 10)
    assert (cosine.type, cosine.begin, cosine.end, cosine.T_max,
            cosine.eta_min) == ('CosineAnnealingLR', 10, 300, 290, 2.5e-6)
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert 'clip_grad' not in cfg.optim_wrapper


def test_classification_layer_decay_table():
    """Spec 5.9: embeddings 0.75^13, block i 0.75^(12-i), the distillation
    token, final norm and heads 1.0; no decay on 1-D and token
    parameters."""
    from tests.test_configs import build_for_test
    model, _, _ = build_for_test(CLS)
    _, groups = _groups(CLS, model)
    lr = 4e-3
    rate = 0.75
    expected = {
        'student.backbone.cls_token': rate**13,
        'student.backbone.pos_embed': rate**13,
        'student.backbone.patch_embed.projection.weight': rate**13,
        'student.backbone.layers.0.attn.qkv.weight': rate**12,
        'student.backbone.layers.11.ffn.layers.1.weight': rate**1,
        'student.backbone.dist_token': 1.0,
        'student.backbone.ln1.weight': 1.0,
        'student.head.layers.head.weight': 1.0,
        'student.head.layers.head_dist.weight': 1.0,
    }
    for name, scale in expected.items():
        assert math.isclose(groups[name]['lr'], lr * scale), name
    for name in ('cls_token', 'pos_embed', 'dist_token', 'ln1.weight',
                 'layers.3.attn.qkv.bias'):
        assert groups[f'student.backbone.{name}']['weight_decay'] == 0
    assert groups['student.backbone.layers.3.attn.qkv.weight'][
        'weight_decay'] == 0.05
    assert not any(n.startswith('teacher') for n in groups)


def test_segmentation_layer_decay_reaches_the_students_blocks():
    """MMSegmentation's constructor matches 'backbone.' names; in a
    Distiller they start with 'student.backbone.'."""
    from tests.test_configs import build_for_test
    model, _, _ = build_for_test(SEG)
    _, groups = _groups(SEG, model)
    lr, rate = 1e-4, 0.65
    assert math.isclose(
        groups['student.backbone.layers.0.attn.qkv.weight']['lr'],
        lr * rate**12)
    assert math.isclose(groups['student.backbone.pos_embed']['lr'],
                        lr * rate**13)
    assert math.isclose(groups['student.decode_head.conv_seg.weight']['lr'],
                        lr)


# --- the generic stage's checkpoint into the specific stage ------------
@pytest.fixture(scope='module')
def generic_checkpoint(tmp_path_factory):
    """A G2SD generic-stage ViT-S state dict as the runner saves it."""
    from tests.test_pretrain.test_g2sd import randomise
    cfg = dict(
        type='mmkd.G2SD',
        backbone=dict(type='mmkd.G2SDViT', arch='deit-small'),
        neck=dict(type='mmkd.G2SDFeatDecoder', target_dim=16),
        teacher=dict(
            model=dict(
                type='mmkd.G2SDMAETeacher',
                backbone=dict(
                    type='mmkd.G2SDViT',
                    arch=dict(
                        embed_dims=16,
                        num_layers=1,
                        num_heads=1,
                        feedforward_channels=16)),
                neck=dict(
                    type='mmpretrain.MAEPretrainDecoder',
                    embed_dim=16,
                    decoder_embed_dim=16,
                    decoder_depth=1,
                    decoder_num_heads=1))),
        target_layer=1,
        load_teacher_checkpoint=False)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    randomise(model.backbone, seed=3)
    path = tmp_path_factory.mktemp('gd') / 'epoch_300.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path, model.backbone.state_dict()


def _convert(generic_checkpoint, layout, tmp_path):
    """The converter tool's own function (its command line is tested in
    test_convert.py)."""
    out = tmp_path / f'backbone_{layout}.pth'
    load_tool('tools/convert/g2sd_to_backbone.py').convert(
        str(generic_checkpoint), str(out), layout)
    return out


def _student_with_checkpoint(config, checkpoint, img_size=None):
    """The specific config's student, its backbone started through the
    documented field, as the runner does (``init_weights``)."""
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(
        {'model.student.model.backbone.init_cfg.checkpoint': str(checkpoint)})
    if img_size is not None:
        cfg.merge_from_dict(
            {'model.student.model.backbone.img_size': img_size})
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.student.backbone


def _assert_blocks_equal(backbone, reference):
    state = backbone.state_dict()
    keys = [k for k in reference if k.startswith(('layers.', 'patch_embed'))]
    assert len(keys) > 100
    for key in keys:
        assert torch.equal(state[key], reference[key]), key


def test_generic_checkpoint_initialises_the_classification_student(
        generic_checkpoint, tmp_path):
    path, reference = generic_checkpoint
    backbone = _student_with_checkpoint(CLS, _convert(path, 'vit', tmp_path))
    _assert_blocks_equal(backbone, reference)
    for key in ('cls_token', 'pos_embed', 'ln1.weight', 'ln1.bias'):
        assert torch.equal(backbone.state_dict()[key], reference[key]), key
    assert backbone.pos_embed.requires_grad  # learnable from here on


def test_generic_checkpoint_initialises_the_segmentation_student(
        generic_checkpoint, tmp_path):
    """MMSegmentation's MAE reads the same names; it resizes the 14x14
    table to the crop's grid (here 8x8) and keeps the class token's row."""
    from mmpretrain.models.utils import resize_pos_embed
    path, reference = generic_checkpoint
    backbone = _student_with_checkpoint(
        SEG, _convert(path, 'vit', tmp_path), img_size=(128, 128))
    _assert_blocks_equal(backbone, reference)
    assert torch.equal(backbone.cls_token, reference['cls_token'])
    table = backbone.pos_embed
    assert table.shape == (1, 1 + 64, 384)
    torch.testing.assert_close(
        table,
        resize_pos_embed(reference['pos_embed'], (14, 14), (8, 8), 'bicubic',
                         1))
    # BEiT-style additions keep their initial values: rel-pos 0, scale 1
    assert backbone.layers[0].gamma_1.eq(1).all()
    assert backbone.layers[0].attn.relative_position_bias_table.eq(0).all()


def test_generic_checkpoint_initialises_the_detection_student(
        generic_checkpoint, tmp_path):
    """ViTDet's backbone (ViTSAM): the table as a grid without the class
    token, resized to the 1024 input's 64x64."""
    from mmpretrain.models.utils import resize_pos_embed
    path, reference = generic_checkpoint
    backbone = _student_with_checkpoint(DET, _convert(path, 'vitdet',
                                                      tmp_path))
    _assert_blocks_equal(backbone, reference)
    grid = backbone.pos_embed
    assert grid.shape == (1, 64, 64, 384)
    expected = resize_pos_embed(reference['pos_embed'][:, 1:], (14, 14),
                                (64, 64), 'bicubic', 0)
    torch.testing.assert_close(grid.flatten(1, 2), expected)
    assert backbone.layers[2].attn.rel_pos_h.eq(0).all()


def test_backbone_conversion_of_official_and_mmkd_checkpoints_agree():
    from mmkd.pretrain.convert import mae_to_mmpretrain
    from tests.test_pretrain.official_mae import MaskedAutoencoderViT
    official = MaskedAutoencoderViT(
        img_size=32,
        patch_size=8,
        embed_dim=16,
        depth=2,
        num_heads=2,
        decoder_embed_dim=8,
        decoder_depth=1,
        decoder_num_heads=2).state_dict()
    ours = g2sd_backbone(mae_to_mmpretrain(official)[0])
    assert g2sd_backbone(official).keys() == ours.keys()
    assert 'ln1.weight' in ours and 'cls_token' in ours
    grid = g2sd_backbone(official, 'vitdet')
    assert grid['pos_embed'].shape == (1, 4, 4, 16)
    assert 'cls_token' not in grid and 'ln1.weight' not in grid
    with pytest.raises(KeyError, match='no ViT encoder'):
        g2sd_backbone({'mask_token': torch.zeros(1)})


def test_classification_heads_start_as_the_official_fine_tuning():
    """main_finetune_dis.py draws only ``head`` at std 2e-5; ``head_dist``
    keeps timm's truncated normal of std 0.02."""
    cfg = Config.fromfile(str(CLS))
    head_cfg = copy.deepcopy(cfg.model.student.model.head)
    head_cfg.update(num_classes=1000, in_channels=384)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = MODELS.build(head_cfg)
    head.init_weights()
    head_std = head.layers.head.weight.std().item()
    dist_std = head.layers.head_dist.weight.std().item()
    assert 1.5e-5 < head_std < 2.5e-5, head_std
    assert 0.015 < dist_std < 0.025, dist_std
    assert head.layers.head_dist.bias.abs().max() == 0


def test_detection_schedule_weight_decay_is_the_official_runs():
    """G2SD_det_dis/run.sh sets optimizer.weight_decay=0.05 (its config's
    0.1 is ViTDet's default)."""
    cfg = Config.fromfile(
        str(ROOT / 'configs' / '_base_' / 'schedules' /
            'vitdet_adamw-ld0.7_lsj-100e.py'))
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
