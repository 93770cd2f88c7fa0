import math

import pytest
import torch

from mmkd.losses import ChannelWiseDivergence, channel_wise_divergence


def reference_cwd(s, t, tau):
    """Loop form of mmrazor's ChannelWiseDivergence (loss_weight 1)."""
    n, c = s.shape[:2]
    total = 0.0
    for i in range(n):
        for j in range(c):
            ps = torch.softmax(s[i, j].flatten().double() / tau, 0)
            pt = torch.softmax(t[i, j].flatten().double() / tau, 0)
            total += (pt * (pt.log() - ps.log())).sum().item()
    return total * tau**2 / (n * c)


def test_hand_value():
    # C=1, two positions, s=[0,0], t=[1,0], tau 1: the KL of
    # [e/(1+e), 1/(1+e)] from [1/2, 1/2] (Shu et al., ICCV 2021, Eq. 3-4)
    s = torch.zeros(1, 1, 1, 2)
    t = torch.tensor([[[[1.0, 0.0]]]])
    e = math.e
    expected = (e /
                (1 + e)) * math.log(2 * e /
                                    (1 + e)) + (1 /
                                                (1 + e)) * math.log(2 /
                                                                    (1 + e))
    assert channel_wise_divergence(s, t).item() == pytest.approx(
        0.110944, abs=1e-6)
    assert channel_wise_divergence(s, t).item() == pytest.approx(expected)


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_matches_reference_and_weight(tau):
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7)
    loss = ChannelWiseDivergence(tau=tau, loss_weight=5.0)
    assert loss(s, t).item() == pytest.approx(
        5.0 * reference_cwd(s, t, tau), rel=1e-5)


def test_properties():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    assert channel_wise_divergence(t, t).item() == pytest.approx(0, abs=1e-6)
    assert channel_wise_divergence(s, t).item() == pytest.approx(
        reference_cwd(s, t, 1.0), rel=1e-5)
    # A constant shift per channel does not change a spatial softmax.
    shifted = s + torch.randn(2, 3, 1, 1)
    assert channel_wise_divergence(shifted, t).item() == pytest.approx(
        channel_wise_divergence(s, t).item(), rel=1e-5)
    # The mean over (N, C): duplicating the batch leaves it unchanged.
    assert channel_wise_divergence(torch.cat([s, s]),
                                   torch.cat([t, t])).item() == pytest.approx(
                                       channel_wise_divergence(s, t).item(),
                                       rel=1e-6)
    assert ChannelWiseDivergence(loss_weight=0.)(s, t).item() == 0


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_gradient_reaches_student_only(tau):
    torch.manual_seed(0)
    s = torch.randn(2, 3, 3, 3, requires_grad=True)
    t = torch.randn(2, 3, 3, 3, requires_grad=True)
    channel_wise_divergence(s, t, tau).backward()
    # d/ds of tau^2/(N*C) * KL(p_t || softmax(s/tau)) per channel map is
    # tau * (p_s - p_t) / (N*C), p = the spatial softmax at temperature tau
    p_s = torch.softmax(s.detach().flatten(2) / tau, -1).view_as(s)
    p_t = torch.softmax(t.detach().flatten(2) / tau, -1).view_as(t)
    torch.testing.assert_close(s.grad, tau * (p_s - p_t) / 6)
    assert t.grad is None


def test_fp32_under_low_precision_inputs():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    ref = channel_wise_divergence(s, t)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = channel_wise_divergence(s.bfloat16(), t.bfloat16())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(ref.item(), rel=2e-2)


def test_errors():
    with pytest.raises(ValueError, match=r'\(1, 2, 3, 3\).*\(1, 2, 4, 4\)'):
        channel_wise_divergence(
            torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='tau should be positive'):
        ChannelWiseDivergence(tau=0)


def test_cross_entropy_form_adds_the_teacher_entropy():
    """form='ce' (official CWD / G2SD logs) = KL + teacher entropy, same
    gradient."""
    torch.manual_seed(0)
    s = torch.randn(2, 3, 4, 4, requires_grad=True)
    t = torch.randn(2, 3, 4, 4)
    tau = 2.0
    kl = channel_wise_divergence(s, t, tau)
    ce = ChannelWiseDivergence(tau=tau, form='ce')(s, t)
    p_t = torch.softmax(t.flatten(2) / tau, -1)
    entropy = -(p_t * p_t.log()).sum() * tau**2 / 6
    torch.testing.assert_close(ce, kl + entropy)
    grad_kl, = torch.autograd.grad(kl, s)
    grad_ce, = torch.autograd.grad(ce, s)
    torch.testing.assert_close(grad_ce, grad_kl)
    with pytest.raises(ValueError, match="form should be 'kl' or 'ce'"):
        ChannelWiseDivergence(form='js')
