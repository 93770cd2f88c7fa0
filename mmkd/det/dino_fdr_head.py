"""DINO head with FDR + GO-LSD losses (D-FINE, arXiv 2410.13842)."""
from typing import Dict, List, Literal, Optional, Tuple

import torch
from mmdet.models.dense_heads import DINOHead
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from mmkd.registry import MODELS
from .fdr_head import FDRHeadMixin, Pairs
from .union import union_matches_batch

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

    def forward(self,
                hidden_states: Tensor,
                references: List[Tensor],
                fdr_logits: Optional[Tensor] = None,
                fdr_boxes: Optional[Tensor] = None,
                **kwargs) -> Tuple[Tensor, Tensor]:
        """Class scores (L, B, Q, C) and FDR boxes (L, B, Q, 4)."""
        if fdr_boxes is None or fdr_logits is None:
            raise ValueError('fdr_boxes and fdr_logits should be given by '
                             'mmkd.DINOFDR, but got None; use the head with '
                             "type='mmkd.DINOFDR'")
        scores = []
        for lid in range(hidden_states.shape[0]):
            score = self.cls_branches[lid](hidden_states[lid])
            if self.lqe_layers is not None:
                score = self.lqe_layers[lid](score, fdr_logits[lid])
            scores.append(score)
        return torch.stack(scores), fdr_boxes

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
        layer_prefix = [f'd{i}.' for i in range(num_layers - 1)] + ['']

        # ---- matching part: own matches, union set, normalisers
        outputs = [(layer_prefix[i], all_cls[i][:, m], all_boxes[i][:, m])
                   for i in range(num_layers)]
        outputs += [('pre_', pre_cls[:, m], pre_boxes[:, m]),
                    ('enc_', enc_cls, enc_boxes)]
        matches = [
            self._hungarian(c, b, batch_gt_instances, batch_img_metas)
            for _, c, b in outputs
        ]
        union = union_matches_batch(matches, self.stable_union)
        num_gt = sum(len(gt) for gt in batch_gt_instances)
        cls_avg = self._num(num_gt, all_boxes, self.sync_cls_avg_factor)
        num_union = self._num(sum(len(q) for q, _ in union), all_boxes)
        losses, ious = self._output_losses(
            [o + (p, ) for o, p in zip(outputs, matches)], union,
            batch_gt_instances, factors, cls_avg, num_union)
        targets = self._fgl_targets(ref0[:, m], union, batch_gt_instances,
                                    factors)
        go_losses, counts = self._go_lsd_losses(
            all_logits[:, :, m], all_cls[-1][:, m], union,
            ious[:num_layers], targets, num_union,
            [f'{p}loss_fgl' for p in layer_prefix],
            [f'{p}loss_ddf' for p in layer_prefix])
        losses.update(go_losses)

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

    def predict(self,
                hidden_states: Tensor,
                references: List[Tensor],
                batch_data_samples: SampleList,
                rescale: bool = True,
                fdr_logits: Optional[Tensor] = None,
                fdr_boxes: Optional[Tensor] = None,
                **kwargs) -> InstanceList:
        """Detections from the last layer's scores and FDR boxes."""
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        all_cls, all_boxes = self(hidden_states, references, fdr_logits,
                                  fdr_boxes)
        boxes = all_boxes.clone()
        boxes[..., 2:] = boxes[..., 2:].clamp(min=0)
        return self.predict_by_feat(
            all_cls, boxes, batch_img_metas=batch_img_metas, rescale=rescale)
