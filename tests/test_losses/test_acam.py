"""ACAM-KD (arXiv 2503.06307): hand values, the exact attention kernel, its
memory, gradients, AMP and the Distiller contract."""
import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from mmkd.losses import ACAMKDLoss, acam_masked_losses, mask_dice
from mmkd.ops import (attention_memory_bytes, cross_attention, naive_attention,
                      sdpa_backend)
from mmkd.utils.memory import LiveTensorBytes

MIB = 2**20
ROOT = Path(__file__).resolve().parents[2]


# --- the masked losses: the spec's worked example ------------------------
def worked_example():
    """C=2, H=1, W=2; teacher ch0 = [1, 0], ch1 = [0, 2]; student 0."""
    teacher = torch.tensor([[[[1., 0.]], [[0., 2.]]]])
    return teacher, torch.zeros_like(teacher)


@pytest.mark.parametrize('mask_c, mask_s, expected', [
    ([1., 0.], [1., 0.], (0.5, 0.5)),
    ([1., 1.], [1., 1.], (1.25, 1.25)),
    ([.5, .5], [.5, .5], (0.625, 0.625)),
    ([0., 1.], [0., 1.], (2.0, 2.0)),
])
def test_masked_losses_hand_values(mask_c, mask_s, expected):
    teacher, student = worked_example()
    loss_c, loss_s = acam_masked_losses(
        teacher,
        student,
        torch.tensor([[mask_c]]),
        torch.tensor([[mask_s]]),
        eps=0)
    assert (loss_c.item(), loss_s.item()) == pytest.approx(expected)


def test_masked_losses_properties():
    torch.manual_seed(0)
    t, s = torch.randn(2, 5, 3, 4), torch.randn(2, 5, 3, 4)
    ones_c, ones_s = torch.ones(2, 3, 5), torch.ones(2, 3, 12)
    mse = F.mse_loss(s, t).item()
    for c, s_ in (acam_masked_losses(t, s, ones_c, ones_s, eps=0),
                  acam_masked_losses(
                      t, s, ones_c * .3, ones_s * .3, 'sum_sq', eps=0)):
        assert (c.item(), s_.item()) == pytest.approx((mse, mse), rel=1e-5)
    half = acam_masked_losses(t, s, ones_c * .5, ones_s * .5, eps=0)
    assert [x.item() for x in half] == pytest.approx([mse / 2] * 2, rel=1e-5)
    rand_c, rand_s = torch.rand(2, 3, 5), torch.rand(2, 3, 12)
    assert [x.item() for x in acam_masked_losses(t, t, rand_c, rand_s)] == \
        [0.0, 0.0]
    # Random masks weight the squared difference: between min and max cell.
    lc, ls = acam_masked_losses(t, s, rand_c, rand_s)
    assert 0 < lc.item() and 0 < ls.item()
    with pytest.raises(ValueError, match='mask_norm should be one of'):
        acam_masked_losses(t, s, rand_c, rand_s, 'mean')


def test_sum_sq_is_invariant_to_the_mask_scale_at_any_scale():
    """'sum_sq' removes the paper form's gain from shrinking the masks,
    also for masks far below sqrt(eps) (round 3 of docs/comparison.md saw
    spatial masks of 1e-9, where an additive eps of 1e-6 zeroed the loss).
    The paper's 'sum' keeps the gain: it scales with the masks."""
    torch.manual_seed(0)
    t, s = torch.randn(2, 5, 3, 4), torch.randn(2, 5, 3, 4)
    mask_c, mask_s = torch.rand(2, 3, 5), torch.rand(2, 3, 12)
    full = acam_masked_losses(t, s, mask_c, mask_s, 'sum_sq')
    for scale in (1e-3, 1e-9, 1e-15):
        small = acam_masked_losses(t, s, mask_c * scale, mask_s * scale,
                                   'sum_sq')
        assert [x.item()
                for x in small] == pytest.approx([x.item() for x in full],
                                                 rel=1e-4)
    paper = acam_masked_losses(t, s, mask_c, mask_s, 'sum', eps=0)
    shrunk = acam_masked_losses(
        t, s, mask_c * 1e-3, mask_s * 1e-3, 'sum', eps=0)
    assert [x.item()
            for x in shrunk] == pytest.approx([x.item() * 1e-3 for x in paper],
                                              rel=1e-4)
    zero = acam_masked_losses(t, s, mask_c * 0, mask_s * 0, 'sum_sq')
    assert [x.item() for x in zero] == [0.0, 0.0]


@pytest.mark.parametrize('scale', [1e-3, 1e-20, 1e-30])
def test_sum_sq_gradient_at_collapsed_mask_scales(scale):
    """The loss is invariant to the mask scale, so its gradient scales as
    1/scale: finite and exact for masks of 1e-20 and 1e-30, as a collapse
    reaches in training (round 3 of docs/comparison.md, seed 1: sum M^2
    underflowed, the quotient's gradient divided by 0 and the arm went NaN
    within 50 iterations)."""
    torch.manual_seed(0)
    t, s = torch.randn(2, 5, 3, 4), torch.randn(2, 5, 3, 4)
    unit_c, unit_s = torch.rand(2, 3, 5), torch.rand(2, 3, 12)
    grads = []
    for factor in (1.0, scale):
        mask_c = (unit_c * factor).requires_grad_()
        mask_s = (unit_s * factor).requires_grad_()
        sum(acam_masked_losses(t, s, mask_c, mask_s, 'sum_sq')).backward()
        grads.append((mask_c.grad, mask_s.grad))
    for unit, small in zip(*grads):
        assert torch.isfinite(small).all()
        torch.testing.assert_close(small * scale, unit, rtol=1e-4, atol=1e-7)


def test_dice_values():
    same = torch.rand(2, 1, 10).repeat(1, 4, 1)
    assert mask_dice(same).item() == pytest.approx(1.0)
    disjoint = torch.eye(4)[None].repeat(3, 1, 1)
    assert mask_dice(disjoint).item() == 0.0
    pair = torch.tensor([[[1., 0.], [1., 1.]]])
    assert mask_dice(pair).item() == pytest.approx(2 / 3)
    six = torch.rand(1, 1, 7).repeat(2, 6, 1)
    assert mask_dice(six, 'literal').item() == pytest.approx(5.0)
    assert mask_dice(disjoint, 'literal').item() == 0.0
    one = torch.rand(2, 1, 5, requires_grad=True)
    assert mask_dice(one).item() == 0.0 and mask_dice(one).requires_grad
    with pytest.raises(ValueError, match='dice form should be one of'):
        mask_dice(pair, 'printed')


# --- the attention kernel ------------------------------------------------
@pytest.mark.parametrize('dq, dv', [(4, 8), (9, 19), (12, 8)])
def test_sdpa_equals_naive(dq, dv):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 37, dq), torch.randn(2, 23,
                                                  dq), torch.randn(2, 23, dv)
    # strided inputs, as conv(x).flatten(2).transpose(1, 2) gives them
    q, k, v = (
        x.transpose(1, 2).contiguous().transpose(1, 2) for x in (q, k, v))
    ref = naive_attention(q, k, v, dq**-0.5)
    out = cross_attention(q, k, v, dq**-0.5)
    assert out.shape == (2, 37, dv) and out.is_contiguous()
    assert (out - ref).abs().max().item() < 1e-6
    assert sdpa_backend(q, k, v, dq**-0.5) != 'math'
    with sdpa_kernel(SDPBackend.MATH):
        assert sdpa_backend(q, k, v, dq**-0.5) == 'math'


def peak_mib(fn, *inputs):
    inputs = [x.detach().requires_grad_() for x in inputs]
    # torch's CPU allocations are invisible to tracemalloc, and ru_maxrss
    # never goes down within a process
    with LiveTensorBytes() as mode:
        fn(*inputs).sum().backward()
    return mode.peak / MIB


def test_attention_never_builds_the_full_matrix():
    """The memory trap: at 4,096 tokens the matrix is 64 MiB (fp32); SDPA
    with contiguous inputs stays at a few MiB, the naive path and SDPA on a
    strided value (its silent math fallback) hold several copies. The
    measure itself is checked to see both."""
    torch.manual_seed(0)
    n, dq, dv = 4096, 4, 8
    q, k = torch.randn(1, n, dq), torch.randn(1, n, dq)
    v_strided = torch.randn(1, dv, n).transpose(1, 2)
    scale = dq**-0.5
    lean = peak_mib(lambda *x: cross_attention(*x, scale), q, k, v_strided)
    naive = peak_mib(lambda *x: naive_attention(*x, scale), q, k, v_strided)

    def raw_sdpa(q, k, v):  # padded but with V's last dimension strided
        qp, kp = (F.pad(x, (0, dv - dq))[:, None] for x in (q, k))
        return F.scaled_dot_product_attention(qp, kp, v[:, None], scale=scale)

    trap = peak_mib(raw_sdpa, q, k, v_strided)
    assert lean < 4, lean
    assert naive > 150 and trap > 150, (naive, trap)


def test_memory_estimate_and_budget():
    # Faster R-CNN P2 at 800x1344 (200x336 tokens), fp32, per image.
    n = 200 * 336
    naive = attention_memory_bytes(n, n, 128, 256, 4, True) / 2**30
    fused = attention_memory_bytes(n, n, 256, 256, 4, False) / 2**30
    assert 45 < naive < 55 and fused < 1
    loss = ACAMKDLoss(
        4, 8, num_masks=2, use_sdpa=False, attention_budget_gib=1e-4)
    s, t = torch.randn(1, 4, 16, 16), torch.randn(1, 8, 16, 16)
    with pytest.raises(RuntimeError, match='use_sdpa=True.*kv_pool_stride'):
        loss(s, t)
    loss.use_sdpa = True
    with sdpa_kernel(SDPBackend.MATH), pytest.raises(
            RuntimeError, match="'math' kernel.*kv_pool_stride"):
        loss(s, t)
    loss(s, t)  # the fused kernel fits


# --- the loss module -----------------------------------------------------
def make_pair(b=2, cs=8, ct=16, h=5, w=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, cs, h, w,
                        generator=g), torch.randn(b, ct, h, w, generator=g))


def test_outputs_masks_and_statistics():
    torch.manual_seed(0)
    loss = ACAMKDLoss(8, 16, num_masks=3)
    s, t = make_pair()
    unit = loss.units[0]
    q, k, v = unit.project(t, s, 1)
    assert (q.shape, k.shape, v.shape) == ((2, 30, 8), (2, 30, 8), (2, 30, 16))
    mask_c, mask_s = unit.masks(
        cross_attention(q, k, v, 8**-0.5).transpose(1, 2))
    assert mask_c.shape == (2, 3, 16) and mask_s.shape == (2, 3, 30)
    for m in (mask_c, mask_s):
        assert 0 < m.min() and m.max() < 1
        # N(0, 0.01) units: masks start near 0.5 (A10).
        assert (m - .5).abs().max() < .1
    out = loss(s, t)
    assert set(out) == {'loss_distill', 'loss_div'} | set(loss.statistics)
    assert out['l0_mask_s_min'] <= out['l0_mask_s_mean'] <= \
        out['l0_mask_s_max']
    assert not out['l0_mask_c_mean'].requires_grad
    # Masks near 0.5 everywhere: L^c + L^s about 2 * 0.5 * MSE(align(s), t)
    mse = F.mse_loss(unit.align(s), t).item()
    assert out['loss_distill'].item() == pytest.approx(mse, rel=0.1)
    # ... and nearly identical masks: Dice close to 1 for each kind.
    assert out['loss_div'].item() == pytest.approx(2.0, abs=0.01)
    masks = loss.masks(s, t)
    assert list(masks) == [0] and masks[0][1].shape == (2, 3, 5, 6)
    assert torch.allclose(masks[0][0], mask_c)
    assert torch.allclose(masks[0][1].flatten(2), mask_s)
    assert out['l0_mask_s_max'] == masks[0][1].max()
    assert unit.m_c.shape == (3, 1)
    assert ACAMKDLoss(8, 16, 1, 3, per_channel_units=True).units[0] \
        .m_c.shape == (3, 16)


def test_equal_features_give_zero_distill_loss():
    loss = ACAMKDLoss(6, 6, num_masks=4)
    with torch.no_grad():
        loss.units[0].align.weight.copy_(torch.eye(6)[:, :, None, None])
        loss.units[0].align.bias.zero_()
    t = torch.randn(2, 6, 4, 4)
    assert loss(t.clone(), t)['loss_distill'].item() == pytest.approx(
        0, abs=1e-7)


def test_identity_align_is_the_plain_masked_mse(monkeypatch):
    """align='identity' compares the maps as they are: with all-ones masks
    each of L^c and L^s is F.mse_loss(student, teacher); the 1x1 conv of
    align='conv' gives another value."""
    from mmkd.losses.acam import ACAMLevel

    def ones(self, fused):
        b, c, n = fused.shape
        m = self.m_s.shape[0]
        return fused.new_ones(b, m, c), fused.new_ones(b, m, n)

    monkeypatch.setattr(ACAMLevel, 'masks', ones)
    torch.manual_seed(0)
    s, t = torch.randn(2, 6, 4, 5), torch.randn(2, 6, 4, 5)
    identity = ACAMKDLoss(6, 6, num_masks=3, align='identity')
    assert isinstance(identity.units[0].align, torch.nn.Identity)
    expected = 2 * F.mse_loss(s, t)
    assert identity(s, t)['loss_distill'].item() == pytest.approx(
        expected.item(), rel=1e-6)
    conv = ACAMKDLoss(6, 6, num_masks=3)
    assert abs(conv(s, t)['loss_distill'].item() - expected.item()) > 1e-3
    with pytest.raises(ValueError, match="align='conv'"):
        ACAMKDLoss(8, 16, num_masks=3, align='identity')
    with pytest.raises(ValueError, match='align should be one of'):
        ACAMKDLoss(6, 6, align='linear')


def test_detached_masks_learn_from_the_dice_term_only():
    """detach_masks_in_loss: the imitation term sends the mask units
    nothing (MasKD trains masks apart from the loss they weight), the Dice
    term does, and the student still gets the imitation gradient."""
    torch.manual_seed(0)
    s, t = make_pair()
    s.requires_grad_()
    masks = ['units.0.m_s', 'units.0.m_c', 'units.0.query', 'units.0.key']

    def grads(loss, key):
        params = dict(loss.named_parameters())
        names = [n for n in params if any(n.startswith(m) for m in masks)]
        out = loss(s, t)[key]
        found = torch.autograd.grad(
            out, [params[n] for n in names], allow_unused=True)
        return {
            n: 0. if g is None else g.abs().sum().item()
            for n, g in zip(names, found)
        }

    detached = ACAMKDLoss(
        8, 16, num_masks=3, init_std=1.0, detach_masks_in_loss=True)
    assert all(v == 0 for v in grads(detached, 'loss_distill').values())
    assert grads(detached, 'loss_div')['units.0.m_s'] > 0
    grad_s, = torch.autograd.grad(detached(s, t)['loss_distill'], s)
    assert grad_s.abs().sum() > 0
    attached = ACAMKDLoss(
        8, 16, num_masks=3, init_std=1.0, detach_masks_in_loss=False)
    attached.load_state_dict(detached.state_dict())
    assert grads(attached, 'loss_distill')['units.0.m_s'] > 0
    # the default is MasKD's practice, chosen by measurement: detached
    default = ACAMKDLoss(8, 16, num_masks=3, init_std=1.0)
    default.load_state_dict(detached.state_dict())
    assert all(v == 0 for v in grads(default, 'loss_distill').values())
    assert default.detach_student_in_fusion


def test_sdpa_and_naive_loss_agree():
    torch.manual_seed(0)
    sdpa = ACAMKDLoss(8, 16, num_masks=3, init_std=1.0)
    naive = copy.deepcopy(sdpa)
    naive.use_sdpa = False
    s, t = make_pair(h=9, w=11)
    a, b = sdpa(s, t), naive(s, t)
    for key in a:
        assert (a[key] - b[key]).abs().item() < 1e-6, key


def test_gradients_reach_units_and_student_not_teacher():
    torch.manual_seed(0)
    # the paper's reading: nothing detached
    loss = ACAMKDLoss(
        8,
        16,
        num_masks=3,
        init_std=1.0,
        detach_student_in_fusion=False,
        detach_masks_in_loss=False)
    s, t = make_pair()
    s.requires_grad_()
    t.requires_grad_()
    out = loss(s, t)
    (out['loss_distill'] + out['loss_div']).backward()
    for name, p in loss.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert s.grad.abs().sum() > 0 and t.grad is None
    # A6: with the fusion detached the Dice term, which sees the student
    # only through K/V, sends it nothing; the imitation term still does.
    loss.detach_student_in_fusion = True
    out = loss(s, t)
    grad_div, = torch.autograd.grad(
        out['loss_div'], s, retain_graph=True, allow_unused=True)
    assert grad_div is None or grad_div.abs().sum() == 0
    grad_distill, = torch.autograd.grad(out['loss_distill'], s)
    assert grad_distill.abs().sum() > 0


def test_every_unit_in_the_graph_whatever_the_switches():
    """DDP without find_unused_parameters: masks detached in the loss and
    Dice on spatial masks only leave m_c unused but for the zero path."""
    loss = ACAMKDLoss(
        8, 16, num_masks=3, detach_masks_in_loss=True, dice_on='spatial')
    s, t = make_pair()
    out = loss(s, t)
    (out['loss_distill'] + out['loss_div']).backward()
    grads = dict(loss.named_parameters())
    assert all(p.grad is not None for p in grads.values())
    assert grads['units.0.m_c'].grad.abs().sum() == 0
    assert grads['units.0.m_s'].grad.abs().sum() > 0


def test_levels_sum_and_switches():
    torch.manual_seed(0)
    sizes = [(8, 8), (4, 4), (2, 2)]
    s = [torch.randn(2, 8, *hw) for hw in sizes]
    t = [torch.randn(2, 16, *hw) for hw in sizes]
    loss = ACAMKDLoss(8, 16, num_levels=3, num_masks=3, levels=[0, 2])
    assert len(loss.units) == 2
    out = loss(tuple(s), tuple(t))
    assert {k.split('_')[0] for k in loss.statistics} == {'l0', 'l2'}
    single = ACAMKDLoss(8, 16, num_masks=3)
    parts = []
    for unit, i in zip(loss.units, (0, 2)):
        single.units[0].load_state_dict(unit.state_dict())
        parts.append(single(s[i], t[i]))
    for key in ('loss_distill', 'loss_div'):
        assert out[key].item() == pytest.approx(
            sum(p[key].item() for p in parts), rel=1e-6)
    shared = ACAMKDLoss([8, 8, 8], 16, num_levels=3, share_modules=True)
    assert len(shared.units) == 1 and math.isfinite(
        shared(s, t)['loss_distill'].item())
    pooled = ACAMKDLoss(8, 16, num_masks=3, kv_pool_stride=3)
    q, k, v = pooled.units[0].project(t[0], s[0], 3)
    assert k.shape[1] == v.shape[1] == 9 and q.shape[1] == 64
    assert math.isfinite(pooled(s[0], t[0])['loss_distill'].item())


def test_empty_batch():
    loss = ACAMKDLoss(8, 16, num_masks=3)
    s, t = make_pair(b=0)
    s.requires_grad_()
    out = loss(s, t)
    assert out['loss_distill'].item() == 0 and out['loss_div'].item() == 0
    (out['loss_distill'] + out['loss_div']).backward()
    assert all(p.grad is not None for p in loss.parameters())
    assert set(out) == {'loss_distill', 'loss_div'} | set(loss.statistics)


def test_bf16_autocast_gives_fp32_losses():
    torch.manual_seed(0)
    loss = ACAMKDLoss(32, 64, num_masks=6, init_std=1.0)
    # large activations: sums over positions x channels stress low precision
    s, t = make_pair(cs=32, ct=64, h=16, w=20)
    s, t = s * 30, t * 30
    ref = loss(s, t)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = loss(s.bfloat16(), t.bfloat16())
    for key in ('loss_distill', 'loss_div'):
        assert low[key].dtype == torch.float32
        assert math.isfinite(low[key].item())
        assert low[key].item() == pytest.approx(ref[key].item(), rel=3e-2)


def test_errors():
    with pytest.raises(ValueError, match='levels should be distinct'):
        ACAMKDLoss(8, 8, num_levels=2, levels=[0, 2])
    with pytest.raises(ValueError, match='student_channels should be'):
        ACAMKDLoss([8, 8], 8, num_levels=3)
    with pytest.raises(ValueError, match='share_modules=True needs'):
        ACAMKDLoss([8, 4], 8, num_levels=2, share_modules=True)
    with pytest.raises(ValueError, match='dice_on should be one of'):
        ACAMKDLoss(8, 8, dice_on='channel')
    with pytest.raises(ValueError, match='kv_pool_stride should be'):
        ACAMKDLoss(8, 8, kv_pool_stride=0)
    loss = ACAMKDLoss(8, 16, num_levels=2)
    s, t = make_pair()
    with pytest.raises(ValueError, match='num_levels=2'):
        loss(s, t)
    with pytest.raises(ValueError, match='channels 8/16, but got 16/16'):
        loss((t, t), (t, t))
    with pytest.raises(ValueError, match='share batch and spatial size'):
        loss((s, s), (t, t[..., :3]))


def test_distiller_detection_with_an_empty_image(tmp_path):
    """RetinaNet FPN taps through the Distiller: every key on a batch whose
    first image has no box, statistics logged but not summed."""
    from mmengine.optim import OptimWrapper

    from mmkd.distillers import Distiller
    from tests.utils import det_batch

    retina = dict(
        type='mmdet.RetinaNet',
        data_preprocessor=dict(
            type='mmdet.DetDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_size_divisor=32),
        backbone=dict(
            type='mmdet.ResNet',
            depth=18,
            base_channels=8,
            out_indices=(1, 2, 3),
            norm_eval=False),
        neck=dict(
            type='mmdet.FPN',
            in_channels=[16, 32, 64],
            out_channels=16,
            start_level=0,
            add_extra_convs='on_input',
            num_outs=4),
        bbox_head=dict(
            type='mmdet.RetinaHead',
            num_classes=3,
            in_channels=16,
            stacked_convs=1,
            feat_channels=16,
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[0.5, 1.0, 2.0],
                strides=[8, 16, 32, 64]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[.0, .0, .0, .0],
                target_stds=[1.0, 1.0, 1.0, 1.0]),
            loss_cls=dict(
                type='FocalLoss',
                use_sigmoid=True,
                gamma=2.0,
                alpha=0.25,
                loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.4,
                min_pos_iou=0,
                ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        test_cfg=dict(
            nms_pre=100,
            min_bbox_size=0,
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=10))
    teacher = copy.deepcopy(retina)
    teacher['neck']['out_channels'] = 32
    teacher['bbox_head'].update(in_channels=32, feat_channels=32)
    model = Distiller(
        student=dict(model=retina, scope='mmdet'),
        teacher=dict(model=teacher, scope='mmdet'),
        losses=dict(
            loss_acam=dict(
                type='mmkd.ACAMKDLoss',
                student='neck',
                teacher='neck',
                student_channels=16,
                teacher_channels=32,
                num_levels=4)),
        load_teacher_checkpoint=False)
    batch = det_batch(size=(64, 96), num_boxes=(0, 2))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    acam = model.distill_losses['loss_acam'].loss
    before = {k: v.clone() for k, v in acam.named_parameters()}
    log = model.train_step(batch, optim)
    stats = [k for k in log if '_mask_' in k]
    assert len(stats) == 4 * 6 and 'distill.loss_acam_l3_mask_s_max' in log
    terms = [k for k in log if k.startswith('distill.') and k not in stats]
    assert sorted(terms) == [
        'distill.loss_acam_distill', 'distill.loss_acam_div'
    ]
    student = sum(
        v for k, v in log.items()
        if k != 'loss' and not k.startswith('distill.') and 'loss' in k)
    assert log['loss'].item() == pytest.approx(
        (student + sum(log[k] for k in terms)).item(), rel=1e-5)
    # every unit of every level took a step
    for name, value in acam.named_parameters():
        assert not torch.equal(value, before[name]), name
    # saved with the Distiller (so they resume), dropped by the export
    import sys
    sys.path.insert(0, str(ROOT / 'tools'))
    from export_student import export_student
    state = model.state_dict()
    units = [k for k in state if '.units.' in k]
    assert 'distill_losses.loss_acam.loss.units.3.m_s' in units
    assert len(units) == 4 * 9  # align, query, value (w, b), key, m_c, m_s
    torch.save(dict(state_dict=state), tmp_path / 'distiller.pth')
    exported = export_student(
        str(tmp_path / 'distiller.pth'),
        str(tmp_path / 'student.pth'))['state_dict']
    assert not any('units' in k or 'distill' in k for k in exported)
    assert len(exported) == len(model.student.state_dict())
