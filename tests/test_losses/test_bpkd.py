import itertools

import pytest
import torch
import torch.nn.functional as F

from mmkd.losses import BPKDLoss, bpkd_edge_loss, channel_wise_divergence
from mmkd.ops import dense_edge_band
from mmkd.registry import MODELS


def _seeded_example():
    torch.manual_seed(0)
    labels = torch.zeros(2, 64, 64, dtype=torch.long)
    labels[:, :, 32:] = 1
    labels[:, 40:, :] = 2
    labels[0, :5, :5] = 255
    s = torch.randn(2, 4, 8, 8)
    t = torch.randn(2, 4, 8, 8)
    return s, t, labels


def _reference(s,
               t,
               labels,
               kernel=7,
               alpha=2.0,
               tau_e=1.0,
               tau_b=1.0,
               norm='global_count',
               **band_kwargs):
    """The BPKD losses (Fig. 3 of arXiv 2306.08075, with the readings of
    docs/methods/bpkd.md), written independently of mmkd.losses."""
    m = dense_edge_band(labels, s.shape[1], s.shape[-2:], kernel,
                        **band_kwargs)
    t = t.detach()
    ls = F.log_softmax(s * m / tau_e, 1)
    lt = F.log_softmax(t * m / tau_e, 1)
    phi = (lt.exp() * (lt - ls)).sum(1, keepdim=True) * tau_e**2
    per_cls = alpha * (phi.expand_as(m) * m).sum((2, 3))
    if norm == 'per_class_count':
        le = (per_cls / (m > 0).sum((2, 3)).clamp_min(1)).sum(1).mean()
    elif norm == 'global_count':
        le = per_cls.sum() / (m > 0).sum().clamp_min(1)
    else:
        le = per_cls.sum() / m.sum().clamp_min(1e-6)
    n, c = s.shape[:2]
    sb, tb = s * (1 - m), t * (1 - m)
    lsb = F.log_softmax(sb.reshape(n * c, -1) / tau_b, 1)
    ltb = F.log_softmax(tb.reshape(n * c, -1) / tau_b, 1)
    lb = (ltb.exp() * (ltb - lsb)).sum() * tau_b**2 / (n * c)
    return le, lb


def test_cwd_hand_value():
    s = torch.zeros(1, 1, 1, 2)
    t = torch.tensor([[[[1.0, 0.0]]]])
    assert channel_wise_divergence(s, t).item() == pytest.approx(
        0.110944, abs=1e-6)


@pytest.mark.parametrize('mask,values', [
    (1.0,
     dict(
         per_class_count=0.443776, global_count=0.221888,
         global_mass=0.221888)),
    (0.5,
     dict(
         per_class_count=0.060600, global_count=0.030300,
         global_mass=0.060600)),
])
def test_edge_hand_values(mask, values):
    s = torch.zeros(1, 2, 1, 1)
    t = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    m = torch.full((1, 2, 1, 1), mask)
    for norm, value in values.items():
        got = bpkd_edge_loss(s, t, m, alpha=2.0, edge_norm=norm)
        assert got.item() == pytest.approx(value, abs=1e-6), norm


def test_seeded_example():
    s, t, labels = _seeded_example()
    # the spec's hand values are per (sample, class); the default is global
    loss = BPKDLoss(edge_norm='per_class_count')
    m = loss.edge_mask(labels, s)
    assert m.sum().item() == pytest.approx(39.6094, abs=1e-4)
    out = loss(s, t, labels)
    le, lb = out['loss_edge'] / 50, out['loss_body'] / 20
    assert le.item() == pytest.approx(0.139119, abs=1e-6)
    assert lb.item() == pytest.approx(1.098853, abs=1e-6)
    total = out['loss_edge'] + out['loss_body']
    assert total.item() == pytest.approx(28.933029, abs=1e-5)
    for norm, value in (('global_count', 0.046506), ('global_mass', 0.123281)):
        got = BPKDLoss(edge_weight=1.0, edge_norm=norm)(s, t, labels)
        assert got['loss_edge'].item() == pytest.approx(value, abs=1e-6)
    default = BPKDLoss(edge_weight=1.0)(s, t, labels)['loss_edge']
    assert default.item() == pytest.approx(0.046506, abs=1e-6)


def _random_case(seed, n=2, c=5, size=(48, 40), out=(6, 5)):
    g = torch.Generator().manual_seed(seed)
    small = torch.randint(
        0, c, (n, 1, size[0] // 8, size[1] // 8), generator=g).float()
    labels = F.interpolate(small, size=size)[:, 0].long()
    labels[torch.rand(n, *size, generator=g) < 0.05] = 255
    labels[:, :, -4:] = 255  # padding
    s = torch.randn(n, c, *out, generator=g)
    t = torch.randn(n, c, *out, generator=g)
    return s, t, labels


@pytest.mark.parametrize(
    'norm,zero_ignore,erode,tau_e,tau_b',
    list(
        itertools.product(['per_class_count', 'global_count', 'global_mass'],
                          [True, False], [False, True], [1.0], [1.0])) +
    [('per_class_count', True, False, 4.0, 4.0)])
def test_matches_reference(norm, zero_ignore, erode, tau_e, tau_b):
    s, t, labels = _random_case(3)
    kw = dict(zero_ignore_pixels=zero_ignore, erode_valid_region=erode)
    le, lb = _reference(
        s, t, labels, norm=norm, tau_e=tau_e, tau_b=tau_b, **kw)
    out = BPKDLoss(
        edge_weight=1.0,
        body_weight=1.0,
        edge_norm=norm,
        tau_edge=tau_e,
        tau_body=tau_b,
        **kw)(s, t, labels)
    torch.testing.assert_close(out['loss_edge'], le, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out['loss_body'], lb, rtol=1e-5, atol=1e-6)


def test_per_class_alpha_and_agnostic():
    s, t, labels = _random_case(4)
    alpha = [1.0, 2.0, 0.5, 3.0, 0.0]
    le, _ = _reference(s, t, labels, alpha=torch.tensor(alpha))
    out = BPKDLoss(edge_weight=1.0, alpha=alpha)(s, t, labels)
    torch.testing.assert_close(out['loss_edge'], le)
    le, lb = _reference(s, t, labels, class_agnostic=True)
    out = BPKDLoss(1.0, 1.0, class_agnostic_band=True)(s, t, labels)
    torch.testing.assert_close(out['loss_edge'], le)
    torch.testing.assert_close(out['loss_body'], lb)


def test_per_class_alpha_is_a_buffer_that_moves(monkeypatch):
    # The per-class alpha must follow .to() with the module and reach the
    # loss as that same tensor every step (no per-step host-to-device copy),
    # and stay out of checkpoints (older Distiller checkpoints lack it).
    import mmkd.losses.bpkd as bpkd
    seen = []
    edge = bpkd.bpkd_edge_loss

    def spy(*args, **kwargs):
        seen.append(args[3])
        return edge(*args, **kwargs)

    monkeypatch.setattr(bpkd, 'bpkd_edge_loss', spy)
    s, t, labels = _random_case(4)
    alpha = [1.0, 2.0, 0.5, 3.0, 0.0]
    loss = BPKDLoss(edge_weight=1.0, alpha=alpha).to(torch.float64)
    for _ in range(2):
        loss(s, t, labels)
    assert len(seen) == 2 and seen[0] is seen[1]
    assert any(seen[0] is b for b in loss.buffers())
    assert seen[0].dtype == torch.float64
    assert not any('alpha' in k for k in loss.state_dict())
    le, _ = _reference(s, t, labels, alpha=torch.tensor(alpha))
    torch.testing.assert_close(loss(s, t, labels)['loss_edge'], le)


def test_body_exclude_edges():
    s, t, labels = _random_case(5)
    loss = BPKDLoss(body_weight=1.0, body_exclude_edges=True)
    m = loss.edge_mask(labels, s)
    fill = m > 0
    expected = channel_wise_divergence(
        s.masked_fill(fill, -1e4), t.masked_fill(fill, -1e4))
    torch.testing.assert_close(loss(s, t, labels)['loss_body'], expected)


def test_identity_is_zero():
    s, _, labels = _random_case(6)
    out = BPKDLoss()(s, s.clone(), labels)
    assert out['loss_edge'].abs().item() < 1e-6
    assert out['loss_body'].abs().item() < 1e-6


@pytest.mark.parametrize('fill', [2, 255])
def test_single_class_crop(fill):
    s, t, _ = _random_case(7)
    labels = torch.full((2, 48, 40), fill, dtype=torch.long)
    s.requires_grad_(True)
    out = BPKDLoss(edge_weight=1.0, body_weight=1.0)(s, t, labels)
    assert out['loss_edge'].item() == 0
    assert out['loss_edge'].requires_grad  # key kept with a graph (DDP)
    torch.testing.assert_close(out['loss_body'], channel_wise_divergence(s, t))


def test_gradients_reach_student_only():
    s, t, labels = _random_case(8)
    s.requires_grad_(True)
    t.requires_grad_(True)
    out = BPKDLoss()(s, t, labels)
    sum(out.values()).backward()
    # the gradient of the independent reference, weights 50 and 20
    s_ref = s.detach().clone().requires_grad_(True)
    le, lb = _reference(s_ref, t.detach(), labels)
    (50 * le + 20 * lb).backward()
    torch.testing.assert_close(s.grad, s_ref.grad)
    assert t.grad is None


def test_autocast_bf16_gives_fp32():
    s, t, labels = _random_case(9)
    loss = BPKDLoss()
    ref = loss(s, t, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(s.bfloat16(), t.bfloat16(), labels)
    exact = loss(s.bfloat16().float(), t.bfloat16().float(), labels)
    for key in ('loss_edge', 'loss_body'):
        assert out[key].dtype == torch.float32
        torch.testing.assert_close(out[key], exact[key])
        torch.testing.assert_close(out[key], ref[key], rtol=2e-2, atol=1e-3)


def test_seg_data_samples():
    mmseg_structures = pytest.importorskip('mmseg.structures')
    from mmengine.structures import PixelData
    s, t, labels = _seeded_example()
    samples = []
    for lab in labels:
        ds = mmseg_structures.SegDataSample()
        ds.gt_sem_seg = PixelData(data=lab[None])
        samples.append(ds)
    out = BPKDLoss()(s, t, samples)
    ref = BPKDLoss()(s, t, labels)
    torch.testing.assert_close(out['loss_edge'], ref['loss_edge'])
    torch.testing.assert_close(out['loss_body'], ref['loss_body'])


def test_registry_and_errors():
    loss = MODELS.build(dict(type='mmkd.BPKDLoss', edge_weight=1.0))
    assert isinstance(loss, BPKDLoss)
    with pytest.raises(ValueError, match='edge_norm'):
        BPKDLoss(edge_norm='mean')
    with pytest.raises(ValueError, match='kernel_size'):
        BPKDLoss(kernel_size=6)
    with pytest.raises(ValueError, match='tau_edge'):
        BPKDLoss(tau_edge=0)
    with pytest.raises(TypeError, match='alpha'):
        BPKDLoss(alpha='2')
    s, t, labels = _random_case(1)
    with pytest.raises(ValueError, match='equal shape'):
        BPKDLoss()(s, t[:, :3], labels)
    with pytest.raises(ValueError, match='alpha should have'):
        BPKDLoss(alpha=[1.0, 2.0])(s, t, labels)
    with pytest.raises(ValueError, match='data_samples'):
        BPKDLoss()(s, t)
