"""ProC-KD kernels: NetVLAD residuals without the (B, K, D, N) tensor and
token-to-prototype attention (spec prockd.md §2, §5)."""
import pytest
import torch

from mmkd.ops import (maps_to_tokens, prototype_attention, tokens_to_maps,
                      vlad_residuals, vlad_residuals_literal)


@pytest.mark.parametrize('b,k,d,n', [(2, 5, 7, 11), (1, 72, 16, 40)])
def test_residual_identity_equals_the_literal_form(b, k, d, n):
    g = torch.Generator().manual_seed(0)
    assign = torch.softmax(torch.randn(b, k, n, generator=g), 1)
    tokens = torch.nn.functional.normalize(
        torch.randn(b, n, d, generator=g), dim=-1)
    centers = torch.rand(k, d, generator=g)
    fast = vlad_residuals(assign, tokens, centers)
    assert fast.shape == (b, k, d)
    torch.testing.assert_close(
        fast,
        vlad_residuals_literal(assign, tokens, centers),
        atol=1e-5,
        rtol=1e-5)


def test_residual_hand_values():
    # Two tokens, two prototypes: V_k = sum_n a_kn (x_n - c_k).
    x = torch.tensor([[[1., 0.], [0., 2.]]])
    a = torch.tensor([[[1., .25], [0., .75]]])  # (B, K, N), sums 1 over K
    c = torch.tensor([[1., 1.], [0., 0.]])
    # V_0 = 1*(0,-1) + .25*(-1,1) = (-.25, -.75); V_1 = .75*(0,2) = (0,1.5)
    expected = torch.tensor([[[-.25, -.75], [0., 1.5]]])
    torch.testing.assert_close(vlad_residuals(a, x, c), expected)
    # K = 1: a == 1 and V = sum_n x_n - N c (spec §5.7)
    one = vlad_residuals(torch.ones(1, 1, 2), x, c[:1])
    torch.testing.assert_close(one, (x.sum(1) - 2 * c[:1])[:, None])


def test_prototype_attention_hand_values():
    p = torch.eye(2)
    e = torch.tensor([[[1.0986123, 0.]]])  # log 3: weights (.75, .25)
    u, w = prototype_attention(e, p)
    torch.testing.assert_close(w, torch.tensor([[[.75], [.25]]]))
    torch.testing.assert_close(u, torch.tensor([[[.75, .25]]]))
    u, w = prototype_attention(torch.randn(2, 9, 4), torch.randn(5, 4))
    torch.testing.assert_close(w.sum(1), torch.ones(2, 9))
    assert u.shape == (2, 9, 4) and u.dtype == torch.float32


def test_maps_round_trip_and_errors():
    maps = torch.randn(2, 3, 4, 5)
    tokens = maps_to_tokens(maps)
    assert tokens.shape == (2, 20, 3)
    assert torch.equal(tokens[0, 6], maps[0, :, 1, 1])
    assert torch.equal(tokens_to_maps(tokens, (4, 5)), maps)
    with pytest.raises(ValueError, match='do not fill'):
        tokens_to_maps(tokens, (3, 5))
    with pytest.raises(ValueError, match=r'\(B, K, N\)'):
        vlad_residuals(
            torch.ones(1, 2, 3), torch.ones(1, 4, 5), torch.ones(2, 5))
