"""FDR inside MMDetection's DINO decoder (D-FINE, ICLR 2025, arXiv 2410.13842).

The refinement runs in the decoder loop because each layer's attention
reference must be the previous layer's FDR box (detached):

.. code-block:: text

    for l in 0 .. L-1:
        h_l = norm(layer_l(query, ref))
        if l == 0:
            pre_box = sigmoid(pre_reg(h_0) + logit(ref))
            ref0 = pre_box.detach()
        logits_l = reg_l(h_l + h_{l-1}.detach()) + logits_{l-1}  # not detached
        box_l = distance2bbox(ref0, integral(logits_l, W), R)
        ref = box_l.detach()
"""
from typing import Dict, Optional, Tuple

import torch
from mmdet.models.detectors import DINO
from mmdet.models.layers import (DeformableDetrTransformerEncoder,
                                 DinoTransformerDecoder,
                                 SinePositionalEncoding)
from mmdet.models.layers.transformer import (coordinate_to_encoding,
                                             inverse_sigmoid)
from torch import Tensor, nn

from mmkd.registry import MODELS
from .fdr_ops import FDRTrace, run_fdr_decoder

__all__ = ['DINOFDRDecoder', 'DINOFDR']


class DINOFDRDecoder(DinoTransformerDecoder):
    """DINO decoder with Fine-grained Distribution Refinement.

    Args:
        query_pos_clamp (float, optional): Clamp of the positional query
            embedding (the official AMP guard). None disables it.
            Defaults to 10.0.
        **kwargs: Arguments of :class:`DinoTransformerDecoder`.
    """

    def __init__(self,
                 *args,
                 query_pos_clamp: Optional[float] = 10.0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.return_intermediate:
            raise ValueError('return_intermediate should be True for FDR, '
                             'but got False')
        self.query_pos_clamp = query_pos_clamp

    def forward(self, query: Tensor, value: Tensor, key_padding_mask: Tensor,
                self_attn_mask: Tensor, reference_points: Tensor,
                spatial_shapes: Tensor, level_start_index: Tensor,
                valid_ratios: Tensor, reg_branches: nn.ModuleList,
                pre_reg_branch: nn.Module, project: Tensor, reg_scale: float,
                **kwargs) -> Tuple[Tensor, ...]:
        """Run the decoder with FDR.

        Args:
            query (Tensor): (bs, num_queries, dim).
            value (Tensor): (bs, num_value, dim).
            key_padding_mask (Tensor): (bs, num_value).
            self_attn_mask (Tensor): (num_queries, num_queries) or None.
            reference_points (Tensor): Initial boxes (cx, cy, w, h) in
                [0, 1], (bs, num_queries, 4).
            spatial_shapes (Tensor): (num_levels, 2).
            level_start_index (Tensor): (num_levels, ).
            valid_ratios (Tensor): (bs, num_levels, 2).
            reg_branches (nn.ModuleList): Per-layer FDR branches; the first
                ``num_layers`` are used, each mapping dim -> 4 * (N + 1).
            pre_reg_branch (nn.Module): First-layer plain box branch,
                dim -> 4.
            project (Tensor): ``W``, (N + 1, ).
            reg_scale (float): ``R``.

        Returns:
            tuple[Tensor]: ``hidden_states`` (L, bs, nq, dim) normalised,
            ``references`` (L + 1, bs, nq, 4) (the attention reference of
            each layer and the last box, detached), ``fdr_logits``
            (L, bs, nq, 4(N+1)) fp32, ``fdr_boxes`` (L, bs, nq, 4) fp32,
            ``pre_boxes`` (bs, nq, 4) and ``ref0`` (bs, nq, 4), detached.
        """
        trace = FDRTrace(project, reg_scale, pre_reg_branch,
                         reference_points.dtype)
        ref = reference_points
        ratios = torch.cat([valid_ratios, valid_ratios], -1)[:, None]
        for lid, layer in enumerate(self.layers):
            ref_input = ref[:, :, None] * ratios
            query_pos = self.ref_point_head(
                coordinate_to_encoding(
                    ref_input[:, :, 0, :], num_feats=self.embed_dims // 2))
            if self.query_pos_clamp is not None:
                query_pos = query_pos.clamp(-self.query_pos_clamp,
                                            self.query_pos_clamp)
            query = layer(
                query,
                query_pos=query_pos,
                value=value,
                key_padding_mask=key_padding_mask,
                self_attn_mask=self_attn_mask,
                spatial_shapes=spatial_shapes,
                level_start_index=level_start_index,
                valid_ratios=valid_ratios,
                reference_points=ref_input,
                **kwargs)
            init = inverse_sigmoid(ref.float(), eps=1e-3) if lid == 0 \
                else None
            ref = trace.step(reg_branches[lid], self.norm(query), init)
        return trace.outputs(reference_points)


@MODELS.register_module()
class DINOFDR(DINO):
    """DINO with FDR + GO-LSD (D-FINE) in its decoder and head.

    Use with :class:`mmkd.det.DINOFDRHead` (``bbox_head.type =
    'mmkd.DINOFDRHead'``); the decoder config may add ``query_pos_clamp``.
    """

    def _init_layers(self) -> None:
        """Initialize layers except for backbone, neck and bbox_head."""
        self.positional_encoding = SinePositionalEncoding(
            **self.positional_encoding)
        self.encoder = DeformableDetrTransformerEncoder(**self.encoder)
        self.decoder = DINOFDRDecoder(**self.decoder)
        self.embed_dims = self.encoder.embed_dims
        self.query_embedding = nn.Embedding(self.num_queries, self.embed_dims)
        num_feats = self.positional_encoding.num_feats
        if num_feats * 2 != self.embed_dims:
            raise ValueError('embed_dims should be 2 * num_feats, but got '
                             f'{self.embed_dims} and {num_feats}')
        self.level_embed = nn.Parameter(
            torch.Tensor(self.num_feature_levels, self.embed_dims))
        self.memory_trans_fc = nn.Linear(self.embed_dims, self.embed_dims)
        self.memory_trans_norm = nn.LayerNorm(self.embed_dims)

    def forward_decoder(self,
                        query: Tensor,
                        memory: Tensor,
                        memory_mask: Tensor,
                        reference_points: Tensor,
                        spatial_shapes: Tensor,
                        level_start_index: Tensor,
                        valid_ratios: Tensor,
                        dn_mask: Optional[Tensor] = None,
                        **kwargs) -> Dict:
        """Decoder with FDR; adds ``fdr_logits``, ``fdr_boxes``,
        ``pre_boxes`` and ``ref0`` to the usual outputs."""
        out = run_fdr_decoder(
            self,
            query=query,
            value=memory,
            key_padding_mask=memory_mask,
            self_attn_mask=dn_mask,
            reference_points=reference_points,
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=valid_ratios,
            **kwargs)
        if self.training:
            # keep label_embedding in the graph when no rank-local GT makes
            # denoising queries (DDP must not wait for its gradient)
            out['hidden_states'] = out['hidden_states'] + \
                self.dn_query_generator.label_embedding.weight[0, 0] * 0.0
        return out
