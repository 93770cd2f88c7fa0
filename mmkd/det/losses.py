"""FGL and DDF: the localisation losses of D-FINE (FDR + GO-LSD).

* FGL (Fine-Grained Localization loss, paper Eq. 4): IoU-weighted two-hot
  cross entropy between each edge's distribution and its target bins.
* DDF (Decoupled Distillation Focal loss, paper Eqs. 5-6): KL from the last
  decoder layer's distributions (teacher, detached) to an earlier layer's,
  weighted by IoU on the union set and by the teacher's confidence elsewhere,
  the two groups balanced by the square roots of their sizes.

Both run in fp32 under autocast. Where the paper and the official code differ
(DDF sums vs means) ``DDFLoss(reduction=...)`` offers both.
"""
from typing import Literal, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS

__all__ = ['fgl_loss', 'ddf_loss', 'varifocal_loss', 'FGLLoss', 'DDFLoss']


def fgl_loss(logits: Tensor,
             target: Tuple[Tensor, Tensor, Tensor, Tensor],
             weight: Optional[Tensor] = None,
             avg_factor: Union[float, Tensor] = 1.0) -> Tensor:
    """Fine-Grained Localization loss (sum over rows / ``avg_factor``).

    Args:
        logits (Tensor): Shape (K, 4 * (N + 1)), raw logits of K queries.
        target (tuple[Tensor]): ``(left_bin, right_bin, w_left, w_right)``
            of :func:`mmkd.det.fdr_ops.translate_gt`, each (4K, ).
        weight (Tensor, optional): Per-query weight (IoU of the prediction
            with its GT, detached), shape (K, ). Defaults to None (ones).
        avg_factor (float | Tensor): Normaliser (number of union pairs).
            Defaults to 1.0.

    Returns:
        Tensor: Scalar, fp32. ``0 * logits.sum()`` when K = 0.
    """
    if logits.numel() == 0:
        return logits.float().sum() * 0.0
    left, right, w_left, w_right = target
    with torch.autocast(logits.device.type, enabled=False):
        flat = logits.float().reshape(left.numel(), -1)
        loss = (
            F.cross_entropy(flat, left, reduction='none') * w_left +
            F.cross_entropy(flat, right, reduction='none') * w_right)
        if weight is not None:
            loss = loss * weight.detach().float().repeat_interleave(4)
        return loss.sum() / avg_factor


def _edge_rows(count: Union[None, float, Tensor], mask: Tensor) -> Tensor:
    """A count of edge rows as an fp32 0-d tensor on ``mask``'s device:
    ``mask.sum()`` when None, a Python number through a fill (no blocking
    host-to-device copy)."""
    if count is None:
        return mask.sum().float()
    if isinstance(count, Tensor):
        return count.float()
    return mask.new_full((), float(count), dtype=torch.float32)


def ddf_loss(student: Tensor,
             teacher: Tensor,
             weight: Tensor,
             mask: Tensor,
             temperature: float = 5.0,
             num_pos: Union[None, float, Tensor] = None,
             num_neg: Union[None, float, Tensor] = None,
             reduction: Literal['code', 'paper'] = 'code') -> Tensor:
    """Decoupled Distillation Focal loss for one student layer.

    ``l_k = w_k * T^2 * KL(softmax(t_k / T) || softmax(s_k / T))`` per edge
    row ``k``. ``reduction='code'`` (official code):
    ``(mean_M(l) * sqrt|M| + mean_U(l) * sqrt|U|) / (sqrt|M| + sqrt|U|)``;
    ``'paper'`` (Eqs. 5-6): sums instead of means.

    Every branch on the data (teacher equal to student, empty ``M`` or
    ``U``) is a tensor op, so the loss never waits for the device.

    Args:
        student (Tensor): Shape (B, Q, 4 * (N + 1)).
        teacher (Tensor): Same shape; detached inside.
        weight (Tensor): Per-query weight (B, Q): IoU on the union set,
            the teacher's confidence elsewhere; detached inside.
        mask (Tensor): Bool (B, Q), True for union-set (matched) queries.
        temperature (float): ``T``. Defaults to 5.0.
        num_pos (float | Tensor, optional): ``|M|`` in edge rows for the
            balance; defaults to ``4 * mask.sum()``. DN outputs pass the
            matching part's counts.
        num_neg (float | Tensor, optional): ``|U|`` likewise. Defaults to
            None.
        reduction (str): ``'code'`` or ``'paper'``. Defaults to 'code'.

    Returns:
        Tensor: Scalar, fp32; exactly 0 if ``student`` equals ``teacher``.
    """
    if reduction not in ('code', 'paper'):
        raise ValueError("reduction should be 'code' or 'paper', "
                         f'but got {reduction!r}')
    if student.numel() == 0:
        return student.float().sum() * 0.0
    with torch.autocast(student.device.type, enabled=False):
        num_bins = student.shape[-1] // 4
        s = student.float().reshape(-1, num_bins)
        t = teacher.detach().float().reshape(-1, num_bins)
        kl = F.kl_div(
            F.log_softmax(s / temperature, -1),
            F.softmax(t / temperature, -1),
            reduction='none').sum(-1) * temperature**2
        rows = weight.detach().float().reshape(-1, 1).expand(-1, 4)
        loss = rows.reshape(-1) * kl
        m = mask.reshape(-1, 1).expand(-1, 4).reshape(-1)
        k_m = _edge_rows(num_pos, m).clamp(min=0).sqrt()
        k_u = _edge_rows(num_neg, ~m).clamp(min=0).sqrt()
        sum_m = torch.where(m, loss, 0.0).sum()
        sum_u = torch.where(m, 0.0, loss).sum()
        if reduction == 'code':
            # an empty part has sum 0, so any divisor >= 1 gives mean 0
            sum_m = sum_m / m.sum().clamp(min=1)
            sum_u = sum_u / (~m).sum().clamp(min=1)
        norm = k_m + k_u
        value = (sum_m * k_m + sum_u * k_u) / torch.where(norm > 0, norm, 1.0)
        # official code: 0 (with a graph) when the layer equals the teacher
        # (the last DN layer, or no refinement yet) or nothing is counted
        zero = student.float().sum() * 0.0
        same = (student == teacher).all()
        return torch.where(same | (norm == 0), zero, value)


def varifocal_loss(logits: Tensor,
                   onehot: Tensor,
                   iou: Tensor,
                   alpha: float = 0.75,
                   gamma: float = 2.0,
                   avg_factor: Union[float, Tensor] = 1.0) -> Tensor:
    """D-FINE's VFL: ``BCE(x, t * onehot)`` weighted by
    ``alpha * sigmoid(x)^gamma`` off the GT class and by ``t`` on it, summed
    and divided by ``avg_factor``.

    Args:
        logits (Tensor): Shape (M, C).
        onehot (Tensor): One-hot GT class of matched rows, zeros elsewhere,
            shape (M, C).
        iou (Tensor): ``t``, IoU of each row's box with its GT (0 for
            unmatched rows), shape (M, ); detached inside.
        alpha (float): Defaults to 0.75.
        gamma (float): Defaults to 2.0.
        avg_factor (float | Tensor): Normaliser (number of GT). Defaults
            to 1.0.

    Returns:
        Tensor: Scalar, fp32.
    """
    with torch.autocast(logits.device.type, enabled=False):
        x = logits.float()
        onehot = onehot.float()
        target = iou.detach().float()[:, None] * onehot
        prob = x.sigmoid().detach()
        w = alpha * prob.pow(gamma) * (1 - onehot) + target
        loss = F.binary_cross_entropy_with_logits(
            x, target, weight=w, reduction='none')
        return loss.sum() / avg_factor


@MODELS.register_module()
class FGLLoss(nn.Module):
    """Fine-Grained Localization loss module, see :func:`fgl_loss`.

    Args:
        loss_weight (float): Defaults to 0.15 (D-FINE configs).
    """

    def __init__(self, loss_weight: float = 0.15) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self,
                logits: Tensor,
                target: Tuple[Tensor, Tensor, Tensor, Tensor],
                weight: Optional[Tensor] = None,
                avg_factor: Union[float, Tensor] = 1.0) -> Tensor:
        """See :func:`fgl_loss`; returns ``loss_weight * fgl_loss(...)``."""
        return self.loss_weight * fgl_loss(logits, target, weight, avg_factor)


@MODELS.register_module()
class DDFLoss(nn.Module):
    """Decoupled Distillation Focal loss module, see :func:`ddf_loss`.

    Args:
        loss_weight (float): Weight of each layer's term. Defaults to 1.5.
        temperature (float): ``T``. Defaults to 5.0.
        reduction (str): ``'code'`` (means, official code) or ``'paper'``
            (sums, paper Eqs. 5-6). Defaults to 'code'.
    """

    def __init__(self,
                 loss_weight: float = 1.5,
                 temperature: float = 5.0,
                 reduction: Literal['code', 'paper'] = 'code') -> None:
        super().__init__()
        if reduction not in ('code', 'paper'):
            raise ValueError("reduction should be 'code' or 'paper', "
                             f'but got {reduction!r}')
        if temperature <= 0:
            raise ValueError(
                f'temperature should be > 0, but got {temperature}')
        self.loss_weight = float(loss_weight)
        self.temperature = float(temperature)
        self.reduction = reduction

    def forward(self,
                student: Tensor,
                teacher: Tensor,
                weight: Tensor,
                mask: Tensor,
                num_pos: Union[None, float, Tensor] = None,
                num_neg: Union[None, float, Tensor] = None) -> Tensor:
        """See :func:`ddf_loss`; returns ``loss_weight * ddf_loss(...)``."""
        return self.loss_weight * ddf_loss(student, teacher, weight, mask,
                                           self.temperature, num_pos, num_neg,
                                           self.reduction)
