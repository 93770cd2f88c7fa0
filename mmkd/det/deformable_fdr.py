"""FDR + GO-LSD for MMDetection's Deformable DETR with box refinement.

Same recursion as :mod:`mmkd.det.dino_fdr`; differences from DINO: fixed
positional queries, no denoising, 2-D initial references when not two-stage
(the pre head then sees ``[logit(x, y), 0, 0]``, i.e. ``w = h = 0.5`` before
its own prediction), and the two-stage encoder loss stays the host's (binary,
on all proposals, so it does not join the union set).
"""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.dense_heads import DeformableDETRHead
from mmdet.models.detectors import DeformableDETR
from mmdet.models.layers import DeformableDetrTransformerDecoder
from mmdet.models.layers.transformer import inverse_sigmoid
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor, nn

from mmkd.registry import MODELS
from .fdr_head import FDRHeadMixin
from .fdr_ops import FDRTrace, run_fdr_decoder

__all__ = [
    'DeformableDETRFDRDecoder', 'DeformableDETRFDR', 'DeformableDETRFDRHead'
]


class DeformableDETRFDRDecoder(DeformableDetrTransformerDecoder):
    """Deformable DETR decoder with Fine-grained Distribution Refinement."""

    def forward(self, query: Tensor, query_pos: Tensor, value: Tensor,
                key_padding_mask: Tensor, reference_points: Tensor,
                spatial_shapes: Tensor, level_start_index: Tensor,
                valid_ratios: Tensor, reg_branches: nn.ModuleList,
                pre_reg_branch: nn.Module, project: Tensor, reg_scale: float,
                **kwargs) -> Tuple[Tensor, ...]:
        """Outputs as :meth:`mmkd.det.DINOFDRDecoder.forward`;
        ``reference_points`` may be 2-D (bs, nq, 2) or 4-D (bs, nq, 4)."""
        trace = FDRTrace(project, reg_scale, pre_reg_branch,
                         reference_points.dtype)
        ref = reference_points
        for lid, layer in enumerate(self.layers):
            if ref.shape[-1] == 4:
                ratios = torch.cat([valid_ratios, valid_ratios], -1)
            else:
                ratios = valid_ratios
            query = layer(
                query,
                query_pos=query_pos,
                value=value,
                key_padding_mask=key_padding_mask,
                spatial_shapes=spatial_shapes,
                level_start_index=level_start_index,
                valid_ratios=valid_ratios,
                reference_points=ref[:, :, None] * ratios[:, None],
                **kwargs)
            init = None
            if lid == 0:
                init = inverse_sigmoid(ref.float())
                if init.shape[-1] == 2:
                    init = torch.cat([init, torch.zeros_like(init)], -1)
            ref = trace.step(reg_branches[lid], query, init)
        # the initial references may be 2-D: left out of the stack
        return trace.outputs()


@MODELS.register_module()
class DeformableDETRFDR(DeformableDETR):
    """Deformable DETR (``with_box_refine=True``) with FDR + GO-LSD.

    Use with :class:`DeformableDETRFDRHead`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.with_box_refine:
            raise ValueError('with_box_refine should be True for FDR, '
                             'but got False')

    def _init_layers(self) -> None:
        """Host layers, then the decoder rebuilt as the FDR decoder."""
        decoder_cfg = copy.deepcopy(self.decoder)
        super()._init_layers()
        self.decoder = DeformableDETRFDRDecoder(**decoder_cfg)

    def forward_decoder(self, query: Tensor, query_pos: Tensor, memory: Tensor,
                        memory_mask: Tensor, reference_points: Tensor,
                        spatial_shapes: Tensor, level_start_index: Tensor,
                        valid_ratios: Tensor) -> Dict:
        """Decoder with FDR; adds ``fdr_logits``, ``fdr_boxes``,
        ``pre_boxes`` and ``ref0`` to the usual outputs."""
        out = run_fdr_decoder(
            self,
            query=query,
            value=memory,
            query_pos=query_pos,
            key_padding_mask=memory_mask,
            reference_points=reference_points,
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=valid_ratios)
        out['references'].insert(0, reference_points)
        return out


@MODELS.register_module()
class DeformableDETRFDRHead(FDRHeadMixin, DeformableDETRHead):
    """Deformable DETR head with FDR + GO-LSD losses.

    Arguments as :class:`mmkd.det.DINOFDRHead` (without ``dn_pre_loss``).
    """

    def loss(self, hidden_states: Tensor, references: List[Tensor],
             enc_outputs_class: Optional[Tensor],
             enc_outputs_coord: Optional[Tensor],
             batch_data_samples: SampleList, fdr_logits: Tensor,
             fdr_boxes: Tensor, pre_boxes: Tensor, ref0: Tensor) -> dict:
        """Forward the head and compute the losses."""
        gt, all_cls, all_boxes, pre_cls = self._loss_inputs(
            hidden_states, references, fdr_logits, fdr_boxes,
            batch_data_samples)
        losses, _ = self._matching_losses(all_cls, all_boxes, fdr_logits,
                                          pre_cls, pre_boxes, ref0, [], gt)
        if enc_outputs_class is not None:
            losses.update(
                self._enc_losses(enc_outputs_class, enc_outputs_coord,
                                 gt.instances, gt.metas))
        return self._finalize(losses)

    def _enc_losses(self, enc_cls: Tensor, enc_boxes: Tensor,
                    batch_gt_instances: InstanceList,
                    batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """The host's binary encoder-proposal losses (two-stage)."""
        proposal_gt = copy.deepcopy(batch_gt_instances)
        for gt in proposal_gt:
            gt.labels = torch.zeros_like(gt.labels)
        cls, bbox, iou = self.loss_by_feat_single(
            enc_cls,
            enc_boxes,
            batch_gt_instances=proposal_gt,
            batch_img_metas=batch_img_metas)
        return dict(enc_loss_cls=cls, enc_loss_bbox=bbox, enc_loss_iou=iou)
