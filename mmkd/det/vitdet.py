"""ViTDet's detector parts that MMDetection's core does not ship (its
``projects/ViTDet`` is not in the wheel): the simple feature pyramid and a
channel-first LayerNorm; and an RPN head whose FPN inputs and objectness
logits a Distiller can tap together (G2SD's detection specific stage)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmdet.models.dense_heads import RPNHead
from mmengine.model import BaseModule

from mmkd.registry import MODELS

__all__ = ['LN2d', 'SimpleFPN', 'FRSRPNHead']


@MODELS.register_module()
class LN2d(nn.LayerNorm):
    """LayerNorm over the channels of (N, C, H, W) maps (ViTDet's
    ``LayerNorm`` in its pyramid and heads); use as
    ``norm_cfg=dict(type='mmkd.LN2d')``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """ViTDet's simple feature pyramid (Li et al., ECCV 2022): from the
    ViT's last stride-16 map, scales 4 (two 2x2 transposed convolutions
    with a norm and GELU between), 2 (one), 1 (identity) and 1/2 (2x2 max
    pool); each through a 1x1 and a 3x3 convolution with a norm, no bias;
    then ``num_outs - 4`` extra levels by stride-2 subsampling (detectron2's
    ``LastLevelMaxPool``). Outputs strides 4, 8, 16, 32 (and 64).

    Args:
        backbone_channel (int): ViT width C.
        out_channels (int): Defaults to 256.
        num_outs (int): Defaults to 5.
        norm_cfg (dict, optional): Defaults to ``dict(type='mmkd.LN2d')``.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone_channel: int,
                 out_channels: int = 256,
                 num_outs: int = 5,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_outs < 4:
            raise ValueError(f'num_outs should be at least 4 (the four '
                             f'scales), but got {num_outs}')
        norm_cfg = norm_cfg or dict(type='mmkd.LN2d', eps=1e-6)
        c = backbone_channel
        self.num_outs = num_outs
        self.scales = nn.ModuleList([
            nn.Sequential(
                nn.ConvTranspose2d(c, c // 2, 2, 2),
                build_norm_layer(norm_cfg, c // 2)[1], nn.GELU(),
                nn.ConvTranspose2d(c // 2, c // 4, 2, 2)),
            nn.ConvTranspose2d(c, c // 2, 2, 2),
            nn.Identity(),
            nn.MaxPool2d(2, 2)
        ])
        self.lateral_convs = nn.ModuleList(
            ConvModule(
                width, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for width in (c // 4, c // 2, c, c))
        self.fpn_convs = nn.ModuleList(
            ConvModule(
                out_channels,
                out_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=None) for _ in range(4))

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Args: the backbone's outputs; the last, (N, C, H/16, W/16), is
        used."""
        x = inputs[-1]
        outs: List[torch.Tensor] = [
            conv(lateral(scale(x))) for scale, lateral, conv in zip(
                self.scales, self.lateral_convs, self.fpn_convs)
        ]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)


@MODELS.register_module()
class FRSRPNHead(RPNHead):
    """MMDetection's ``RPNHead`` that also hands its inputs (the FPN levels)
    and its objectness logits to ``distill_probe``, an identity: a
    Distiller tap on ``rpn_head.distill_probe`` records
    ``(feats, objectness)``, two tuples over the levels, (N, C, H, W) and
    (N, A, H, W) each. An FRS-style loss weights its feature term with the
    teacher's objectness, so it needs both from one tap.

    The probe has no parameters: ``RPNHead`` checkpoints load unchanged.
    Takes ``RPNHead``'s arguments.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.distill_probe = nn.Identity()

    def forward(self, x: Tuple[torch.Tensor]) -> Tuple[list, list]:
        cls_scores, bbox_preds = super().forward(x)
        self.distill_probe((tuple(x), tuple(cls_scores)))
        return cls_scores, bbox_preds
