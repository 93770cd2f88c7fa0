"""MMPretrain's MAE parts as G2SD uses them: a mask drawn from a given noise
(one noise for teacher and student), a student decoder that returns its
hidden states through a projection, and the frozen teacher's model."""
from collections import OrderedDict
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models import MAEPretrainDecoder, MAEViT
from mmpretrain.models.utils import build_2d_sincos_position_embedding

from mmkd.registry import MODELS

__all__ = [
    'G2SDViT', 'G2SDFeatDecoder', 'G2SDMAETeacher', 'mae_sincos_pos_embed'
]


def mae_sincos_pos_embed(num_patches: int, dims: int) -> torch.Tensor:
    """MAE's fixed 2-D sin-cos table (``util/pos_embed.py``), (1, 1 + L, D)
    with a zero row for the class token.

    MAE encodes the column in the first half of the channels and the row in
    the second; MMPretrain's ``build_2d_sincos_position_embedding`` does the
    reverse, i.e. gives the table of the transposed grid. G2SD's students
    start from MAE's (its teachers load theirs from the checkpoint).
    """
    side = int(num_patches**.5)
    table = build_2d_sincos_position_embedding(side, dims, cls_token=True)
    patches = table[:, 1:].reshape(1, side, side, dims).transpose(1, 2)
    return torch.cat([table[:, :1], patches.reshape(1, -1, dims)], dim=1)


@MODELS.register_module()
class G2SDViT(MAEViT):
    """:class:`mmpretrain.models.MAEViT` whose random mask can come from a
    given noise, as in G2SD's ``models_mae.random_masking(x, ratio, noise)``.

    ``forward(x, noise=noise)`` keeps the ``int(L * (1 - mask_ratio))``
    patches of smallest noise (MAE's ``argsort`` rule), so two models given
    the same noise see the same patches. Without ``noise`` it is MAEViT
    (noise drawn inside); with ``mask=None`` a plain ViT.
    """

    _noise: Optional[torch.Tensor] = None

    def init_weights(self) -> None:
        """MAEViT's initialisation, the sin-cos table in MAE's layout."""
        super().init_weights()
        self.pos_embed.data.copy_(
            mae_sincos_pos_embed(self.num_patches, self.pos_embed.shape[-1]))

    def forward(
        self,
        x: torch.Tensor,
        mask: Optional[bool] = True,
        noise: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Args: ``x`` (B, 3, H, W); ``noise`` (B, L) with
        ``L = num_patches``. Returns MAEViT's ``(latent, mask, ids_restore)``:
        (B, 1 + kept, C) after the final norm, (B, L), (B, L)."""
        if mask is None or mask is False:
            return super().forward(x, mask=None)
        self._noise = noise  # read by random_masking, inside MAEViT.forward
        try:
            return super().forward(x)
        finally:
            self._noise = None

    def random_masking(
        self,
        x: torch.Tensor,
        mask_ratio: float = 0.75
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        noise = self._noise
        if noise is None:
            return super().random_masking(x, mask_ratio)
        N, L, D = x.shape
        if noise.shape != (N, L):
            raise ValueError(f'noise should have shape (B, L) = {(N, L)}, '
                             f'but got {tuple(noise.shape)}')
        len_keep = int(L * (1 - mask_ratio))
        ids_shuffle = torch.argsort(noise, dim=1)  # small noise: kept
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :len_keep]
        x_masked = torch.gather(x, 1, ids_keep[..., None].expand(-1, -1, D))
        mask = torch.ones(N, L, device=x.device)
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, 1, ids_restore)  # 1: masked
        return x_masked, mask, ids_restore


@MODELS.register_module()
class G2SDFeatDecoder(MAEPretrainDecoder):
    """The student's light MAE decoder, returning all ``1 + L`` hidden states
    through G2SD's trained projection (official ``decoderfeature_pred``:
    Linear - GELU - Linear to the teacher decoder's width).

    MAE's pixel head (``decoder_pred``) and the decoder norm are not built:
    G2SD never uses them (its official code needs DDP's
    ``find_unused_parameters`` because it builds them), and the class token
    is kept.

    Args:
        num_patches (int): Defaults to 196.
        embed_dim (int): Student encoder width. Defaults to 384 (ViT-S).
        decoder_embed_dim (int): Defaults to 256.
        decoder_depth (int): Defaults to 4.
        decoder_num_heads (int): Defaults to 8.
        target_dim (int): Teacher decoder width, the projection's hidden and
            output size. Defaults to 512.
        mlp_ratio (int): Defaults to 4.
        norm_cfg (dict, optional): Defaults to LN with eps 1e-6.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 num_patches: int = 196,
                 embed_dim: int = 384,
                 decoder_embed_dim: int = 256,
                 decoder_depth: int = 4,
                 decoder_num_heads: int = 8,
                 target_dim: int = 512,
                 mlp_ratio: int = 4,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            num_patches=num_patches,
            embed_dim=embed_dim,
            decoder_embed_dim=decoder_embed_dim,
            decoder_depth=decoder_depth,
            decoder_num_heads=decoder_num_heads,
            mlp_ratio=mlp_ratio,
            norm_cfg=norm_cfg or dict(type='LN', eps=1e-6),
            init_cfg=init_cfg)
        delattr(self, self.decoder_norm_name)
        del self.decoder_pred
        self.feature_pred = nn.Sequential(
            OrderedDict(
                fc1=nn.Linear(decoder_embed_dim, target_dim),
                act=nn.GELU(),
                fc2=nn.Linear(target_dim, target_dim)))

    def init_weights(self) -> None:
        """MAEPretrainDecoder's initialisation, the sin-cos table in MAE's
        layout."""
        super().init_weights()
        self.decoder_pos_embed.data.copy_(
            mae_sincos_pos_embed(self.num_patches,
                                 self.decoder_pos_embed.shape[-1]))

    def forward(self, x: torch.Tensor,
                ids_restore: torch.Tensor) -> torch.Tensor:
        """Args: ``x`` (B, 1 + kept, C) from the encoder, ``ids_restore``
        (B, L). Returns (B, 1 + L, target_dim), class token first."""
        x = self.decoder_embed(x)
        B, kept, C = x.shape
        mask_tokens = self.mask_token.expand(B,
                                             ids_restore.shape[1] + 1 - kept,
                                             -1)
        patches = torch.cat([x[:, 1:], mask_tokens], dim=1)
        patches = torch.gather(patches, 1, ids_restore[...,
                                                       None].expand(-1, -1, C))
        x = torch.cat([x[:, :1], patches], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.feature_pred(x)


@MODELS.register_module()
class G2SDMAETeacher(BaseModule):
    """A MAE encoder and decoder (MMPretrain's ``backbone.`` and ``neck.``
    names, e.g. converted by ``tools/convert/mae_to_mmpretrain.py``) run on
    a given mask noise; G2SD taps ``neck.decoder_blocks.{k-1}``.

    The decoder must be the trained one: an encoder-only checkpoint leaves it
    random (G2SD issue #7). The :class:`~mmkd.distillers.teacher.Teacher`
    that holds this model reports such missing weights before the first
    step.

    Args:
        backbone (dict): A :class:`G2SDViT` (``arch='b'`` for ViT-B).
        neck (dict): A ``MAEPretrainDecoder`` (512 wide, 8 blocks, 16 heads
            for MAE ViT-B).
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Union[dict, nn.Module],
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = backbone if isinstance(
            backbone, nn.Module) else MODELS.build(backbone)
        self.neck = neck if isinstance(neck, nn.Module) else MODELS.build(neck)

    def forward(self,
                inputs: torch.Tensor,
                noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Encoder on the visible patches, then the decoder (whose block
        outputs are the targets; its pixel output is never reached when a
        tap stops the forward)."""
        latent, _, ids_restore = self.backbone(inputs, noise=noise)
        return self.neck(latent, ids_restore)
