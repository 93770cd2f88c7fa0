"""Prototype kernels of ProC-KD (Li et al., arXiv 2212.13180): NetVLAD
residuals without the (B, K, D, N) tensor, and attention of tokens to K
prototype slots.

The official MindSpore code forms the residuals ``x_n - c_k`` explicitly, a
``[B, K, D, N]`` tensor: ``[1, 72, 256, 15200]`` floats (1.1 GB) for one
image at RetinaNet's P3. The residual sum is linear in ``x``, so

    V_k = sum_n a_kn (x_n - c_k) = (A X)_k - (sum_n a_kn) c_k,

i.e. ``V = A @ X - (A @ 1) * C``: one (B, K, N) x (B, N, D) product and a
broadcast, O(N K D) time and O(K D) extra memory.
:func:`vlad_residuals_literal` is the explicit form, kept as the reference
the tests and the memory benchmark compare against.
"""
from typing import Tuple

import torch

__all__ = [
    'at_least_fp32', 'vlad_residuals', 'vlad_residuals_literal',
    'prototype_attention', 'maps_to_tokens', 'tokens_to_maps'
]


def at_least_fp32(dtype: torch.dtype) -> torch.dtype:
    """float32 for half types (the precision of the normalisations under
    autocast), the dtype itself when wider (float64 checks, gradcheck)."""
    return torch.promote_types(dtype, torch.float32)


def _check(assign: torch.Tensor, tokens: torch.Tensor,
           centers: torch.Tensor) -> None:
    if assign.dim() != 3 or tokens.dim() != 3 or centers.dim() != 2 or \
            assign.shape[0] != tokens.shape[0] or \
            assign.shape[2] != tokens.shape[1] or \
            assign.shape[1] != centers.shape[0] or \
            tokens.shape[2] != centers.shape[1]:
        raise ValueError(
            'assign, tokens and centers should be (B, K, N), (B, N, D) and '
            f'(K, D), but got {tuple(assign.shape)}, {tuple(tokens.shape)} '
            f'and {tuple(centers.shape)}')


def vlad_residuals(assign: torch.Tensor, tokens: torch.Tensor,
                   centers: torch.Tensor) -> torch.Tensor:
    """NetVLAD residual sums ``V = A X - (A 1) * C``.

    Args:
        assign (Tensor): Soft assignments ``a_kn``, shape (B, K, N).
        tokens (Tensor): Tokens ``x_n`` (l2-normalised in ProC-KD), shape
            (B, N, D).
        centers (Tensor): Prototype bank ``C``, shape (K, D).

    Returns:
        Tensor: ``V_k = sum_n a_kn (x_n - c_k)``, shape (B, K, D).

    Example:
        >>> a = torch.ones(1, 1, 2)
        >>> x = torch.tensor([[[1., 0.], [0., 1.]]])
        >>> vlad_residuals(a, x, torch.tensor([[1., 1.]]))
        tensor([[[-1., -1.]]])
    """
    _check(assign, tokens, centers)
    return assign @ tokens - assign.sum(-1, keepdim=True) * centers


def vlad_residuals_literal(assign: torch.Tensor, tokens: torch.Tensor,
                           centers: torch.Tensor) -> torch.Tensor:
    """The same sums through the explicit (B, K, D, N) residual tensor, as
    the official code computes them (reference only: memory B K D N)."""
    _check(assign, tokens, centers)
    residual = tokens.transpose(1, 2)[:, None] - centers[None, :, :, None]
    return (residual * assign[:, :, None]).sum(-1)


def prototype_attention(
        queries: torch.Tensor,
        prototypes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each token's mixture of the K prototypes (TAFA's cross-attention).

    ``W = softmax_k(P E^T)`` (no ``1/sqrt(d)`` scaling, as in the code) and
    ``U = W^T P``; cost O(N K D), linear in the number of tokens.

    Args:
        queries (Tensor): Encoded tokens ``E``, shape (B, N, D).
        prototypes (Tensor): Encoded prototypes ``P``, shape (K, D).

    Returns:
        tuple[Tensor, Tensor]: ``U`` (B, N, D) and the weights ``W``
        (B, K, N), which sum to 1 over K. Both in float32 (float64 for float64
        queries).
    """
    if queries.dim() != 3 or prototypes.dim() != 2 or \
            queries.shape[-1] != prototypes.shape[-1]:
        raise ValueError('queries and prototypes should be (B, N, D) and '
                         f'(K, D), but got {tuple(queries.shape)} and '
                         f'{tuple(prototypes.shape)}')
    with torch.autocast(device_type=queries.device.type, enabled=False):
        dtype = at_least_fp32(queries.dtype)
        p = prototypes.to(dtype)
        logits = torch.einsum('kd,bnd->bkn', p, queries.to(dtype))
        weights = torch.softmax(logits, dim=1)
        return torch.einsum('bkn,kd->bnd', weights, p), weights


def maps_to_tokens(maps: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, HW, C)."""
    return maps.flatten(2).transpose(1, 2)


def tokens_to_maps(tokens: torch.Tensor, size: Tuple[int,
                                                     int]) -> torch.Tensor:
    """(B, HW, C) -> (B, C, H, W), the inverse of :func:`maps_to_tokens`."""
    b, n, c = tokens.shape
    if n != size[0] * size[1]:
        raise ValueError(f'{n} tokens do not fill a {size[0]}x{size[1]} grid')
    return tokens.transpose(1, 2).reshape(b, c, *size)
