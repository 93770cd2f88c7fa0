"""DINO head with FDR + GO-LSD losses (D-FINE, arXiv 2410.13842)."""
from typing import Dict, List, Literal, Optional

import torch
from mmdet.models.dense_heads import DINOHead
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from mmkd.registry import MODELS
from .fdr_head import FDRHeadMixin, Pairs

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
        reg_max (int): ``N``. Defaults to 32.
        up (float): ``a``. Defaults to 0.5.
        reg_scale (float): ``R = 1 / c``. Defaults to 4.0.
        loss_fgl (dict, optional): Defaults to ``mmkd.FGLLoss`` (0.15).
        loss_ddf (dict, optional): Defaults to ``mmkd.DDFLoss`` (1.5, T=5,
            ``reduction='code'``).
        cls_loss (str): ``'host'`` keeps ``loss_cls``; ``'vfl'`` uses VFL.
            Defaults to 'host'.
        vfl_cfg (dict, optional): ``alpha`` (0.75), ``gamma`` (2.0),
            ``loss_weight`` (1.0) of the VFL. Defaults to None.
        stable_union (bool): Stable sort in the union set. Defaults to True.
        share_fdr_head (bool): One FDR branch for all layers (residual logits
            still accumulate). Defaults to False.
        use_lqe (bool): Add LQE to the class scores. Defaults to False.
        dn_pre_loss (bool): Losses of the first-layer plain head on the DN
            queries. Defaults to True.
        nan_to_zero (bool): ``nan_to_num`` on every loss (the official code
            does; hides divergence). Defaults to False.
    """

    def __init__(self,
                 *args,
                 reg_max: int = 32,
                 up: float = 0.5,
                 reg_scale: float = 4.0,
                 loss_fgl: Optional[dict] = None,
                 loss_ddf: Optional[dict] = None,
                 cls_loss: Literal['host', 'vfl'] = 'host',
                 vfl_cfg: Optional[dict] = None,
                 stable_union: bool = True,
                 share_fdr_head: bool = False,
                 use_lqe: bool = False,
                 dn_pre_loss: bool = True,
                 nan_to_zero: bool = False,
                 **kwargs) -> None:
        self._init_fdr_args(reg_max, up, reg_scale, loss_fgl, loss_ddf,
                            cls_loss, vfl_cfg, stable_union, share_fdr_head,
                            use_lqe, nan_to_zero)
        self.dn_pre_loss = dn_pre_loss
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        """Host branches, then FDR branches for the decoder layers (the
        last reg branch stays a 4-output branch for encoder proposals)."""
        super()._init_layers()
        if not self.as_two_stage:
            raise ValueError('as_two_stage should be True for DINO, '
                             'but got False')
        self._init_fdr_layers(self.num_pred_layer - 1)

    def init_weights(self) -> None:
        """Host init, then zero the last layers of all box branches."""
        super().init_weights()
        self._init_fdr_weights()

    def loss(self, hidden_states: Tensor, references: List[Tensor],
             enc_outputs_class: Tensor, enc_outputs_coord: Tensor,
             batch_data_samples: SampleList, dn_meta: Dict[str, int],
             fdr_logits: Tensor, fdr_boxes: Tensor, pre_boxes: Tensor,
             ref0: Tensor) -> dict:
        """Forward the head and compute the losses."""
        batch_gt_instances = [s.gt_instances for s in batch_data_samples]
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        all_cls, all_boxes = self(hidden_states, references, fdr_logits,
                                  fdr_boxes)
        pre_cls = self.cls_branches[0](hidden_states[0])
        return self.loss_by_feat_fdr(all_cls, all_boxes, fdr_logits,
                                     pre_cls, pre_boxes, ref0,
                                     enc_outputs_class, enc_outputs_coord,
                                     batch_gt_instances, batch_img_metas,
                                     dn_meta)

    def loss_by_feat_fdr(self, all_cls: Tensor, all_boxes: Tensor,
                         all_logits: Tensor, pre_cls: Tensor,
                         pre_boxes: Tensor, ref0: Tensor, enc_cls: Tensor,
                         enc_boxes: Tensor, batch_gt_instances: InstanceList,
                         batch_img_metas: List[dict],
                         dn_meta: Optional[Dict[str, int]]) -> dict:
        """All losses; shapes as in :meth:`loss` (queries = DN + matching).

        Args:
            all_cls (Tensor): (L, B, Qt, C). all_boxes (Tensor): (L, B, Qt, 4).
            all_logits (Tensor): (L, B, Qt, 4(N+1)).
            pre_cls (Tensor): (B, Qt, C). pre_boxes, ref0 (Tensor): (B, Qt, 4).
            enc_cls (Tensor): (B, Q, C). enc_boxes (Tensor): (B, Q, 4).
        """
        nd = dn_meta['num_denoising_queries'] if dn_meta is not None else 0
        num_layers = all_cls.shape[0]
        factors = self._factors(all_boxes, batch_img_metas)
        m = slice(nd, None)

        # ---- matching part: own matches, union set (incl. encoder top-k)
        losses, counts = self._matching_losses(
            all_cls[:, :, m], all_boxes[:, :, m], all_logits[:, :, m],
            pre_cls[:, m], pre_boxes[:, m], ref0[:, m],
            [('enc_', enc_cls, enc_boxes)], batch_gt_instances,
            batch_img_metas)
        layer_prefix = self._layer_prefixes(num_layers)

        # ---- denoising part (keys exist even with 0 DN queries: DDP)
        if dn_meta is not None:
            d = slice(0, nd)
            dn_pairs = self._dn_pairs(batch_gt_instances, dn_meta,
                                      all_cls.device)
            num_dn = self._num(sum(len(q) for q, _ in dn_pairs), all_boxes)
            dn_outputs = [(f'{p}dn_', all_cls[i][:, d], all_boxes[i][:, d],
                           dn_pairs) for i, p in enumerate(layer_prefix)]
            if self.dn_pre_loss:
                dn_outputs.append(
                    ('dn_pre_', pre_cls[:, d], pre_boxes[:, d], dn_pairs))
            dn_losses, dn_ious = self._output_losses(
                dn_outputs, dn_pairs, batch_gt_instances, factors, num_dn,
                num_dn)
            losses.update(dn_losses)
            dn_targets = self._fgl_targets(ref0[:, d], dn_pairs,
                                           batch_gt_instances, factors)
            dn_go, _ = self._go_lsd_losses(
                all_logits[:, :, d], all_cls[-1][:, d], dn_pairs,
                dn_ious[:num_layers], dn_targets, num_dn,
                [f'{p}dn_loss_fgl' for p in layer_prefix],
                [f'{p}dn_loss_ddf' for p in layer_prefix], counts)
            losses.update(dn_go)
        return self._finalize(losses)

    @staticmethod
    def _dn_pairs(batch_gt_instances: InstanceList, dn_meta: Dict[str, int],
                  device: torch.device) -> Pairs:
        """DN positives (query, gt) per image, as mmdet's DINOHead."""
        groups = dn_meta['num_denoising_groups']
        per_group = dn_meta['num_denoising_queries'] // max(groups, 1)
        pairs = []
        for gt in batch_gt_instances:
            t = torch.arange(len(gt), dtype=torch.long, device=device)
            start = torch.arange(groups, dtype=torch.long, device=device)
            q = (start[:, None] * per_group + t[None]).flatten()
            pairs.append((q, t.repeat(groups)))
        return pairs
