"""``go_lsd=False`` (FDR alone): every output's losses on its own match, as
mmdet's DETR heads compute them, FGL on each layer's own match, no DDF."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmkd.det import (aligned_iou, batch_gt, bbox2distance,
                      box_cxcywh_to_xyxy_clamped, distance2bbox,
                      distribution_integral, fgl_loss, translate_gt)
from ._dfine_utils import build, tiny_cfg
from .test_dino_fdr import _expected_keys, _inputs

pytest.importorskip('mmdet')


@pytest.fixture(scope='module')
def head():
    torch.manual_seed(0)
    return build(tiny_cfg(fdr=True, go_lsd=False)).bbox_head


def _synthetic(head, num_layers=3, b=2, q=12, h=96, w=128):
    """Decoder outputs of a 3-layer FDR decoder and 2 images' GT."""
    g = torch.Generator().manual_seed(0)
    n = head.reg_max + 1
    ref0 = torch.cat([
        0.2 + 0.6 * torch.rand(b, q, 2, generator=g),
        0.1 + 0.3 * torch.rand(b, q, 2, generator=g)
    ], -1)
    logits = 0.5 * torch.randn(num_layers, b, q, 4 * n, generator=g)
    boxes = distance2bbox(ref0, distribution_integral(logits, head.project),
                          head.reg_scale)
    assert (boxes[..., 2:] > 0).all()
    cls = torch.randn(num_layers, b, q, 3, generator=g)
    pre_cls = torch.randn(b, q, 3, generator=g)
    # positive widths: mmkd clamps them at 0 before IoU, mmdet does not
    pre_boxes = ref0 * (0.1 * torch.randn(b, q, 4, generator=g)).exp()
    enc_cls = torch.randn(b, q, 3, generator=g)
    enc_boxes = ref0 * (0.2 * torch.randn(b, q, 4, generator=g)).exp()
    metas = [dict(img_shape=(h, w), batch_input_shape=(h, w))] * b
    instances = []
    for num in (3, 2):
        xy = torch.rand(num, 2, generator=g) * torch.tensor([w, h]) * 0.6
        wh = (0.2 + 0.2 * torch.rand(num, 2, generator=g)) * torch.tensor(
            [w, h])
        instances.append(
            InstanceData(
                bboxes=torch.cat([xy, xy + wh], -1),
                labels=torch.randint(0, 3, (num, ), generator=g)))
    gt = batch_gt(instances, metas, boxes)
    return (cls, boxes, logits, pre_cls, pre_boxes, ref0, enc_cls,
            enc_boxes), gt, instances, metas


def test_losses_equal_mmdet_per_output_and_fgl_on_own_match(head):
    inputs, gt, instances, metas = _synthetic(head)
    cls, boxes, logits, pre_cls, pre_boxes, ref0, enc_cls, enc_boxes = inputs
    with torch.no_grad():
        losses = head.loss_by_feat_fdr(*inputs, gt, None)
    assert not any('ddf' in k for k in losses)
    num_gt = sum(len(i) for i in instances)
    outputs = [('d0.', cls[0], boxes[0]), ('d1.', cls[1], boxes[1]),
               ('', cls[2], boxes[2]), ('pre_', pre_cls, pre_boxes),
               ('enc_', enc_cls, enc_boxes)]
    for prefix, c, bx in outputs:
        # mmdet's own per-layer loss: its own Hungarian match, #GT normaliser
        expect = head.loss_by_feat_single(c, bx, instances, metas)
        for name, value in zip(('cls', 'bbox', 'iou'), expect):
            got = losses[f'{prefix}loss_{name}']
            assert torch.allclose(got, value, rtol=1e-5), (prefix, name)
    for lid, prefix in enumerate(('d0.', 'd1.', '')):
        # FGL of layer lid on the targets mmdet assigns to that layer
        *_, targets, weights, _, _ = head.get_targets(
            list(cls[lid]), list(boxes[lid]), instances, metas)
        gt_xyxy = torch.stack(targets)
        gt_xyxy = torch.cat([
            gt_xyxy[..., :2] - gt_xyxy[..., 2:] / 2,
            gt_xyxy[..., :2] + gt_xyxy[..., 2:] / 2
        ], -1)
        matched = torch.stack(weights)[..., 0] > 0
        assert int(matched.sum()) == num_gt
        iou = torch.where(
            matched,
            aligned_iou(box_cxcywh_to_xyxy_clamped(boxes[lid]), gt_xyxy), 0.0)
        expect = head.loss_fgl.loss_weight * fgl_loss(
            logits[lid].reshape(-1, logits.shape[-1]),
            translate_gt(
                bbox2distance(ref0, gt_xyxy, head.reg_scale), head.project),
            iou.reshape(-1), float(num_gt))
        assert torch.allclose(losses[f'{prefix}loss_fgl'], expect, rtol=1e-5)


def test_union_set_changes_the_box_losses(head):
    # the same inputs with GO-LSD on: L1 on the union set differs, so the
    # check above can tell the two modes apart
    inputs, gt, instances, metas = _synthetic(head)
    with torch.no_grad():
        own = head.loss_by_feat_fdr(*inputs, gt, None)
        head.go_lsd = True
        try:
            union = head.loss_by_feat_fdr(*inputs, gt, None)
        finally:
            head.go_lsd = False
    assert 'd0.loss_ddf' in union
    assert any(not torch.allclose(own[k], union[k])
               for k in ('d0.loss_bbox', 'loss_bbox', 'pre_loss_bbox'))


def test_training_step_keys_and_gradients():
    torch.manual_seed(0)
    m = build(tiny_cfg(fdr=True, go_lsd=False))
    m.train()
    losses = m.loss(*_inputs(m, [2, 1]))
    assert set(losses) == {k for k in _expected_keys(3) if 'ddf' not in k}
    assert all(torch.isfinite(v).all() for v in losses.values())
    sum(losses.values()).backward()
    head = m.bbox_head
    for branch in list(head.reg_branches[:3]) + [head.pre_reg_branch]:
        assert branch[-1].weight.grad.abs().sum() > 0
