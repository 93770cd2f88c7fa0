"""Objectness-weighted FPN and RPN distillation, as G2SD's detection
specific stage runs it (official ``G2SD_det_dis``, after FRS: Du et al.,
"Distilling Object Detectors with Feature Richness", NeurIPS 2021).

Per FPN level ``l``, with the teacher's objectness ``T_obj`` (N, A, H, W)
turned into a mask ``m = max_a sigmoid(T_obj)`` (N, H, W, no gradient)::

    L_feat = sum_l sum_{n,c,h,w} (T_l - Adapt_l(S_l))^2 m_l / sum m_l
    L_cls  = sum_l sum_{n,a,h,w} BCE(sigmoid(S_obj_l), sigmoid(T_obj_l)) m_l
                 / sum m_l

with one trainable 3x3 convolution ``Adapt_l`` per level (no activation);
total ``0.001 L_feat + 0.1 L_cls``, ramped in over the first 500
iterations (``mmkd.DistillScheduleHook(warmup=500)``).
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS

__all__ = ['FRSLoss', 'frs_losses']

Levels = Sequence[torch.Tensor]


def frs_losses(student_feats: Levels, teacher_feats: Levels,
               student_obj: Levels,
               teacher_obj: Levels) -> Tuple[torch.Tensor, torch.Tensor]:
    """The unweighted feature and objectness terms, in fp32.

    Args:
        student_feats (list[Tensor]): Adapted student FPN levels,
            (N, C, H_l, W_l) each.
        teacher_feats (list[Tensor]): Teacher FPN levels, same shapes.
        student_obj (list[Tensor]): Student objectness logits (N, A, H_l,
            W_l).
        teacher_obj (list[Tensor]): Teacher objectness logits, same shapes.

    Returns:
        tuple[Tensor, Tensor]: ``L_feat`` and ``L_cls``, summed over levels.
    """
    loss_feat = loss_cls = student_feats[0].new_zeros((), dtype=torch.float)
    for s, t, s_obj, t_obj in zip(student_feats, teacher_feats, student_obj,
                                  teacher_obj):
        t_prob = t_obj.detach().float().sigmoid()
        mask = t_prob.max(dim=1, keepdim=True).values  # (N, 1, H, W)
        norm = mask.sum().clamp_min(1e-12)
        diff = (t.detach().float() - s.float())**2
        loss_feat = loss_feat + (diff * mask).sum() / norm
        bce = F.binary_cross_entropy_with_logits(
            s_obj.float(), t_prob, reduction='none')
        loss_cls = loss_cls + (bce * mask).sum() / norm
    return loss_feat, loss_cls


@MODELS.register_module()
class FRSLoss(nn.Module):
    """G2SD's detection distillation on FPN features and RPN objectness.

    Tap ``rpn_head.distill_probe`` of :class:`~mmkd.det.FRSRPNHead` on both
    sides: each record is ``(fpn_levels, objectness_levels)``.

    Args:
        channels (int): FPN width. Defaults to 256.
        num_levels (int): FPN levels (one adapter each). Defaults to 5.
        feat_weight (float): Defaults to 0.001.
        cls_weight (float): Defaults to 0.1.

    Returns (forward): ``dict(loss_feat=..., loss_cls=...)``, weighted.
    """

    def __init__(self,
                 channels: int = 256,
                 num_levels: int = 5,
                 feat_weight: float = 0.001,
                 cls_weight: float = 0.1) -> None:
        super().__init__()
        self.adapters = nn.ModuleList(
            nn.Conv2d(channels, channels, 3, padding=1)
            for _ in range(num_levels))
        self.feat_weight = feat_weight
        self.cls_weight = cls_weight

    def forward(self, student: Tuple[Levels, Levels],
                teacher: Tuple[Levels, Levels]) -> Dict[str, torch.Tensor]:
        (s_feats, s_obj), (t_feats, t_obj) = student, teacher
        if not len(s_feats) == len(t_feats) == len(self.adapters):
            raise ValueError(
                f'FRSLoss has {len(self.adapters)} level adapters, but the '
                f'student gives {len(s_feats)} levels and the teacher '
                f'{len(t_feats)}; set num_levels')
        adapted = [a(s) for a, s in zip(self.adapters, s_feats)]
        loss_feat, loss_cls = frs_losses(adapted, t_feats, s_obj, t_obj)
        return dict(
            loss_feat=self.feat_weight * loss_feat,
            loss_cls=self.cls_weight * loss_cls)
