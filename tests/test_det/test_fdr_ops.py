"""Hand-checkable numbers for the FDR maths, FGL, DDF and the union set
(D-FINE, arXiv 2410.13842, and its official code)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmkd.det.assign import union_assignment
from mmkd.det.fdr_ops import (aligned_iou, bbox2distance,
                              box_cxcywh_to_xyxy_clamped, distance2bbox,
                              distribution_integral, translate_gt,
                              weighting_function)
from mmkd.det.losses import DDFLoss, FGLLoss, ddf_loss, fgl_loss


def test_weighting_function_r4():
    w = weighting_function(32, 0.5, 4.0)
    assert w.shape == (33, )
    assert w[16].item() == 0.0
    assert w[0].item() == -4.0 and w[32].item() == 4.0
    assert w[1].item() == pytest.approx(-2.0, abs=1e-6)
    assert w[31].item() == pytest.approx(2.0, abs=1e-6)
    assert w[17].item() == pytest.approx(3**(1 / 15) - 1, abs=1e-6)
    assert w[17].item() == pytest.approx(0.07599, abs=1e-5)
    table = [
        -4, -2, -1.7881, -1.5912, -1.4082, -1.2381, -1.0801, -0.9332, -0.7967,
        -0.6698, -0.5518, -0.4422, -0.3404, -0.2457, -0.1578, -0.0760, 0
    ]
    assert torch.allclose(w[:17], torch.tensor(table), atol=1e-4)
    assert torch.allclose(w, -w.flip(0))
    assert bool((w[1:] > w[:-1]).all())
    assert (w[31] / 4).item() == pytest.approx(0.5)
    assert (w[32] / 4).item() == 1.0


def test_weighting_function_r8():
    w4, w8 = weighting_function(32, 0.5, 4.0), weighting_function(32, 0.5, 8.0)
    # same ends in box units, finer centre
    assert (w8[0] / 8).item() == -1.0 and (w8[32] / 8).item() == 1.0
    assert (w8[31] / 8).item() == pytest.approx(0.5, abs=1e-6)
    assert (w8[17] / 8).item() == pytest.approx(0.0142, abs=1e-4)
    assert (w4[17] / 4).item() == pytest.approx(0.0190, abs=1e-4)
    assert bool((w8[1:] > w8[:-1]).all())


def test_weighting_function_validates():
    with pytest.raises(ValueError, match='reg_max should be'):
        weighting_function(31)
    with pytest.raises(ValueError, match='up and reg_scale'):
        weighting_function(32, 0.0)


def test_integral_and_decoding():
    w = weighting_function(32, 0.5, 4.0)
    assert distribution_integral(torch.zeros(2, 3, 132), w).abs().max() == 0
    one_hot = torch.full((1, 4, 33), -1e4)
    one_hot[..., 16] = 0
    assert distribution_integral(one_hot.reshape(1, 132), w).abs().max() < 1e-6
    one_hot = torch.full((1, 4, 33), -1e4)
    one_hot[..., 32] = 0
    d = distribution_integral(one_hot.reshape(1, 132), w)
    assert torch.allclose(d, torch.full((1, 4), 4.0))
    ref = torch.tensor([[0.5, 0.4, 0.2, 0.3]])
    d_right = torch.tensor([[0.0, 0.0, 4.0, 0.0]])
    box = distance2bbox(ref, d_right, 4.0)
    xyxy = box_cxcywh_to_xyxy_clamped(box)
    assert xyxy[0, 2].item() == pytest.approx(0.8)
    assert xyxy[0, 0].item() == pytest.approx(0.4)
    assert torch.allclose(distance2bbox(ref, torch.zeros(1, 4), 4.0), ref)


def test_round_trip_and_targets():
    w = weighting_function(32, 0.5, 4.0)
    d = torch.linspace(-4.0, 4.0, 97)
    left, right, wl, wr = translate_gt(d, w)
    assert torch.allclose(wl * w[left] + wr * w[right], d, atol=1e-5)
    ref = torch.tensor([[0.5, 0.5, 0.2, 0.4]]).repeat(5, 1)
    gt = torch.tensor([[0.42, 0.33, 0.61, 0.66], [0.45, 0.4, 0.55, 0.6],
                       [0.4, 0.3, 0.6, 0.7], [0.35, 0.45, 0.52, 0.52],
                       [0.5, 0.5, 0.5, 0.5]])
    dist = bbox2distance(ref, gt, 4.0)
    left, right, wl, wr = translate_gt(dist, w)
    recon = (wl * w[left] + wr * w[right]).reshape(5, 4)
    decoded = box_cxcywh_to_xyxy_clamped(distance2bbox(ref, recon, 4.0))
    assert torch.allclose(decoded, gt, atol=1e-5)
    left, right, wl, wr = translate_gt(torch.tensor([-9.0, 9.0, 0.0]), w)
    assert (left[0], right[0], wl[0].item()) == (0, 1, 1.0)
    assert (left[1], right[1], wr[1].item()) == (31, 32, 1.0)
    # d = 0 exactly: all mass on bin 16
    target = torch.zeros(33)
    target[left[2]] += wl[2]
    target[right[2]] += wr[2]
    assert target[16].item() == 1.0


def _w_closed_form(n, reg_max=32):
    """W(n) in code units for a = 0.5, R = 4 (D-FINE Eq. 3, Peng et al.,
    2024): +-2aR = +-4 at the ends, +-(3^(i / 15) - 1) at 16 +- i."""
    half = reg_max // 2
    if n in (0, reg_max):
        return 4.0 if n else -4.0
    i = n - half
    return math.copysign(3**(abs(i) / (half - 1)) - 1, i)


def _two_hot_entropy(d):
    """Entropy of the two-hot target of offset ``d``, bins found by a scan
    of the closed-form W (independent of ``translate_gt``)."""
    ws = [_w_closed_form(n) for n in range(33)]
    n = max(i for i in range(32) if ws[i] <= d)
    wr = (d - ws[n]) / (ws[n + 1] - ws[n])
    return -sum(p * math.log(p) for p in (wr, 1 - wr) if p > 0)


def _two_hot(dist, w):
    left, right, wl, wr = translate_gt(dist, w)
    t = torch.zeros(left.numel(), w.numel())
    t.scatter_add_(1, left[:, None], wl[:, None])
    t.scatter_add_(1, right[:, None], wr[:, None])
    return t, (left, right, wl, wr)


def test_fgl_floor_is_entropy():
    w = weighting_function(32, 0.5, 4.0)
    dist = torch.tensor([[0.3, -1.0, 0.05, 2.5], [0.0, 1.2, -3.3, 0.7]])
    t, target = _two_hot(dist, w)
    logits = t.clamp(min=1e-30).log().reshape(2, 132)
    iou = torch.tensor([0.8, 0.5])
    ent = -(t * t.clamp(min=1e-30).log()).sum(-1)
    expect = (ent * iou.repeat_interleave(4)).sum()
    assert fgl_loss(logits, target, iou).item() == pytest.approx(
        expect.item(), rel=1e-5)
    # the floor itself: each edge's two-hot entropy, from closed-form bins
    # (d = 0 sits on bin 16: entropy 0; d = 2.5 is 1/4 of the way from
    # W(31) = 2 to W(32) = 4: H(1/4, 3/4))
    hand = [_two_hot_entropy(d) for d in dist.reshape(-1).tolist()]
    assert hand[4] == 0.0
    assert hand[3] == pytest.approx(
        -(0.25 * math.log(0.25) + 0.75 * math.log(0.75)), rel=1e-9)
    assert torch.allclose(ent, torch.tensor(hand), atol=1e-5)
    # uniform logits: IoU * ln 33 per edge
    uni = fgl_loss(torch.zeros(2, 132), target, iou, avg_factor=2.0)
    assert uni.item() == pytest.approx(
        (4 * 0.8 + 4 * 0.5) * math.log(33) / 2, rel=1e-6)
    assert FGLLoss()(torch.zeros(2, 132), target, iou).item() == \
        pytest.approx(0.15 * (4 * 1.3) * math.log(33), rel=1e-6)
    empty = torch.zeros(0, 132, requires_grad=True)
    e_target = translate_gt(torch.zeros(0, 4), w)
    out = fgl_loss(empty, e_target, torch.zeros(0))
    assert out.item() == 0.0 and out.requires_grad


def test_ddf_worked_example():
    s = torch.zeros(1, 2, 132)
    t = torch.zeros(1, 2, 4, 33)
    t[..., 0] = 5.0
    t = t.reshape(1, 2, 132)
    mask = torch.tensor([[True, False]])
    weight = torch.tensor([[0.8, 0.5]])
    val = ddf_loss(s, t, weight, mask, temperature=5.0)
    assert val.item() == pytest.approx(0.44747, abs=1e-5)
    # the per-row KL of D-FINE's DDF (Peng et al., 2024)
    kl = F.kl_div(
        F.log_softmax(s[0, 0, :33] / 5, -1),
        F.softmax(t[0, 0, :33] / 5, -1),
        reduction='sum')
    assert kl.item() == pytest.approx(0.027537, abs=1e-6)
    # counts scaled by 8 / B cancel
    scaled = ddf_loss(s, t, weight, mask, 5.0, num_pos=4 * 8, num_neg=4 * 8)
    assert scaled.item() == pytest.approx(val.item(), rel=1e-6)
    assert ddf_loss(t.clone(), t, weight, mask).item() == 0.0
    assert DDFLoss()(s, t, weight, mask).item() == pytest.approx(
        1.5 * 0.44747, abs=1e-5)
    # paper reduction: sums instead of means (|M| = |U| = 4 rows)
    paper = ddf_loss(s, t, weight, mask, 5.0, reduction='paper')
    assert paper.item() == pytest.approx(4 * 0.44747, abs=1e-4)
    # no matched query: the U term alone
    only_u = ddf_loss(s, t, weight, torch.zeros(1, 2, dtype=torch.bool))
    assert only_u.item() == pytest.approx(0.65 * 0.68842, abs=1e-4)


def test_ddf_gradient_reaches_student_only():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 132, generator=g).requires_grad_(True)
    t = torch.randn(2, 3, 132, generator=g).requires_grad_(True)
    weight = torch.rand(2, 3, generator=g)
    mask = torch.zeros(2, 3, dtype=torch.bool)
    mask[0, 1] = True
    temp = 5.0
    ddf_loss(s, t, weight, mask, temp).backward()
    assert t.grad is None
    # d/ds of w T^2 KL(softmax(t / T) || softmax(s / T)) is
    # w T (softmax(s / T) - softmax(t / T)) per edge row; the code reduction
    # scales the 4 matched rows by sqrt(4) / (4 (sqrt(4) + sqrt(20))) and
    # the 20 others by sqrt(20) / (20 (sqrt(4) + sqrt(20)))
    p_s = (s.detach().reshape(2, 3, 4, 33) / temp).softmax(-1)
    p_t = (t.detach().reshape(2, 3, 4, 33) / temp).softmax(-1)
    norm = math.sqrt(4) + math.sqrt(20)
    scale = torch.full((2, 3), math.sqrt(20) / (20 * norm))
    scale[0, 1] = math.sqrt(4) / (4 * norm)
    expect = (scale * weight)[..., None, None] * temp * (p_s - p_t)
    assert torch.allclose(
        s.grad, expect.reshape(2, 3, 132), atol=1e-7, rtol=1e-4)


def _union_reference(matches):
    """The official ``_get_go_indices`` walk with a stable sort, for one
    image: (query, gt) pairs -> {query: gt}."""
    q = torch.cat([m[0] for m in matches])
    g = torch.cat([m[1] for m in matches])
    if q.numel() == 0:
        return {}
    pairs, cnt = torch.unique(
        torch.stack([q, g], 1), dim=0, return_counts=True)
    chosen = {}
    for qq, gg in pairs[torch.argsort(cnt, descending=True,
                                      stable=True)].tolist():
        chosen.setdefault(qq, gg)
    return chosen


def _assignment(pairs, num_queries):
    row = torch.full((num_queries, ), -1)
    row[pairs[0]] = pairs[1]
    return row


def test_union_set_example():
    t = torch.tensor
    matches = [
        (t([3, 7]), t([0, 1])),  # final
        (t([3, 8]), t([0, 1])),  # aux0
        (t([5, 8]), t([0, 1])),  # aux1
        (t([3, 8]), t([1, 1])),  # pre
        (t([3, 9]), t([0, 1])),  # enc
    ]
    expect = {3: 0, 8: 1, 7: 1, 5: 0, 9: 1}
    assert _union_reference(matches) == expect
    assign = torch.stack([_assignment(m, 12) for m in matches])[:, None]
    union = union_assignment(assign, 2)[0]
    assert {q: g for q, g in enumerate(union.tolist()) if g >= 0} == expect
    # nothing matched (no GT): nothing in the union
    empty = torch.full((3, 2, 5), -1)
    assert (union_assignment(empty, 0) == -1).all()


def test_union_matches_the_official_walk_on_random_matches():
    # ties in the counts are frequent with 3 GT and 5 outputs: the dense
    # arg-max must break them as the stable sort does (lowest GT)
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        num_q, num_gt = 10, 3
        matches = []
        for _ in range(5):  # one-to-one, as Hungarian matches are
            q = torch.randperm(num_q, generator=g)[:num_gt]
            matches.append((q, torch.randperm(num_gt, generator=g)))
        assign = torch.stack([_assignment(m, num_q) for m in matches])
        union = union_assignment(assign[:, None], num_gt)[0]
        got = {q: gt for q, gt in enumerate(union.tolist()) if gt >= 0}
        assert got == _union_reference(matches)


def test_integral_is_plain_for_non_antisymmetric_w():
    # the antisymmetric form is chosen by a tensor test, not a host branch:
    # any other W gets the plain expectation
    logits = torch.randn(3, 4 * 33)
    w = weighting_function(32, 0.5, 4.0)
    skew = w + 0.1
    prob = logits.reshape(3, 4, 33).softmax(-1)
    assert torch.allclose(
        distribution_integral(logits, skew), (prob * skew).sum(-1))
    assert torch.allclose(
        distribution_integral(logits, w), (prob * w).sum(-1), atol=1e-6)


def test_ddf_counts_as_tensors_and_empty_parts():
    s = torch.randn(2, 3, 132)
    t = torch.randn(2, 3, 132)
    weight = torch.rand(2, 3)
    mask = torch.zeros(2, 3, dtype=torch.bool)
    mask[0, 1] = True
    ref = ddf_loss(s, t, weight, mask, 5.0, num_pos=4.0, num_neg=20.0)
    as_tensors = ddf_loss(s, t, weight, mask, 5.0, torch.tensor(4.0),
                          torch.tensor(20.0))
    assert torch.equal(ref, as_tensors)
    # no counted row at all: 0, and a zero (not NaN) gradient
    s.requires_grad_(True)
    zero = ddf_loss(s, t, weight, mask, 5.0, num_pos=0.0, num_neg=0.0)
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(s.grad, torch.zeros_like(s))


def test_aligned_iou_matches_mmdet():
    from mmdet.structures.bbox import bbox_overlaps
    g = torch.Generator().manual_seed(0)
    a = torch.rand(50, 4, generator=g)
    b = torch.rand(50, 4, generator=g)
    a[:, 2:] += a[:, :2]
    b[:, 2:] += b[:, :2]
    a[:5, 2:] = a[:5, :2]  # empty boxes
    assert torch.equal(aligned_iou(a, b), bbox_overlaps(a, b, is_aligned=True))
