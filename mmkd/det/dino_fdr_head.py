"""DINO head with FDR + GO-LSD losses (D-FINE, arXiv 2410.13842)."""
from typing import Dict, List, Optional

import torch
from mmdet.models.dense_heads import DINOHead
from mmdet.structures import SampleList
from torch import Tensor

from mmkd.registry import MODELS
from .assign import BatchGT
from .fdr_head import FDRHeadMixin

__all__ = ['DINOFDRHead']


@MODELS.register_module()
class DINOFDRHead(FDRHeadMixin, DINOHead):
    """DINO head for :class:`mmkd.det.DINOFDR`.

    Boxes of decoder layer ``l`` are the decoder's FDR boxes; the losses are

    * per output (layers, ``pre_`` head, ``enc_`` top-k): classification on
      its own Hungarian match (the host's ``loss_cls``, or D-FINE's VFL with
      ``cls_loss='vfl'``), L1 + GIoU on the union set, normalised by the
      (all-reduced) number of union pairs;
    * per layer: FGL on the union set; per layer but the last: DDF against
      the last layer;
    * denoising: the same on the DN positives, incl. ``dn_pre_`` and DN DDF.

    Args:
        dn_pre_loss (bool): Losses of the first-layer plain head on the DN
            queries. Defaults to True.
        **kwargs: The FDR arguments of :class:`mmkd.det.FDRHeadMixin`
            (``reg_max``, ``up``, ``reg_scale``, ``loss_fgl``, ``loss_ddf``,
            ``cls_loss``, ``vfl_cfg``, ``share_fdr_head``, ``use_lqe``,
            ``go_lsd``, ``nan_to_zero``) and those of mmdet's ``DINOHead``.
    """

    def __init__(self, *args, dn_pre_loss: bool = True, **kwargs) -> None:
        self.dn_pre_loss = dn_pre_loss
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        if not self.as_two_stage:
            raise ValueError('as_two_stage should be True for DINO, '
                             'but got False')
        super()._init_layers()

    def loss(self, hidden_states: Tensor, references: List[Tensor],
             enc_outputs_class: Tensor, enc_outputs_coord: Tensor,
             batch_data_samples: SampleList, dn_meta: Dict[str, int],
             fdr_logits: Tensor, fdr_boxes: Tensor, pre_boxes: Tensor,
             ref0: Tensor) -> dict:
        """Forward the head and compute the losses."""
        gt, all_cls, all_boxes, pre_cls = self._loss_inputs(
            hidden_states, references, fdr_logits, fdr_boxes,
            batch_data_samples)
        return self.loss_by_feat_fdr(all_cls, all_boxes, fdr_logits, pre_cls,
                                     pre_boxes, ref0, enc_outputs_class,
                                     enc_outputs_coord, gt, dn_meta)

    def loss_by_feat_fdr(self, all_cls: Tensor, all_boxes: Tensor,
                         all_logits: Tensor, pre_cls: Tensor,
                         pre_boxes: Tensor, ref0: Tensor, enc_cls: Tensor,
                         enc_boxes: Tensor, gt: BatchGT,
                         dn_meta: Optional[Dict[str, int]]) -> dict:
        """All losses; shapes as in :meth:`loss` (queries = DN + matching).

        Args:
            all_cls (Tensor): (L, B, Qt, C). all_boxes (Tensor): (L, B, Qt, 4).
            all_logits (Tensor): (L, B, Qt, 4(N+1)).
            pre_cls (Tensor): (B, Qt, C). pre_boxes, ref0 (Tensor): (B, Qt, 4).
            enc_cls (Tensor): (B, Q, C). enc_boxes (Tensor): (B, Q, 4).
            gt (BatchGT): The batch's ground truth.
        """
        nd = dn_meta['num_denoising_queries'] if dn_meta is not None else 0
        num_layers = all_cls.shape[0]
        m = slice(nd, None)

        # ---- matching part: own matches, union set (incl. encoder top-k)
        losses, counts = self._matching_losses(all_cls[:, :,
                                                       m], all_boxes[:, :, m],
                                               all_logits[:, :, m], pre_cls[:,
                                                                            m],
                                               pre_boxes[:, m], ref0[:, m],
                                               [('enc_', enc_cls, enc_boxes)],
                                               gt)
        layer_prefix = self._layer_prefixes(num_layers)

        # ---- denoising part (keys exist even with 0 DN queries: DDP)
        if dn_meta is not None:
            d = slice(0, nd)
            dn_assign = self._dn_assignment(gt, dn_meta, all_cls.device)
            num_dn = self._num(
                dn_meta['num_denoising_groups'] *
                sum(len(g) for g in gt.instances), all_boxes)
            dn_outputs = [(f'{p}dn_', all_cls[i][:, d], all_boxes[i][:, d],
                           dn_assign) for i, p in enumerate(layer_prefix)]
            if self.dn_pre_loss:
                dn_outputs.append(
                    ('dn_pre_', pre_cls[:, d], pre_boxes[:, d], dn_assign))
            dn_losses, dn_ious = self._output_losses(dn_outputs, dn_assign, gt,
                                                     num_dn, num_dn)
            losses.update(dn_losses)
            dn_targets = self._fgl_targets(ref0[:, d], dn_assign, gt)
            dn_go, _ = self._go_lsd_losses(
                all_logits[:, :,
                           d], all_cls[-1][:,
                                           d], dn_assign, dn_ious[:num_layers],
                dn_targets, num_dn, [f'{p}dn_loss_fgl' for p in layer_prefix],
                [f'{p}dn_loss_ddf' for p in layer_prefix], counts)
            losses.update(dn_go)
        return self._finalize(losses)

    @staticmethod
    def _dn_assignment(gt: BatchGT, dn_meta: Dict[str, int],
                       device: torch.device) -> Tensor:
        """(B, num_dn) GT of each DN positive, -1 elsewhere: as in mmdet's
        DINOHead, query ``g * per_group + t`` is GT ``t`` in group ``g``."""
        nd = dn_meta['num_denoising_queries']
        groups = max(dn_meta['num_denoising_groups'], 1)
        pos = torch.arange(nd, device=device) % max(nd // groups, 1)
        return torch.stack(
            [torch.where(pos < len(g), pos, -1) for g in gt.instances])
