"""Apply one loss to every level of a multi-level record and sum."""
from typing import Sequence, Union

import torch
import torch.nn as nn

from mmkd.registry import MODELS

__all__ = ['MultiLevelLoss']


@MODELS.register_module()
class MultiLevelLoss(nn.Module):
    """Sum of ``loss`` over the levels of a record.

    A tap on a module that runs once per level (a dense head's shared
    ``retina_reg`` conv runs on each FPN level) records a list, one tensor
    per call; a tap on ``neck`` records a tuple of levels. This wrapper
    gives each level pair to ``loss`` (any registered loss taking
    ``(student, teacher)``, e.g. ``mmdet.L1Loss``) and sums the results:
    the head distillation of the MasKD configs (ACAM-KD's switch A8,
    docs/methods/acam_kd.md) is

    .. code-block:: python

        loss_head=dict(
            type='mmkd.MultiLevelLoss',
            loss=dict(type='mmdet.L1Loss', loss_weight=1.0),
            student='bbox_head.retina_reg',
            teacher='bbox_head.retina_reg')

    Args:
        loss (dict): The per-level loss; its ``loss_weight`` weights it.
        levels (Sequence[int], optional): Levels to use (all by default).
    """

    def __init__(self, loss: dict, levels: Sequence[int] = None) -> None:
        super().__init__()
        self.loss = MODELS.build(loss)
        self.levels = None if levels is None else list(levels)

    def forward(
            self, student: Union[Sequence[torch.Tensor], torch.Tensor],
            teacher: Union[Sequence[torch.Tensor],
                           torch.Tensor]) -> torch.Tensor:
        if torch.is_tensor(student):
            student, teacher = [student], [teacher]
        if len(student) != len(teacher):
            raise ValueError(
                f'MultiLevelLoss: the student gives {len(student)} levels '
                f'but the teacher {len(teacher)}; tap modules that run on '
                f'the same levels')
        levels = range(len(student)) if self.levels is None else self.levels
        total = 0
        for i in levels:
            s, t = student[i], teacher[i].detach()
            if s.shape != t.shape:
                raise ValueError(
                    f'MultiLevelLoss: level {i}: student {tuple(s.shape)} '
                    f'vs teacher {tuple(t.shape)}; add a connector per '
                    f'level or distil levels of equal shapes')
            total = total + self.loss(s, t)
        return total
