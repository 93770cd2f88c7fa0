"""DINO + FDR + GO-LSD: a training iteration, empty GT, gradients, predict."""
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
            keys |= {f'{p}{part}loss_{k}' for k in ('cls', 'bbox', 'iou',
                                                    'fgl')}
    for i in range(num_layers - 1):
        keys |= {f'd{i}.loss_ddf', f'd{i}.dn_loss_ddf'}
    for p in ('pre_', 'dn_pre_', 'enc_'):
        keys |= {f'{p}loss_{k}' for k in ('cls', 'bbox', 'iou')}
    return keys


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return build(tiny_cfg(fdr=True))


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


def test_train_iteration(model):
    losses = _check_step(model, [3, 5])
    assert losses['loss_fgl'].item() > 0
    assert losses['d0.loss_ddf'].item() >= 0
    assert losses['pre_loss_bbox'].item() > 0


def test_empty_gt(model):
    # one image without boxes, then a batch without any box: same keys,
    # every parameter in the graph (DDP without find_unused_parameters)
    _check_step(model, [0, 4])
    losses = _check_step(model, [0, 0])
    for k in ('loss_fgl', 'd0.loss_fgl', 'loss_bbox', 'dn_loss_fgl'):
        assert losses[k].item() == 0.0
    assert losses['d0.loss_ddf'].item() >= 0.0


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


def test_last_layer_gradient_reaches_first_head_not_pre(model):
    model.train()
    model.zero_grad()
    inputs, samples = _inputs(model, [2, 3])
    feats = model.extract_feat(inputs)
    out = model.forward_transformer(feats, samples)
    out['fdr_boxes'][-1].sum().backward()
    head = model.bbox_head
    assert head.reg_branches[0][-1].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in head.pre_reg_branch.parameters())


def test_predict(model):
    model.eval()
    inputs, samples = _inputs(model, [1, 2])
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    boxes = results[0].pred_instances.bboxes
    assert boxes.shape[-1] == 4 and boxes.shape[0] > 0
    assert bool((boxes[:, 2] >= boxes[:, 0]).all())


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
