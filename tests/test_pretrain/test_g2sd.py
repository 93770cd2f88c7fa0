"""G2SD's generic stage: parity with the official ``models_mae.py`` forward
(re-stated in ``official_mae.py``, see there), one shared mask, the hidden
frozen teacher, and the parts DDP needs."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from mmkd.pretrain import G2SD
from mmkd.pretrain.convert import mae_to_mmpretrain
from mmkd.registry import MODELS
from .official_mae import MaskedAutoencoderViT, get_2d_sincos_pos_embed


def vit(dims, depth, heads, img=32, patch=8):
    return dict(
        type='mmkd.G2SDViT',
        arch=dict(
            embed_dims=dims,
            num_layers=depth,
            num_heads=heads,
            feedforward_channels=4 * dims),
        img_size=img,
        patch_size=patch)


def teacher_model(img=32, patch=8, dims=32, dec=24, depth=3):
    return dict(
        type='mmkd.G2SDMAETeacher',
        backbone=vit(dims, 2, 2, img, patch),
        neck=dict(
            type='mmpretrain.MAEPretrainDecoder',
            num_patches=(img // patch)**2,
            patch_size=patch,
            embed_dim=dims,
            decoder_embed_dim=dec,
            decoder_depth=depth,
            decoder_num_heads=2))


def tiny(checkpoint=None, target_layer=2, **kwargs):
    """A G2SD of a 2-layer 32-wide teacher (decoder 24 wide, 3 blocks) and a
    2-layer 16-wide student, on 32x32 images cut into 16 patches."""
    teacher = dict(model=teacher_model())
    if checkpoint:
        teacher['checkpoint'] = checkpoint
    cfg = dict(
        type='mmkd.G2SD',
        backbone=vit(16, 2, 2),
        neck=dict(
            type='mmkd.G2SDFeatDecoder',
            num_patches=16,
            embed_dim=16,
            decoder_embed_dim=8,
            decoder_depth=1,
            decoder_num_heads=2,
            target_dim=24),
        teacher=teacher,
        target_layer=target_layer,
        load_teacher_checkpoint=checkpoint is not None)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def randomise(module, seed=0):
    """Weights away from their initial values (LN scales around 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if p.dim() == 1 and 'norm' in name and name.endswith('weight'):
                p.copy_(1 + 0.1 * noise)
            elif 'pos_embed' not in name:
                p.copy_(0.05 * noise)


def images(b=2, size=32, seed=0):
    return torch.randn(
        b, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --- parity with the official forward ---------------------------------
@pytest.fixture(scope='module')
def vit_b_s_pair():
    """The official ViT-B teacher and ViT-S (dec256d4b) student with random
    weights, and the same weights in mmkd's modules (through the
    converter)."""
    torch.manual_seed(0)
    official_t = MaskedAutoencoderViT(
        embed_dim=768,
        depth=12,
        num_heads=12,
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        teacher=True,
        suplayer=4,
        supervise_all=True).eval()
    official_s = MaskedAutoencoderViT(
        embed_dim=384,
        depth=12,
        num_heads=6,
        decoder_embed_dim=256,
        decoder_depth=4,
        decoder_num_heads=8,
        encoder_pred_channel=768,
        decoder_pred_channel=512,
        supervise_all=True).eval()
    for seed, official in enumerate((official_t, official_s)):
        randomise(official, seed)
        for name in ('pos_embed', 'decoder_pos_embed'):
            p = getattr(official, name)
            p.data.copy_(
                torch.from_numpy(
                    get_2d_sincos_pos_embed(p.shape[-1], 14, True)).float())
    cfg = dict(
        type='mmkd.G2SD',
        backbone=dict(type='mmkd.G2SDViT', arch='deit-small'),
        neck=dict(type='mmkd.G2SDFeatDecoder'),  # defaults: dec256d4b -> 512
        teacher=dict(
            model=dict(
                type='mmkd.G2SDMAETeacher',
                backbone=dict(type='mmkd.G2SDViT', arch='b'),
                neck=dict(type='mmpretrain.MAEPretrainDecoder',
                          embed_dim=768))),
        load_teacher_checkpoint=False)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    state_t, _ = mae_to_mmpretrain(official_t.state_dict())
    state_s, dropped = mae_to_mmpretrain(official_s.state_dict())
    assert dropped and all('encoderfeature_pred' in k for k in dropped)
    model.teacher.load_state_dict(state_t, strict=True)
    # the student uses every official key but the unused pixel head
    result = model.load_state_dict(state_s, strict=False)
    assert not result.missing_keys
    assert sorted(result.unexpected_keys) == [
        'neck.decoder_pred.bias', 'neck.decoder_pred.weight', 'neck.ln1.bias',
        'neck.ln1.weight'
    ]
    return official_t, official_s, model.eval()


def test_student_sincos_position_embeddings_are_the_official_ones():
    """MMPretrain's helper gives MAE's table transposed; the G2SD student
    modules start from MAE's own."""
    from mmpretrain.models.utils import build_2d_sincos_position_embedding
    official = torch.from_numpy(get_2d_sincos_pos_embed(512, 14, True)).float()
    mmpretrain = build_2d_sincos_position_embedding(14, 512, cls_token=True)
    assert not torch.allclose(mmpretrain[0], official, atol=1e-3)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        backbone = MODELS.build(dict(type='mmkd.G2SDViT', arch='deit-small'))
        neck = MODELS.build(dict(type='mmkd.G2SDFeatDecoder'))
    backbone.init_weights()
    neck.init_weights()
    for table, dim in ((backbone.pos_embed, 384), (neck.decoder_pos_embed,
                                                   256)):
        official = get_2d_sincos_pos_embed(dim, 14, cls_token=True)
        torch.testing.assert_close(
            table[0], torch.from_numpy(official).float(), atol=1e-6, rtol=0)


def test_teacher_target_and_student_prediction_equal_the_official(
        vit_b_s_pair):
    official_t, official_s, model = vit_b_s_pair
    x = images(2, 224)
    noise = torch.rand(2, 196, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        hidden_t, mask_t = official_t(x, noise)
        pred_s, mask_s = official_s(x, noise)
        target = model.teachers['teacher'].records(
            x, None, noise=noise)[model.target_tap]
        latent, mask, ids_restore = model.backbone(x, noise=noise)
        pred = model.neck(latent, ids_restore)
    assert latent.shape == (2, 1 + 49, 384)
    assert target.shape == hidden_t.shape == (2, 197, 512)
    assert pred.shape == pred_s.shape == (2, 197, 512)
    assert torch.equal(mask, mask_t) and torch.equal(mask, mask_s)
    assert hidden_t.abs().max() > 1 and pred_s.std() > 0.1  # not vanishing
    # fp32 after 12 + 4 blocks (MMPretrain's fused attention vs the explicit
    # softmax): within 1e-5 of the largest value
    assert (target - hidden_t).abs().max() < 1e-5 * hidden_t.abs().max()
    assert (pred - pred_s).abs().max() < 1e-5 * pred_s.abs().max()
    # the official loss (engine_distill.py) on these tensors is ours
    official_loss = F.smooth_l1_loss(
        pred_s,
        torch.nn.LayerNorm(512, eps=1e-6, elementwise_affine=False)(hidden_t),
        beta=2.0)
    torch.testing.assert_close(
        model.criterion(pred, target, mask), official_loss, atol=1e-6, rtol=0)


def test_g2sd_step_loss_equals_the_official_step(vit_b_s_pair):
    """One ``G2SD.loss`` call draws one ``torch.rand(B, 196)``: with the
    same seed, the official step on that noise gives the same loss."""
    official_t, official_s, model = vit_b_s_pair
    x = images(2, 224, seed=3)
    torch.manual_seed(5)
    noise = torch.rand(2, 196)
    with torch.no_grad():
        official = F.smooth_l1_loss(
            official_s(x, noise)[0],
            F.layer_norm(official_t(x, noise)[0], (512, ), eps=1e-6),
            beta=2.0)
        torch.manual_seed(5)
        ours = model.loss(x, None)['loss_gd']
    torch.testing.assert_close(ours, official, atol=1e-6, rtol=0)


def test_masked_only_supervision_equals_official_supervise_all_false(
        vit_b_s_pair):
    official_t, official_s, model = vit_b_s_pair
    x = images(2, 224, seed=4)
    noise = torch.rand(2, 196)
    t, s = copy.deepcopy(official_t), copy.deepcopy(official_s)
    t.supervise_all = s.supervise_all = False
    with torch.no_grad():
        official = F.smooth_l1_loss(
            s(x, noise)[0],
            F.layer_norm(t(x, noise)[0], (512, ), eps=1e-6),
            beta=2.0)
        target = model.teachers['teacher'].records(
            x, None, noise=noise)[model.target_tap]
        latent, mask, ids_restore = model.backbone(x, noise=noise)
        pred = model.neck(latent, ids_restore)
        masked = MODELS.build(dict(type='mmkd.G2SDFeatLoss', tokens='masked'))
    torch.testing.assert_close(
        masked(pred, target, mask), official, atol=1e-6, rtol=0)


# --- one mask, the teacher's share of the work -------------------------
def _capture_masks(model):
    seen = dict(teacher=[], student=[])
    model.teacher.backbone.register_forward_hook(
        lambda m, a, out: seen['teacher'].append(out[1:]))
    model.backbone.register_forward_hook(
        lambda m, a, out: seen['student'].append(out[1:]))
    return seen


def test_one_noise_per_step_shared_by_teacher_and_student():
    model = tiny()
    seen = _capture_masks(model)
    for _ in range(2):
        model.loss(images(3), None)
    for (t_mask, t_ids), (s_mask, s_ids) in zip(seen['teacher'],
                                                seen['student']):
        assert torch.equal(t_mask, s_mask) and torch.equal(t_ids, s_ids)
        assert t_mask.shape == (3, 16) and (t_mask.sum(1) == 12).all()
    assert not torch.equal(seen['student'][0][0], seen['student'][1][0])


def test_teacher_runs_only_decoder_blocks_up_to_the_target_layer():
    model = tiny(target_layer=2)
    calls = []
    neck = model.teacher.neck
    for name, module in [('block0', neck.decoder_blocks[0]),
                         ('block1', neck.decoder_blocks[1]),
                         ('block2', neck.decoder_blocks[2]),
                         ('pred', neck.decoder_pred)]:
        module.register_forward_hook(lambda *_, name=name: calls.append(name))
    model.loss(images(), None)  # the first step counts the tap's calls
    calls.clear()
    model.loss(images(), None)
    assert calls == ['block0', 'block1']


def test_target_is_the_teacher_decoder_block_output_over_all_tokens():
    model = tiny(target_layer=2)
    x, noise = images(), torch.rand(2, 16)
    target = model.teachers['teacher'].records(
        x, None, noise=noise)[model.target_tap]
    neck = model.teacher.neck
    with torch.no_grad():
        latent, _, ids_restore = model.teacher.backbone(x, noise=noise)
        h = neck.decoder_embed(latent)
        tokens = torch.cat(
            [h[:, 1:],
             neck.mask_token.expand(2, 16 + 1 - h.shape[1], -1)], 1)
        tokens = torch.gather(tokens, 1, ids_restore[...,
                                                     None].expand(-1, -1, 24))
        h = torch.cat([h[:, :1], tokens], 1) + neck.decoder_pos_embed
        for block in neck.decoder_blocks[:2]:
            h = block(h)
    assert target.shape == (2, 17, 24)
    torch.testing.assert_close(target, h)


# --- the hidden, frozen teacher and the student's parameters -----------
def test_teacher_is_frozen_hidden_and_out_of_the_optimizer():
    model = tiny()
    teacher = model.teacher
    assert all(not p.requires_grad for p in teacher.parameters())
    assert not any(
        k.startswith(('teacher', 'teachers')) for k in model.state_dict())
    assert {k.split('.')[0]
            for k in model.state_dict()
            } <= {'backbone', 'neck', 'data_preprocessor'}
    ids = {id(p) for p in teacher.parameters()}
    assert not ids & {id(p) for p in model.parameters()}
    optim = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='AdamW', lr=1e-3), type='OptimWrapper'))
    in_optim = {id(p) for g in optim.param_groups for p in g['params']}
    assert not ids & in_optim
    model.train()
    assert model.training and not teacher.training
    loss = model.loss(images(), None)['loss_gd']
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())


def test_every_trainable_student_parameter_gets_a_gradient():
    """No unused parameters: DDP runs without find_unused_parameters."""
    model = tiny(loss=dict(type='mmkd.G2SDFeatLoss', tokens='masked'))
    assert not hasattr(model.neck, 'decoder_pred')
    assert not hasattr(model.neck, 'ln1')
    model.loss(images(), None)['loss_gd'].backward()
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
    assert trainable and all(p.grad is not None and p.grad.abs().sum() > 0
                             for _, p in trainable)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {'backbone.pos_embed', 'neck.decoder_pos_embed'}


def test_encoder_only_teacher_checkpoint_is_refused(tmp_path):
    """G2SD issue #7: without the decoder the targets are random."""
    source = tiny()
    state = {
        k: v
        for k, v in source.teacher.state_dict().items()
        if k.startswith('backbone.')
    }
    torch.save(dict(state_dict=state), tmp_path / 'encoder_only.pth')
    model = tiny(checkpoint=str(tmp_path / 'encoder_only.pth'))
    with pytest.raises(RuntimeError, match=r"untrained: \['neck\."):
        model.loss(images(), None)
    full = tmp_path / 'full.pth'
    torch.save(dict(state_dict=source.teacher.state_dict()), full)
    model = tiny(checkpoint=str(full))
    torch.testing.assert_close(model.teacher.state_dict(),
                               source.teacher.state_dict())
    assert model.loss(images(), None)['loss_gd'] > 0


def test_wrong_configurations_are_explained():
    with pytest.raises(ValueError, match=r'target_layer should be in 1\.\.3'):
        tiny(target_layer=4)
    with pytest.raises(ValueError, match='same patches'):
        tiny(backbone=vit(16, 2, 2, img=32, patch=16))
    with pytest.raises(ValueError, match=r'noise should have shape'):
        tiny().backbone(images(), noise=torch.rand(2, 15))
    # MMPretrain's own MAE as the teacher model: its forward takes no noise
    mae = dict(
        type='mmpretrain.MAE',
        backbone=vit(32, 2, 2),
        neck=teacher_model()['neck'],
        head=dict(
            type='mmpretrain.MAEPretrainHead',
            patch_size=8,
            loss=dict(
                type='mmpretrain.PixelReconstructionLoss', criterion='L2')))
    mae['backbone']['type'] = 'mmpretrain.MAEViT'
    with pytest.raises(TypeError, match=r"type='mmkd.G2SDMAETeacher'"):
        tiny(teacher=dict(model=mae))


def test_tensor_mode_is_the_student_encoder_on_whole_images():
    model = tiny()
    out = model(images(), mode='tensor')
    assert isinstance(model, G2SD) and out[0].shape == (2, 1 + 16, 16)
