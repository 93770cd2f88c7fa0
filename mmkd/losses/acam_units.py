"""ACAM-KD's parts for one distilled map: the mask-weighted imitation
losses ``L^c, L^s``, the Dice term that keeps the masks apart, and the
trainable units (``align``, STCA-FF's ``query`` / ``key`` / ``value``,
ASCM's ``m_c`` / ``m_s``). :class:`mmkd.losses.ACAMKDLoss` builds one
:class:`ACAMLevel` per map, runs the attention and sums the levels.
"""
from typing import Literal, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['acam_masked_losses', 'mask_dice', 'ACAMLevel']

DiceForm = Literal['pairwise_mean', 'literal']
_DICE_FORMS = ('pairwise_mean', 'literal')
_MASK_NORMS = ('sum', 'sum_sq')


def acam_masked_losses(teacher: torch.Tensor,
                       student: torch.Tensor,
                       mask_c: torch.Tensor,
                       mask_s: torch.Tensor,
                       mask_norm: Literal['sum', 'sum_sq'] = 'sum',
                       eps: float = 1e-6) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mask-normalised channel and spatial feature losses ``L^c, L^s``.

    The mask multiplies the difference inside the square (weight ``M^2``)
    and the sum is divided by the mask's sum, as MasKD's
    ``((M*y_s - M*y_t)**2).sum() / M.sum()``, extended to channels.

    Args:
        teacher (Tensor): ``F_T``, shape (B, C, H, W).
        student (Tensor): ``f_align(F_S)``, same shape.
        mask_c (Tensor): Channel masks, shape (B, M, C).
        mask_s (Tensor): Spatial masks, shape (B, M, H*W).
        mask_norm (str): ``'sum'`` divides by ``sum M`` (paper);
            ``'sum_sq'`` by ``sum M^2``, which makes the loss invariant to
            the mask scale (a proposed guard against masks shrinking to 0).
            Defaults to 'sum'.
        eps (float): Added to the denominators of ``'sum'``. ``'sum_sq'``
            adds none: an additive eps would make masks far below
            ``sqrt(eps)`` lower the loss again, the incentive the switch
            removes; it computes with each mask divided by its (detached)
            maximum instead, which keeps tiny masks from underflowing.
            Defaults to 1e-6.

    Returns:
        tuple[Tensor, Tensor]: ``L^c`` and ``L^s``, scalars, means over
        (B, M). All-ones masks give ``F.mse_loss(student, teacher)`` each.
    """
    if mask_norm not in _MASK_NORMS:
        raise ValueError(f'mask_norm should be one of {_MASK_NORMS}, but '
                         f'got {mask_norm!r}')
    if mask_norm == 'sum_sq':
        mask_c, mask_s = _unit_max(mask_c), _unit_max(mask_s)
    d2 = (teacher - student)**2
    _, c, h, w = d2.shape
    per_channel = d2.flatten(2).sum(-1)  # B, C
    per_position = d2.sum(1).flatten(1)  # B, HW
    num_c = torch.einsum('bmc,bc->bm', mask_c.square(), per_channel)
    num_s = torch.einsum('bmp,bp->bm', mask_s.square(), per_position)
    if mask_norm == 'sum':
        den_c = h * w * mask_c.sum(-1) + eps
        den_s = c * mask_s.sum(-1) + eps
    else:
        tiny = torch.finfo(d2.dtype).tiny
        den_c = (h * w * mask_c.square().sum(-1)).clamp_min(tiny)
        den_s = (c * mask_s.square().sum(-1)).clamp_min(tiny)
    return (num_c / den_c).mean(), (num_s / den_s).mean()


def _unit_max(masks: torch.Tensor) -> torch.Tensor:
    """Each mask (last dim) divided by its largest value, detached.

    ``'sum_sq'`` is invariant to a mask's scale, so in exact arithmetic this
    changes neither its value nor its gradient; in floats it keeps the
    masks of a collapse (1e-20 and below, seen in training) from making
    ``sum M^2``, and its square in the quotient's gradient, underflow to 0,
    which gave NaN. A mask that is 0 in floats (largest value below the
    smallest normal number) is left as it is.
    """
    tiny = torch.finfo(masks.dtype).tiny
    scale = masks.detach().amax(-1, keepdim=True)
    return torch.where(scale >= tiny, masks / scale.clamp_min(tiny), masks)


def mask_dice(masks: torch.Tensor,
              form: DiceForm = 'pairwise_mean',
              eps: float = 1e-12) -> torch.Tensor:
    """Dice similarity between the M masks of each sample (to minimise).

    * ``'pairwise_mean'`` (MasKD): the mean over samples and ordered pairs
      ``i != j`` of ``2 <M_i, M_j> / (|M_i|^2 + |M_j|^2)``; in [0, 1]:
      1 for identical masks, 0 for disjoint ones.
    * ``'literal'`` (the paper's printed formula):
      ``2 sum_i sum_{j!=i} <M_i, M_j> / (sum_i |M_i|^2 + sum_j |M_j|^2)``
      per sample, averaged over samples; ``M - 1`` for M identical masks.

    Args:
        masks (Tensor): Shape (B, M, L).
        form (str): ``'pairwise_mean'`` or ``'literal'``.
            Defaults to 'pairwise_mean'.
        eps (float): Added to the denominators. Defaults to 1e-12.

    Returns:
        Tensor: Scalar; zero (with a graph) when M < 2.
    """
    if form not in _DICE_FORMS:
        raise ValueError(f'dice form should be one of {_DICE_FORMS}, but got '
                         f'{form!r}')
    b, m = masks.shape[:2]
    if m < 2:
        return masks.sum() * 0
    inner = masks @ masks.transpose(1, 2)  # B, M, M
    sq = inner.diagonal(dim1=1, dim2=2)  # B, M
    off = 1 - torch.eye(m, device=masks.device, dtype=masks.dtype)
    if form == 'pairwise_mean':
        dice = 2 * inner / (sq[:, :, None] + sq[:, None, :] + eps)
        return (dice * off).sum() / (b * m * (m - 1))
    dice = 2 * (inner * off).sum((1, 2)) / (2 * sq.sum(-1) + eps)
    return dice.mean()


class ACAMLevel(nn.Module):
    """The trainable parts for one distilled map: ``align``, STCA-FF
    (``query``, ``key``, ``value``) and ASCM (``m_c``, ``m_s``)."""

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 query_channels: int,
                 num_masks: int,
                 per_channel_units: bool,
                 init_std: float,
                 align: Literal['conv', 'identity'] = 'conv') -> None:
        super().__init__()
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.query_channels = query_channels
        self.align = nn.Conv2d(student_channels, teacher_channels, 1) \
            if align == 'conv' else nn.Identity()
        self.query = nn.Conv2d(teacher_channels, query_channels, 1)
        # No key bias: it would add q . b to every logit of a query's row,
        # which the softmax cancels (its gradient is exactly zero).
        self.key = nn.Conv2d(student_channels, query_channels, 1, bias=False)
        self.value = nn.Conv2d(student_channels, teacher_channels, 1)
        # The paper writes m_c in R^{M x 1}: one scalar per mask on the
        # pooled fused vector; per_channel_units gives R^{M x C}.
        self.m_c = nn.Parameter(
            torch.randn(num_masks,
                        teacher_channels if per_channel_units else 1) *
            init_std)
        self.m_s = nn.Parameter(
            torch.randn(num_masks, teacher_channels) * init_std)

    def project(self, teacher: torch.Tensor, student: torch.Tensor,
                kv_pool_stride: int):
        """Q (B, N, C_q) from the teacher; K (B, L, C_q) and V (B, L, C)
        from the student, average-pooled by ``kv_pool_stride`` first."""
        if kv_pool_stride > 1:
            # 1x1 convs commute with average pooling: pool first, cheaper.
            student = F.avg_pool2d(student, kv_pool_stride, ceil_mode=True)
        q = self.query(teacher).flatten(2).transpose(1, 2)
        k = self.key(student).flatten(2).transpose(1, 2)
        v = self.value(student).flatten(2).transpose(1, 2)
        return q, k, v

    def masks(self, fused: torch.Tensor):
        """Channel (B, M, C) and spatial (B, M, N) masks from ``F_fused``
        laid out as (B, C, N)."""
        pooled = fused.mean(-1)  # GAP, B x C
        mask_c = torch.sigmoid(self.m_c.float()[None] * pooled[:, None])
        mask_s = torch.sigmoid(self.m_s.float() @ fused)
        return mask_c, mask_s
