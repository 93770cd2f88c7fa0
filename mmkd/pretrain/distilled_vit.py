"""G2SD's specific stage for classification: a ViT with a DeiT distillation
token placed as in the official ``G2SD/models_vit.py``, and the head that
trains it (the distillation loss itself is a Distiller loss,
``mmkd.DeiTHardDistillLoss``)."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model.weight_init import trunc_normal_, trunc_normal_init
from mmpretrain.models import DeiTClsHead, VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mmkd.registry import MODELS

__all__ = ['G2SDDistilledViT', 'G2SDDeiTClsHead']


@MODELS.register_module()
class G2SDDistilledViT(VisionTransformer):
    """A ViT whose DeiT distillation token is appended **last, after** the
    position embedding, and has no position embedding of its own
    (official ``models_vit.py``: ``x = cat(cls, patches) + pos_embed;
    x = cat(x, dist_token)``).

    The position table keeps ``1 + L`` entries (``num_extra_tokens = 1``),
    so a ViT or G2SD generic-stage checkpoint loads without resizing.
    MMPretrain's ``DistilledVisionTransformer`` instead puts the token second
    with a position embedding (``1 + 1 + L`` entries) and its load hook reads
    a 197-entry table as 195 patches plus 2 extra tokens: it resizes a 13x13
    grid to 14x14 and silently corrupts the embedding.

    Each output stage is ``(cls_token, dist_token)`` features, (B, C) each,
    after the final norm, for :class:`G2SDDeiTClsHead`. Takes
    :class:`~mmpretrain.models.VisionTransformer`'s arguments
    (``out_type='cls_token'``, ``with_cls_token=True`` only).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.out_type != 'cls_token' or self.cls_token is None:
            raise ValueError("G2SDDistilledViT outputs (cls, dist) tokens: "
                             "it needs out_type='cls_token' and "
                             f'with_cls_token=True, but got '
                             f'out_type={self.out_type!r}')
        self.dist_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))

    def init_weights(self) -> None:
        trunc_normal_(self.dist_token, std=.02)  # a checkpoint may refill it
        super().init_weights()

    def forward(self,
                x: torch.Tensor) -> Tuple[Tuple[torch.Tensor, torch.Tensor]]:
        """Args: ``x`` (B, 3, H, W). Returns one ``(cls, dist)`` pair of
        (B, C) features per output index; the layers see ``1 + L + 1``
        tokens."""
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = torch.cat((x, self.dist_token.expand(B, -1, -1)), dim=1)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append((x[:, 0], x[:, -1]))
        return tuple(outs)


@MODELS.register_module()
class G2SDDeiTClsHead(DeiTClsHead):
    """DeiT's two linear heads, trainable: ``layers.head`` on the class
    token, ``layers.head_dist`` on the distillation token.

    In training, :meth:`loss` is the head's own loss (``loss_cls``) on the
    class-token logits only (G2SD: ``0.5 * SoftTargetCE`` against the
    mixed, smoothed labels: set ``loss_weight=0.5``); ``layers.head_dist``
    runs so that a Distiller tap records its logits for
    ``mmkd.DeiTHardDistillLoss`` (``0.5 * CE(dist, argmax teacher)``).
    Prediction averages the two (DeiT's rule). MMPretrain's own
    ``DeiTClsHead`` refuses to train.

    Args:
        head_init_std (float, optional): After ``init_cfg``, draw
            ``layers.head``'s weight alone from a truncated normal of this
            std (bias 0): the official fine-tuning (``main_finetune_dis.py``)
            re-initialises only the class head, at 2e-5, and leaves
            ``head_dist`` at timm's 0.02. Defaults to None (``init_cfg``
            alone).
        **kwargs: ``DeiTClsHead``'s arguments.
    """

    def __init__(self,
                 *args,
                 head_init_std: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_init_std = head_init_std

    def init_weights(self) -> None:
        super().init_weights()
        if self.head_init_std is not None and not (
                isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            trunc_normal_init(
                self.layers.head, std=self.head_init_std, bias=0.)

    def forward(self, feats: Tuple[List[torch.Tensor]]) -> torch.Tensor:
        """The mean of the two heads' logits (B, num_classes)."""
        cls_token, dist_token = self.pre_logits(feats)
        return (self.layers.head(cls_token) +
                self.layers.head_dist(dist_token)) / 2

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List,
             **kwargs) -> dict:
        cls_token, dist_token = self.pre_logits(feats)
        self.layers.head_dist(dist_token)  # for the distillation tap
        losses = self._get_loss(
            self.layers.head(cls_token), data_samples, **kwargs)
        # not 'loss': a Distiller logs its total under that key
        losses['loss_cls'] = losses.pop('loss')
        return losses
