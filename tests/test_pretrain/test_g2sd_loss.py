"""G2SD's generic-distillation loss against the spec's hand-checked values
(shared/specs/g2sd.md section 5, items 1-6)."""
import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import G2SDFeatLoss, g2sd_feature_loss, token_weights


def layer_norm(hidden):
    return F.layer_norm(hidden, hidden.shape[-1:], eps=1e-6)


@pytest.mark.parametrize('c, expected', [(0., 0.), (0.5, 0.0625), (1., 0.25),
                                         (3., 2.0), (-3., 2.0)])
def test_constant_offset_from_the_normalised_target(c, expected):
    hidden = torch.randn(2, 7, 16) * 5 + 3
    loss = g2sd_feature_loss(layer_norm(hidden) + c, hidden)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_zero_prediction_worked_rows():
    # rows [1, 2, 3, 4] and [0, 0, 0, 8] (D = 4): every |LN| < 2 -> 0.25
    rows = torch.tensor([[[1., 2., 3., 4.], [0., 0., 0., 8.]]])
    loss = g2sd_feature_loss(torch.zeros_like(rows), rows)
    assert loss.item() == pytest.approx(0.25 * 1 / (1 + 1e-6), abs=1e-6)
    # [0]*7 + [16] (D = 8): LN = (-0.378 x 7, 2.6458) -> 0.23697
    row = torch.tensor([[[0.] * 7 + [16.]]])
    loss = g2sd_feature_loss(torch.zeros_like(row), row)
    assert loss.item() == pytest.approx(0.23697, abs=1e-5)


def test_standard_normal_target_expectation():
    # E over N(0,1): 0.1846 (|t| < 2 part) + 0.0625 (tails) = 0.2471, the
    # plateau of a random-decoder teacher (G2SD issue #7)
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(64, 197, 512, generator=g)
    loss = g2sd_feature_loss(torch.zeros_like(hidden), hidden)
    assert loss.item() == pytest.approx(0.2471, abs=2e-3)


def test_invariant_to_per_token_affine_changes_of_the_teacher():
    hidden = torch.randn(3, 5, 32)
    pred = torch.randn(3, 5, 32)
    a = torch.rand(3, 5, 1) * 4 + 0.5
    b = torch.randn(3, 5, 1) * 10
    torch.testing.assert_close(
        g2sd_feature_loss(pred, a * hidden + b),
        g2sd_feature_loss(pred, hidden),
        rtol=1e-5,
        atol=1e-6)


def test_gradient_is_clamped_difference_over_numel_and_not_the_teachers():
    hidden = (torch.randn(2, 4, 8) * 3).requires_grad_()
    pred = (torch.randn(2, 4, 8) * 3).requires_grad_()
    g2sd_feature_loss(pred, hidden).backward()
    target = layer_norm(hidden.detach())
    expected = ((pred.detach() - target) / 2.0).clamp(-1, 1) / pred.numel()
    torch.testing.assert_close(pred.grad, expected)
    assert hidden.grad is None


def test_mean_reduction_and_token_order():
    hidden = torch.randn(2, 6, 8)
    pred = torch.randn(2, 6, 8)
    one = g2sd_feature_loss(pred, hidden)
    # independent of B: the batch repeated gives the same mean
    torch.testing.assert_close(
        g2sd_feature_loss(pred.repeat(3, 1, 1), hidden.repeat(3, 1, 1)), one)
    perm = torch.randperm(6)
    torch.testing.assert_close(
        g2sd_feature_loss(pred[:, perm], hidden[:, perm]), one)
    assert not torch.allclose(g2sd_feature_loss(pred[:, perm], hidden), one)


def test_token_selection_equals_the_official_masked_only_loss():
    """``tokens='masked'`` is the official ``supervise_all=False``: both
    tensors reduced to ``x[:, 1:][mask.bool()]``, then a plain mean."""
    mask = torch.zeros(2, 8)
    mask[0, [1, 4, 5]] = 1
    mask[1, [0, 2, 3, 7]] = 1
    hidden = torch.randn(2, 9, 16) * 2
    pred = torch.randn(2, 9, 16)
    official = F.smooth_l1_loss(
        pred[:, 1:][mask.bool()],
        layer_norm(hidden[:, 1:][mask.bool()]),
        beta=2.0)
    loss = G2SDFeatLoss(tokens='masked')(pred, hidden, mask)
    torch.testing.assert_close(loss, official)
    visible = G2SDFeatLoss(tokens='visible')(pred, hidden, mask)
    patches = G2SDFeatLoss(tokens='patches')(pred, hidden, mask)
    n_masked, n_visible = mask.sum(), (1 - mask).sum()
    torch.testing.assert_close(patches,
                               (loss * n_masked + visible * n_visible) / 16)
    weights = token_weights(mask, 'visible')
    assert weights.shape == (2, 9) and weights[:, 0].eq(0).all()


def test_half_precision_inputs_are_computed_in_float32():
    hidden = torch.randn(2, 5, 8) * 100
    pred = layer_norm(hidden) + 1.0
    loss = g2sd_feature_loss(pred.half(), hidden.half())
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(0.25, abs=1e-3)


def test_wrong_arguments_are_explained():
    with pytest.raises(ValueError, match='tokens should be one of'):
        G2SDFeatLoss(tokens='cls')
    with pytest.raises(ValueError, match='needs the MAE mask'):
        G2SDFeatLoss(tokens='masked')(torch.zeros(1, 2, 4),
                                      torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r'teacher decoder width \(512\)'):
        g2sd_feature_loss(torch.zeros(1, 2, 256), torch.zeros(1, 2, 512))
    with pytest.raises(ValueError, match='beta should be positive'):
        G2SDFeatLoss(beta=0)
