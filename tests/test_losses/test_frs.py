"""The objectness-weighted FPN + RPN distillation of G2SD's detection stage
(spec 2.6), against its formulas written out."""
import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import FRSLoss, frs_losses


def levels(seed, shapes=((8, 8), (4, 4)), c=6, a=3, n=2):
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(n, c, h, w, generator=g) for h, w in shapes]
    obj = [torch.randn(n, a, h, w, generator=g) * 3 for h, w in shapes]
    return feats, obj


def test_terms_equal_the_spec_formulas():
    s_feats, s_obj = levels(0)
    t_feats, t_obj = levels(1)
    loss_feat, loss_cls = frs_losses(s_feats, t_feats, s_obj, t_obj)
    want_feat = want_cls = 0.
    for s, t, so, to in zip(s_feats, t_feats, s_obj, t_obj):
        m = torch.sigmoid(to).max(1).values  # (N, H, W)
        want_feat += ((t - s)**2 * m[:, None]).sum() / m.sum()
        bce = -(
            torch.sigmoid(to) * F.logsigmoid(so) +
            (1 - torch.sigmoid(to)) * F.logsigmoid(-so))
        want_cls += (bce * m[:, None]).sum() / m.sum()
    torch.testing.assert_close(loss_feat, want_feat)
    torch.testing.assert_close(loss_cls, want_cls)


def test_weights_adapters_and_gradients():
    loss = FRSLoss(channels=6, num_levels=2, feat_weight=0.001, cls_weight=0.1)
    s_feats, s_obj = levels(0)
    t_feats, t_obj = levels(1)
    s_feats = [f.requires_grad_() for f in s_feats]
    s_obj = [o.requires_grad_() for o in s_obj]
    t_feats = [f.requires_grad_() for f in t_feats]
    out = loss((s_feats, s_obj), (t_feats, t_obj))
    adapted = [a(s) for a, s in zip(loss.adapters, s_feats)]
    feat, cls = frs_losses(adapted, t_feats, s_obj, t_obj)
    torch.testing.assert_close(out['loss_feat'], 0.001 * feat)
    torch.testing.assert_close(out['loss_cls'], 0.1 * cls)
    sum(out.values()).backward()
    assert all(f.grad is not None for f in s_feats + s_obj)
    assert all(a.weight.grad is not None for a in loss.adapters)
    assert all(f.grad is None for f in t_feats)
    # identical student and teacher objectness: only the entropy is left
    same = frs_losses(t_feats, t_feats, t_obj, t_obj)
    assert same[0].item() == 0


def test_level_count_is_checked():
    with pytest.raises(ValueError, match='set num_levels'):
        FRSLoss(channels=6, num_levels=5)(levels(0), levels(1))
