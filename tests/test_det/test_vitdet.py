"""ViTDet's simple pyramid, LN2d and the RPN head's distillation probe."""
import torch
from mmengine.registry import DefaultScope

from mmkd.det import LN2d, SimpleFPN
from mmkd.registry import MODELS


def test_ln2d_is_a_layernorm_over_channels():
    x = torch.randn(2, 6, 3, 5)
    norm = LN2d(6, eps=1e-6)
    torch.nn.init.normal_(norm.weight)
    want = torch.nn.functional.layer_norm(
        x.permute(0, 2, 3, 1), (6, ), norm.weight, norm.bias,
        1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm(x), want)


def test_simple_fpn_strides_and_widths():
    fpn = SimpleFPN(backbone_channel=32, out_channels=16, num_outs=5)
    outs = fpn((torch.randn(2, 32, 8, 8), ))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32), (2, 16, 16, 16),
                                              (2, 16, 8, 8), (2, 16, 4, 4),
                                              (2, 16, 2, 2)]
    torch.testing.assert_close(outs[4], outs[3][:, :, ::2, ::2])
    assert not any(
        conv.conv.bias is not None
        for conv in list(fpn.lateral_convs) + list(fpn.fpn_convs))


def test_rpn_probe_records_features_and_objectness():
    with DefaultScope.overwrite_default_scope('mmdet'):
        head = MODELS.build(
            dict(
                type='mmkd.FRSRPNHead',
                in_channels=8,
                feat_channels=8,
                num_convs=2,
                anchor_generator=dict(
                    type='AnchorGenerator',
                    scales=[8],
                    ratios=[0.5, 1.0, 2.0],
                    strides=[4, 8])))
    plain = {k for k in head.state_dict()}
    assert not any('distill_probe' in k for k in plain)
    seen = []
    head.distill_probe.register_forward_hook(
        lambda m, a, out: seen.append(out))
    feats = (torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4))
    scores, _ = head(feats)
    (got_feats, got_obj), = seen
    assert got_feats[0] is feats[0] and got_obj[1] is scores[1]
    assert got_obj[0].shape == (1, 3, 8, 8)
