"""DINO + FDR + GO-LSD: a training iteration, empty GT, gradients, predict."""
import copy
import math

import pytest
import torch

from ._dfine_utils import build, tiny_cfg

pytest.importorskip('mmdet')


def _inputs(model, num_items, seed=0):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    packed = demo_mm_inputs(
        batch_size=len(num_items),
        image_shapes=(3, 96, 128),
        num_items=num_items,
        num_classes=3)
    data = model.data_preprocessor(packed, True)
    return data['inputs'], data['data_samples']


def _expected_keys(num_layers):
    keys = set()
    for p in [f'd{i}.' for i in range(num_layers - 1)] + ['']:
        for part in ('', 'dn_'):
            keys |= {
                f'{p}{part}loss_{k}'
                for k in ('cls', 'bbox', 'iou', 'fgl')
            }
    for i in range(num_layers - 1):
        keys |= {f'd{i}.loss_ddf', f'd{i}.dn_loss_ddf'}
    for p in ('pre_', 'dn_pre_', 'enc_'):
        keys |= {f'{p}loss_{k}' for k in ('cls', 'bbox', 'iou')}
    return keys


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return build(tiny_cfg(fdr=True))


@pytest.fixture(scope='module')
def refined(model):
    """A copy whose FDR branches are not zero: every layer's distributions
    differ (in the zero-initialised model all logits are 0, so DDF is 0 and
    every layer's box is the pre box)."""
    m = copy.deepcopy(model)
    g = torch.Generator().manual_seed(1)
    head = m.bbox_head
    with torch.no_grad():
        for branch in head.reg_branches[:head.num_fdr_layers]:
            last = branch[-1]
            last.weight.copy_(0.1 *
                              torch.randn(last.weight.shape, generator=g))
            last.bias.copy_(torch.randn(last.bias.shape, generator=g))
    return m


def _check_step(model, num_items):
    model.train()
    model.zero_grad()
    inputs, samples = _inputs(model, num_items)
    losses = model.loss(inputs, samples)
    assert set(losses) == _expected_keys(3)
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k
    total = sum(v.sum() for v in losses.values())
    total.backward()
    missing = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert missing == []
    return losses


class _Spy:
    """Records the head's inputs (``bbox_head.loss`` keywords) and the
    union set the head built, to recompute the losses from them."""

    def __init__(self, model, monkeypatch):
        import mmkd.det.fdr_head as fdr_head
        head = model.bbox_head
        loss, union = head.loss, fdr_head.union_assignment

        def spy_loss(**kwargs):
            self.inputs = kwargs
            return loss(**kwargs)

        def spy_union(*args):
            self.union = union(*args)
            return self.union

        monkeypatch.setattr(head, 'loss', spy_loss)
        monkeypatch.setattr(fdr_head, 'union_assignment', spy_union)


def _xyxy(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    w, h = w.clamp(min=0), h.clamp(min=0)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def _iou(a, b):
    wh = (torch.min(a[..., 2:], b[..., 2:]) -
          torch.max(a[..., :2], b[..., :2])).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area = (a[..., 2:] - a[..., :2]).prod(-1) + (b[..., 2:] -
                                                 b[..., :2]).prod(-1)
    return inter / (area - inter).clamp(min=1e-6)


@torch.no_grad()
def _expected_matching_losses(head, spy):
    """The matching part's FGL (every layer), DDF (every layer but the
    last) and ``pre_loss_bbox``, recomputed in plain torch from the decoder
    outputs and the union set the head used (D-FINE, Peng et al., 2024;
    the DDF reduction of its official code: per-part means balanced by the
    square roots of the edge-row counts)."""
    from mmkd.det.fdr_ops import (bbox2distance, translate_gt,
                                  weighting_function)
    kw = spy.inputs
    nd = (kw['dn_meta'] or {}).get('num_denoising_queries', 0)
    logits = kw['fdr_logits'][:, :, nd:].float()
    boxes = kw['fdr_boxes'][:, :, nd:].float()
    num_layers, b, q, _ = logits.shape
    union = spy.union
    mask = union >= 0
    num_union = max(int(mask.sum()), 1)
    # GT boxes (x1, y1, x2, y2) / image size, per query through the union
    gt = torch.zeros(b, q, 4)
    for i, sample in enumerate(kw['batch_data_samples']):
        h, w = sample.metainfo['img_shape'][:2]
        norm = sample.gt_instances.bboxes / torch.tensor([w, h, w, h])
        for j in range(q):
            if union[i, j] >= 0:
                gt[i, j] = norm[union[i, j]]
    ious = [
        torch.where(mask, _iou(_xyxy(boxes[lid]), gt), 0.0)
        for lid in range(num_layers)
    ]
    expect = {}
    # FGL: two-hot targets of the offsets from ref0 to the GT
    left, right, wl, wr = translate_gt(
        bbox2distance(kw['ref0'][:, nd:].float(), gt, 4.0),
        weighting_function(32, 0.5, 4.0))
    prefixes = [f'd{i}.' for i in range(num_layers - 1)] + ['']
    for lid, p in enumerate(prefixes):
        logp = logits[lid].reshape(-1, 33).log_softmax(-1)
        rows = torch.arange(logp.shape[0])
        ce = -(wl * logp[rows, left] + wr * logp[rows, right])
        weight = ious[lid].reshape(-1).repeat_interleave(4)
        expect[f'{p}loss_fgl'] = 0.15 * (weight * ce).sum() / num_union
    # DDF: T = 5, the last layer the teacher; weight IoU on the union set,
    # the last layer's top class probability elsewhere
    temp = 5.0
    conf = head.cls_branches[-1](kw['hidden_states'][-1][:, nd:]).sigmoid()
    conf = conf.amax(-1)
    p_t = (logits[-1].reshape(b, q, 4, 33) / temp).softmax(-1)
    n_m, n_u = 4 * int(mask.sum()), 4 * int((~mask).sum())
    k_m, k_u = math.sqrt(n_m), math.sqrt(n_u)
    for lid in range(num_layers - 1):
        logp_s = (logits[lid].reshape(b, q, 4, 33) / temp).log_softmax(-1)
        kl = (p_t * (p_t.log() - logp_s)).sum(-1) * temp**2  # (b, q, 4)
        loss = torch.where(mask, ious[lid], conf)[..., None] * kl
        mean_m = loss[mask].sum() / max(n_m, 1)
        mean_u = loss[~mask].sum() / max(n_u, 1)
        expect[f'd{lid}.loss_ddf'] = 1.5 * (mean_m * k_m + mean_u * k_u) / (
            k_m + k_u)
    # L1 (weight 5) of the plain first-layer boxes on the union set
    pre = kw['pre_boxes'][:, nd:].float()
    gt_cxcywh = torch.cat(
        [(gt[..., :2] + gt[..., 2:]) / 2, gt[..., 2:] - gt[..., :2]], -1)
    expect['pre_loss_bbox'] = 5.0 * (
        (pre - gt_cxcywh).abs().sum(-1) * mask).sum() / num_union
    return expect


def _assert_close(losses, expect):
    for k, v in expect.items():
        assert losses[k].item() == pytest.approx(
            v.item(), rel=1e-5, abs=1e-7), k


def test_train_iteration(refined, monkeypatch):
    spy = _Spy(refined, monkeypatch)
    losses = _check_step(refined, [3, 5])
    assert bool((spy.union >= 0).any())
    expect = _expected_matching_losses(refined.bbox_head, spy)
    # the layers differ, so DDF is not its student == teacher 0
    assert all(expect[f'd{i}.loss_ddf'] > 1e-3 for i in range(2))
    _assert_close(losses, expect)


def test_empty_gt(model, refined, monkeypatch):
    # one image without boxes, then a batch without any box: same keys,
    # every parameter in the graph (DDP without find_unused_parameters)
    _check_step(model, [0, 4])
    spy = _Spy(refined, monkeypatch)
    losses = _check_step(refined, [0, 0])
    for k in ('loss_fgl', 'd0.loss_fgl', 'loss_bbox', 'dn_loss_fgl'):
        assert losses[k].item() == 0.0
    # no union set: DDF is the confidence-weighted mean KL of all rows
    assert bool((spy.union == -1).all())
    expect = _expected_matching_losses(refined.bbox_head, spy)
    assert expect['d0.loss_ddf'] > 1e-3
    _assert_close(losses, expect)


def test_zero_init_every_layer_is_pre_box(model):
    model.eval()
    inputs, samples = _inputs(model, [2, 2])
    fresh = build(tiny_cfg(fdr=True))
    fresh.eval()
    with torch.no_grad():
        feats = fresh.extract_feat(inputs)
        out = fresh.forward_transformer(feats, samples)
    for lid in range(out['fdr_boxes'].shape[0]):
        assert torch.allclose(out['fdr_boxes'][lid], out['ref0'], atol=1e-6)
    assert torch.equal(out['fdr_logits'], torch.zeros_like(out['fdr_logits']))


def test_last_layer_gradient_reaches_first_head_not_pre(refined):
    from mmkd.det.fdr_ops import weighting_function
    refined.train()
    refined.zero_grad()
    inputs, samples = _inputs(refined, [2, 3])
    feats = refined.extract_feat(inputs)
    out = refined.forward_transformer(feats, samples)
    out['fdr_boxes'][-1].sum().backward()
    head = refined.bbox_head
    assert all(p.grad is None for p in head.pre_reg_branch.parameters())
    # The last layer's logits are the first branch's output plus the later
    # branches' (residual, not detached), so the gradient reaches the first
    # branch's last Linear through them alone. Sum of (cx, cy, w, h) of a
    # box decoded around ref0 = (cx, cy, w, h): d/d(l, t, r, b) =
    # (w, h, 3w, 3h) / (2R); d(offset)/d(logit n) = p(n) (W(n) - offset).
    with torch.no_grad():
        logits = out['fdr_logits'][-1]
        b, q = logits.shape[:2]
        w = weighting_function(32, 0.5, 4.0)
        prob = logits.reshape(b, q, 4, 33).softmax(-1)
        offset = (prob * w).sum(-1, keepdim=True)
        size = out['ref0'][..., 2:].repeat(1, 1, 2)  # (w, h, w, h)
        dsum = size * torch.tensor([1.0, 1.0, 3.0, 3.0]) / (2 * 4.0)
        g = (dsum[..., None] * prob * (w - offset)).reshape(b * q, 132)
        x = head.reg_branches[0][:-1](out['hidden_states'][0])
        x = x.reshape(b * q, -1)
    last = head.reg_branches[0][-1]
    assert torch.allclose(last.bias.grad, g.sum(0), rtol=1e-4, atol=1e-6)
    assert torch.allclose(last.weight.grad, g.T @ x, rtol=1e-4, atol=1e-6)


def test_predict(refined):
    refined.eval()
    inputs, samples = _inputs(refined, [1, 2])
    head = refined.bbox_head
    with torch.no_grad():
        results = refined.predict(inputs, samples)
        out = refined.forward_transformer(
            refined.extract_feat(inputs), samples)
        scores = head.cls_branches[-1](out['hidden_states'][-1]).sigmoid()
    assert len(results) == 2
    # recomputed: top 12 of the last layer's class probabilities, the last
    # layer's FDR boxes (w, h clamped at 0) in pixels, clipped to the
    # image, divided by the scale factor
    for i, res in enumerate(results):
        top, index = scores[i].flatten().topk(12)
        h, w = res.metainfo['img_shape'][:2]
        sx, sy = res.metainfo['scale_factor']
        box = _xyxy(out['fdr_boxes'][-1, i][index // 3])
        box = box * torch.tensor([w, h, w, h])
        box = torch.min(box.clamp(min=0), torch.tensor([w, h, w, h]))
        box = box / torch.tensor([sx, sy, sx, sy])
        pred = res.pred_instances
        assert torch.equal(pred.labels, index % 3)
        assert torch.allclose(pred.scores, top, atol=1e-6)
        assert torch.allclose(pred.bboxes, box.float(), atol=1e-4)


@pytest.mark.parametrize('kwargs', [
    dict(cls_loss='vfl'),
    dict(use_lqe=True, share_fdr_head=True, dn_pre_loss=False),
])
def test_switches(kwargs):
    torch.manual_seed(0)
    m = build(tiny_cfg(fdr=True, dec_layers=2, **kwargs))
    m.train()
    inputs, samples = _inputs(m, [2, 1])
    losses = m.loss(inputs, samples)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert ('dn_pre_loss_cls' in losses) == kwargs.get('dn_pre_loss', True)
    sum(v.sum() for v in losses.values()).backward()


def test_bad_switch_raises():
    with pytest.raises(ValueError, match="cls_loss should be 'host' or"):
        build(tiny_cfg(fdr=True, cls_loss='focal'))
    with pytest.raises(ValueError, match="cls_loss='vfl' for D-FINE's VFL"):
        build(
            tiny_cfg(
                fdr=True,
                loss_cls=dict(type='VarifocalLoss', use_sigmoid=True)))
