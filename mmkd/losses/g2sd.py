"""G2SD's losses: generic distillation (Huang et al., CVPR 2023,
arXiv 2302.14771; official code ``pengzhiliang/G2SD``, ``engine_distill.py``).

The student's light MAE decoder (plus a trained projection) regresses the
hidden states of a frozen MAE teacher's decoder block ``k``, normalised per
token by a LayerNorm without affine parameters (eps 1e-6, in fp32), with a
Smooth-L1 of ``beta = 2`` averaged over every element::

    target = LayerNorm(teacher_hidden)                     # (B, T, D)
    loss   = mean(smooth_l1(pred - target, beta=2))        # over B*T*D

``T = 1 + L``: token 0 is the class token, then the ``L`` patches in raster
order. The official default supervises all ``T`` tokens
(``--supervise_all True``); ``supervise_all=False`` keeps the masked patch
tokens only.

The classification specific stage adds DeiT's hard-label distillation
(:class:`DeiTHardDistillLoss`).
"""
from typing import Literal, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS

__all__ = [
    'g2sd_feature_errors', 'g2sd_feature_loss', 'G2SDFeatLoss',
    'token_weights', 'DeiTHardDistillLoss'
]

TOKENS = ('all', 'patches', 'masked', 'visible')


def token_weights(mask: torch.Tensor, tokens: str) -> Optional[torch.Tensor]:
    """The (B, 1 + L) {0, 1} selector of the supervised tokens.

    Args:
        mask (Tensor): MAE mask, shape (B, L), 1 for a masked patch.
        tokens (str): 'all' (None: every token, class token included),
            'patches' (every patch), 'masked' or 'visible' patches.

    Returns:
        Tensor | None: The selector, or None for 'all'.
    """
    if tokens not in TOKENS:
        raise ValueError(f'tokens should be one of {TOKENS}, but got '
                         f'{tokens!r}')
    if tokens == 'all':
        return None
    patches = {
        'patches': torch.ones_like(mask),
        'masked': mask,
        'visible': 1 - mask
    }[tokens]
    return torch.cat([patches.new_zeros(patches.shape[0], 1), patches], 1)


def g2sd_feature_errors(
        pred: torch.Tensor,
        teacher_hidden: torch.Tensor,
        beta: float = 2.0,
        eps: float = 1e-6) -> Tuple[torch.Tensor, torch.Tensor]:
    """The target (the teacher hidden states LayerNorm-ed without affine) and
    the element-wise Smooth-L1 of the prediction against it, both (B, T, D)
    in fp32; :func:`g2sd_feature_loss` averages the latter."""
    if pred.shape != teacher_hidden.shape:
        raise ValueError(
            f'g2sd_feature_loss needs equal shapes, but got pred '
            f'{tuple(pred.shape)} and teacher {tuple(teacher_hidden.shape)}'
            f'; the student projection should end at the teacher decoder '
            f'width ({teacher_hidden.shape[-1]})')
    hidden = teacher_hidden.detach().float()
    target = F.layer_norm(hidden, hidden.shape[-1:], eps=eps)
    return target, F.smooth_l1_loss(
        pred.float(), target, reduction='none', beta=beta)


def g2sd_feature_loss(pred: torch.Tensor,
                      teacher_hidden: torch.Tensor,
                      token_weight: Optional[torch.Tensor] = None,
                      beta: float = 2.0,
                      eps: float = 1e-6) -> torch.Tensor:
    """Smooth-L1 between the student's prediction and the normalised
    teacher hidden states, in fp32.

    Args:
        pred (Tensor): Student prediction, shape (B, T, D).
        teacher_hidden (Tensor): Teacher decoder hidden states before any
            norm, shape (B, T, D); a constant (no gradient).
        token_weight (Tensor, optional): (B, T) {0, 1} selector; the mean is
            then over the selected tokens' elements. Defaults to None (all).
        beta (float): Smooth-L1 threshold. Defaults to 2.0.
        eps (float): LayerNorm epsilon. Defaults to 1e-6.

    Returns:
        Tensor: Scalar loss.

    Example:
        >>> import torch
        >>> hidden = torch.tensor([[[1., 2., 3., 4.]]])
        >>> round(g2sd_feature_loss(torch.zeros(1, 1, 4), hidden).item(), 6)
        0.25
    """
    _, elem = g2sd_feature_errors(pred, teacher_hidden, beta, eps)
    if token_weight is None:
        return elem.mean()
    weight = token_weight.to(elem.dtype)[..., None].expand_as(elem)
    return (elem * weight).sum() / weight.sum().clamp_min(1.0)


@MODELS.register_module()
class G2SDFeatLoss(nn.Module):
    """G2SD generic-distillation loss (spec switches G2 and G5).

    Args:
        beta (float): Smooth-L1 threshold (official: 2.0, hard-coded).
            Defaults to 2.0.
        eps (float): Epsilon of the target LayerNorm. Defaults to 1e-6.
        tokens (str): Supervised tokens: 'all' (official default: the class
            token, visible and masked patches), 'patches', 'masked'
            (official ``supervise_all=False``) or 'visible'. Defaults to
            'all'.
        loss_weight (float): Defaults to 1.0.

    Example:
        >>> import torch
        >>> loss = G2SDFeatLoss()
        >>> hidden = torch.randn(2, 5, 8)
        >>> target = torch.nn.functional.layer_norm(hidden, (8, ), eps=1e-6)
        >>> round(loss(target + 1.0, hidden).item(), 6)  # c = 1: c**2 / 4
        0.25
    """

    def __init__(self,
                 beta: float = 2.0,
                 eps: float = 1e-6,
                 tokens: Literal['all', 'patches', 'masked',
                                 'visible'] = 'all',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f'beta should be positive, but got {beta}')
        token_weights(torch.zeros(1, 1), tokens)  # validates tokens
        self.beta = beta
        self.eps = eps
        self.tokens = tokens
        self.loss_weight = loss_weight

    def forward(self,
                pred: torch.Tensor,
                teacher_hidden: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args: ``pred`` and ``teacher_hidden`` (B, 1 + L, D); ``mask``
        (B, L), 1 for masked patches (needed unless ``tokens='all'``)."""
        weight = None
        if self.tokens != 'all':
            if mask is None:
                raise ValueError(f"tokens={self.tokens!r} needs the MAE mask"
                                 f' (B, L)')
            weight = token_weights(mask, self.tokens)
        return self.loss_weight * g2sd_feature_loss(
            pred, teacher_hidden, weight, beta=self.beta, eps=self.eps)


@MODELS.register_module()
class DeiTHardDistillLoss(nn.Module):
    """DeiT's hard-label distillation: cross-entropy of the student's
    distillation-token logits against the teacher's arg-max class (G2SD's
    classification specific stage, official ``main_finetune_dis.py``, with
    ``loss_weight=0.5``; no temperature).

    Args:
        loss_weight (float): Defaults to 1.0.

    Example:
        >>> import torch
        >>> loss = DeiTHardDistillLoss()
        >>> teacher = torch.tensor([[0., 5., 1.]])  # class 1
        >>> round(loss(torch.zeros(1, 3), teacher).item(), 6)  # ln 3
        1.098612
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Args: ``student`` and ``teacher`` logits, (B, num_classes)."""
        return self.loss_weight * F.cross_entropy(student.float(),
                                                  teacher.argmax(dim=-1))
