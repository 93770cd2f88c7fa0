"""Connectors: small modules that bring a student record to the teacher's
shape before a loss compares them. They train with the student, are saved
in checkpoints and are dropped by ``tools/export_student.py``."""
from typing import Literal, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS

__all__ = ['ChannelAlignConnector', 'SpatialAlignConnector', 'connector_hint']


def connector_hint(student: Sequence[int], teacher: Sequence[int]) -> str:
    """The ``connector=[...]`` config that brings a student record of shape
    ``student`` (N, C, H, W) to the teacher's ``teacher``.

    Example:
        >>> connector_hint((2, 8, 4, 4), (2, 16, 8, 8))
        "connector=[dict(type='mmkd.ChannelAlignConnector', in_channels=8, \
out_channels=16), dict(type='mmkd.SpatialAlignConnector')]"
    """
    fixes = []
    if student[1] != teacher[1]:
        fixes.append(f"dict(type='mmkd.ChannelAlignConnector', "
                     f'in_channels={student[1]}, out_channels={teacher[1]})')
    if tuple(student[2:]) != tuple(teacher[2:]):
        fixes.append("dict(type='mmkd.SpatialAlignConnector')")
    return f'connector=[{", ".join(fixes)}]'


@MODELS.register_module()
class ChannelAlignConnector(nn.Module):
    """1x1 convolution (optionally followed by a norm) from the student's
    channels to the teacher's.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        norm (bool): Add a ``BatchNorm2d`` after the convolution.
            Defaults to False.

    Example:
        >>> import torch
        >>> conn = ChannelAlignConnector(8, 16)
        >>> conn(torch.zeros(2, 8, 5, 5)).shape
        torch.Size([2, 16, 5, 5])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=not norm)
        self.norm = nn.BatchNorm2d(out_channels) if norm else nn.Identity()

    def forward(self,
                x: torch.Tensor,
                target: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'ChannelAlignConnector expects (N, {self.in_channels}, H, W),'
                f' but got {tuple(x.shape)}; set in_channels to the student '
                f'record\'s channels')
        return self.norm(self.conv(x))


@MODELS.register_module()
class SpatialAlignConnector(nn.Module):
    """Resize the student map to the teacher's spatial size (or a fixed one).

    Args:
        size (Sequence[int], optional): Fixed (H, W). Defaults to None: the
            teacher record's size.
        mode (str): Interpolation mode. Defaults to 'bilinear'.
    """

    def __init__(
        self,
        size: Optional[Sequence[int]] = None,
        mode: Literal['bilinear', 'nearest', 'bicubic', 'area'] = 'bilinear'
    ) -> None:
        super().__init__()
        self.size = tuple(size) if size is not None else None
        self.mode = mode

    def forward(self,
                x: torch.Tensor,
                target: Optional[torch.Tensor] = None) -> torch.Tensor:
        size: Union[tuple, torch.Size, None] = self.size
        if size is None:
            if target is None:
                raise ValueError('SpatialAlignConnector without size needs '
                                 'the teacher record as target')
            size = target.shape[-2:]
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        align = False if self.mode in ('bilinear', 'bicubic') else None
        return F.interpolate(x, size=size, mode=self.mode, align_corners=align)
