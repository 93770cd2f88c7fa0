"""Deformable DETR (box refinement, one- and two-stage) + FDR + GO-LSD."""

import pytest
import torch
from mmengine.config import Config

from ._dfine_utils import CONFIG_DIR, build

pytest.importorskip('mmdet')


def _tiny(two_stage: bool) -> Config:
    name = ('dfine_deformable-detr-refine-twostage_r50_16xb2-50e_coco.py'
            if two_stage else
            'dfine_deformable-detr-refine_r50_16xb2-50e_coco.py')
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    m = cfg.model
    m.backbone.depth = 18
    m.backbone.init_cfg = None
    m.neck.in_channels = [128, 256, 512]
    m.num_queries = 10
    m.encoder.num_layers = 1
    m.decoder.num_layers = 2
    m.encoder.layer_cfg.ffn_cfg.feedforward_channels = 64
    m.decoder.layer_cfg.ffn_cfg.feedforward_channels = 64
    m.bbox_head.num_classes = 3
    m.test_cfg.max_per_img = 10
    return cfg


def _batch(model, num_items):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=len(num_items),
        image_shapes=(3, 96, 128),
        num_items=num_items,
        num_classes=3)
    data = model.data_preprocessor(packed, True)
    return data['inputs'], data['data_samples']


@pytest.mark.parametrize('two_stage', [False, True])
def test_deformable_train_empty_predict(two_stage):
    torch.manual_seed(0)
    model = build(_tiny(two_stage))
    model.train()
    keys = None
    for num_items in ([3, 2], [0, 2], [0, 0]):
        model.zero_grad()
        losses = model.loss(*_batch(model, num_items))
        keys = keys or set(losses)
        assert set(losses) == keys
        assert {'loss_fgl', 'd0.loss_fgl', 'd0.loss_ddf', 'pre_loss_bbox'
                } <= keys
        assert ('enc_loss_cls' in keys) == two_stage
        assert all(torch.isfinite(v).all() for v in losses.values())
        sum(v.sum() for v in losses.values()).backward()
        missing = [
            n for n, p in model.named_parameters()
            if p.requires_grad and p.grad is None
        ]
        assert missing == []
    model.eval()
    with torch.no_grad():
        inputs, samples = _batch(model, [1, 1])
        out = model.forward_transformer(model.extract_feat(inputs), samples)
        results = model.predict(inputs, samples)
    # zero-initialised heads: every layer's box is the pre box
    assert torch.allclose(out['fdr_boxes'][-1], out['ref0'], atol=1e-6)
    assert len(results) == 2 and results[0].pred_instances.bboxes.shape[1] == 4


def test_requires_box_refine():
    cfg = _tiny(False)
    cfg.model.with_box_refine = False
    with pytest.raises(ValueError, match='with_box_refine should be True'):
        build(cfg)
