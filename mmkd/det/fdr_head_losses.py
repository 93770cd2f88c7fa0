"""The loss terms of one FDR head output, shared by the DETR heads of mmkd.

:class:`FDRLossTermsMixin` holds what :class:`mmkd.det.FDRHeadMixin` computes
per output on dense (B, Q) assignments: the Hungarian match, the normalisers,
classification (the host's loss or D-FINE's VFL), L1/GIoU, the FGL targets,
and FGL + DDF for the decoder layers. :class:`~mmkd.det.FDRHeadMixin` decides
which outputs and assignments they run on (GO-LSD's union set or each
output's own match).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.losses import QualityFocalLoss
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.structures.bbox import bbox_xyxy_to_cxcywh
from mmdet.utils import reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from .assign import BatchGT
from .fdr_ops import (aligned_iou, bbox2distance, box_cxcywh_to_xyxy_clamped,
                      translate_gt)
from .losses import varifocal_loss

__all__ = ['FDRLossTermsMixin']


class FDRLossTermsMixin:
    """Per-output matching and loss terms of an FDR head; a base of
    :class:`~mmkd.det.FDRHeadMixin`, which sets the attributes they read
    (``assigner``, ``loss_cls``/``loss_bbox``/``loss_iou`` of the host head,
    ``loss_fgl``, ``loss_ddf``, ``cls_loss_mode``, ``vfl_cfg``, ``go_lsd``,
    ``reg_scale``, ``project``)."""

    # ---------------------------------------------------------- matching
    @torch.no_grad()
    def _hungarian(self, cls_scores: Tensor, boxes: Tensor,
                   gt: BatchGT) -> Tensor:
        """(B, Q) GT index the assigner gives each query, -1 for none."""
        xyxy = box_cxcywh_to_xyxy_clamped(boxes.float()) * gt.factors
        rows = []
        for i, (inst, meta) in enumerate(zip(gt.instances, gt.metas)):
            pred = InstanceData(scores=cls_scores[i].float(), bboxes=xyxy[i])
            result = self.assigner.assign(
                pred_instances=pred, gt_instances=inst, img_meta=meta)
            # gt_inds: 0 background, k + 1 GT k, -1 ignored (background)
            rows.append((result.gt_inds - 1).clamp(min=-1))
        return torch.stack(rows)

    @staticmethod
    def _num(count: Union[int, Tensor],
             ref: Tensor,
             sync: bool = True) -> Tensor:
        """A normaliser >= 1, all-reduced (mean) when ``sync``: an fp32 0-d
        tensor on ``ref``'s device, which no Python ``max`` has to read."""
        if isinstance(count, Tensor):
            value = count.float()
        else:
            value = ref.new_full((), float(count), dtype=torch.float32)
        if sync:
            value = reduce_mean(value)
        return value.clamp(min=1.0)

    # ------------------------------------------------------------ losses
    def _cls_loss(self, cls_scores: Tensor, boxes: Tensor, assign: Tensor,
                  gt: BatchGT, avg_factor: Tensor) -> Tensor:
        """Classification loss of one output on its own ``assign``."""
        b, q, c = cls_scores.shape
        matched = assign >= 0
        gt_boxes, gt_labels = gt.at(assign)
        labels = torch.where(matched, gt_labels, self.num_classes).view(-1)
        flat = cls_scores.reshape(-1, c)
        need_iou = self.cls_loss_mode == 'vfl' or isinstance(
            self.loss_cls, QualityFocalLoss)
        if need_iou:  # t of VFL / QFL: IoU with the GT, 0 if unmatched
            iou = aligned_iou(
                box_cxcywh_to_xyxy_clamped(boxes.detach().float()), gt_boxes)
            iou = torch.where(matched, iou.clamp(min=0), 0.0).view(-1)
        if self.cls_loss_mode == 'vfl':
            onehot = F.one_hot(labels, c + 1)[:, :c].float()
            cfg = self.vfl_cfg
            return cfg['loss_weight'] * varifocal_loss(
                flat, onehot, iou, cfg['alpha'], cfg['gamma'], avg_factor)
        weights = flat.new_ones(b * q)
        if isinstance(self.loss_cls, QualityFocalLoss):
            return self.loss_cls(
                flat, (labels, iou), weights, avg_factor=avg_factor)
        return self.loss_cls(flat, labels, weights, avg_factor=avg_factor)

    def _box_losses(self, boxes: Tensor, assign: Tensor, gt: BatchGT,
                    avg_factor: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """L1 and GIoU of one output on the queries ``assign`` matches; also
        the detached IoU (B, Q) of its boxes with their GT (0 elsewhere)."""
        matched = assign >= 0
        weight = matched.float()
        pred = boxes.float()
        gt_boxes, _ = gt.at(assign)
        pred_xyxy = box_cxcywh_to_xyxy_clamped(pred)
        # per-query losses, reduced over the matched ones as mmdet would
        # with avg_factor (a weight argument would make mmdet's losses test
        # `any(weight > 0)` on the host)
        loss_bbox = weight_reduce_loss(
            self.loss_bbox(
                pred, bbox_xyxy_to_cxcywh(gt_boxes),
                reduction_override='none'), weight[..., None], 'mean',
            avg_factor)
        loss_iou = weight_reduce_loss(
            self.loss_iou(
                pred_xyxy * gt.factors,
                gt_boxes * gt.factors,
                reduction_override='none'), weight, 'mean', avg_factor)
        with torch.no_grad():
            iou = torch.where(matched,
                              aligned_iou(pred_xyxy, gt_boxes).clamp(min=0),
                              0.0)
        return loss_bbox, loss_iou, iou

    def _fgl_targets(self, ref0: Tensor, assign: Tensor,
                     gt: BatchGT) -> Tuple[Tensor, ...]:
        """Two-hot targets (4 B Q, ) from the fixed initial boxes, computed
        once; rows of unassigned queries are finite and weighted 0."""
        gt_boxes, _ = gt.at(assign)
        return translate_gt(
            bbox2distance(ref0.float(), gt_boxes, self.reg_scale),
            self.project)

    def _output_losses(self, outputs: Sequence[Tuple[str, Tensor, Tensor,
                                                     Tensor]],
                       box_assign: Tensor, gt: BatchGT, cls_avg: Tensor,
                       box_avg: Tensor) -> Tuple[Dict[str, Tensor], list]:
        """cls (own assignment) + L1/GIoU (``box_assign``) for named outputs.

        Args:
            outputs: ``(prefix, cls_scores, boxes, cls_assign)``; keys are
                ``prefix + 'loss_cls'`` etc.

        Returns:
            tuple: the loss dict and the per-output IoU (B, Q) on
            ``box_assign``.
        """
        losses, ious = {}, []
        for prefix, cls_scores, boxes, assign in outputs:
            losses[f'{prefix}loss_cls'] = self._cls_loss(
                cls_scores, boxes, assign, gt, cls_avg)
            (losses[f'{prefix}loss_bbox'], losses[f'{prefix}loss_iou'],
             iou) = self._box_losses(boxes, box_assign, gt, box_avg)
            ious.append(iou)
        return losses, ious

    def _go_lsd_losses(
        self,
        logits: Tensor,
        cls_last: Tensor,
        assign: Tensor,
        ious: List[Tensor],
        targets: Tuple[Tensor, ...],
        avg_factor: Tensor,
        names: Sequence[str],
        ddf_names: Sequence[str],
        counts: Optional[Tuple[Tensor, Tensor]] = None
    ) -> Tuple[Dict[str, Tensor], Tuple[Tensor, Tensor]]:
        """FGL for every layer and DDF for all but the last one.

        Args:
            logits (Tensor): (L, B, Q, 4(N+1)).
            cls_last (Tensor): Last layer's class logits (B, Q, C), gives
                the confidence weight of the unmatched queries.
            assign (Tensor): (B, Q) union set (matching part) or DN
                positives, -1 for none.
            ious (list[Tensor]): Per layer, IoU (B, Q), 0 off ``assign``.
            targets (tuple[Tensor]): FGL two-hot targets of every query.
            names / ddf_names: FGL keys per layer; DDF keys for layers
                0..L-2.
            counts (tuple[Tensor], optional): ``(|M|, |U|)`` in edge rows
                for the DDF balance; None uses this part's own counts.

        Returns:
            tuple: the loss dict and the counts used.
        """
        losses = {}
        num_layers, b, q, d = logits.shape
        mask = assign >= 0
        if counts is None:
            counts = (4.0 * mask.sum().float(), 4.0 * (~mask).sum().float())
        conf = cls_last.detach().float().sigmoid().amax(-1) if \
            cls_last.shape[-1] > 0 else logits.new_zeros((b, q))
        for lid in range(num_layers):
            # unassigned queries have IoU weight 0 in FGL
            losses[names[lid]] = self.loss_fgl(logits[lid].reshape(b * q,
                                                                   d), targets,
                                               ious[lid].view(-1), avg_factor)
            if lid == num_layers - 1 or not self.go_lsd:
                continue
            weight = torch.where(mask, ious[lid].float(), conf)
            losses[ddf_names[lid]] = self.loss_ddf(logits[lid], logits[-1],
                                                   weight, mask, counts[0],
                                                   counts[1])
        return losses, counts
