"""Head-side parts of FDR + GO-LSD shared by the DETR heads of mmkd.

:class:`FDRHeadMixin` adds to an MMDetection Deformable-DETR-style head
(``cls_branches``/``reg_branches``): per-layer FDR branches
(dim -> 4 * (N + 1)), the first-layer plain box branch ``pre_reg_branch``,
the weighting function ``project``, optional LQE, and the per-output losses:
classification on the output's own Hungarian match, L1/GIoU and FGL on the
union set, DDF against the last layer.
"""
import copy
from typing import Dict, List, Literal, Optional, Sequence, Tuple

import torch
from mmdet.models.losses import QualityFocalLoss
from mmdet.structures.bbox import bbox_overlaps, bbox_xyxy_to_cxcywh
from mmdet.structures import SampleList
from mmdet.utils import InstanceList, reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmkd.registry import MODELS
from .fdr_ops import (bbox2distance, box_cxcywh_to_xyxy_clamped,
                      translate_gt, weighting_function)
from .losses import varifocal_loss
from .union import assign_result_to_pairs, union_matches_batch

__all__ = ['FDRHeadMixin', 'LQE']

Pairs = List[Tuple[Tensor, Tensor]]  # per image (query_inds, gt_inds)


class LQE(nn.Module):
    """Localization Quality Estimator: adds a score from the top-k bin
    probabilities of each edge (and their mean) to the class logits.

    Args:
        num_bins (int): N + 1.
        k (int): Top-k probabilities per edge. Defaults to 4.
        hidden (int): Hidden width. Defaults to 64.
    """

    def __init__(self, num_bins: int, k: int = 4, hidden: int = 64) -> None:
        super().__init__()
        self.num_bins, self.k = num_bins, k
        self.mlp = nn.Sequential(
            nn.Linear(4 * (k + 1), hidden), nn.ReLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, scores: Tensor, logits: Tensor) -> Tensor:
        """scores (..., C), logits (..., 4(N+1)) -> scores (..., C)."""
        prob = logits.reshape(*logits.shape[:-1], 4,
                              self.num_bins).softmax(-1)
        top = prob.topk(self.k, dim=-1).values
        stat = torch.cat([top, top.mean(-1, keepdim=True)], -1)
        quality = self.mlp(stat.flatten(-2).to(scores.dtype))
        return scores + quality


class FDRHeadMixin:
    """Mixin for a DETR head (mmdet ``DeformableDETRHead`` family).

    Call :meth:`_init_fdr_args` before the host ``__init__``; override
    ``_init_layers`` and ``init_weights`` with :meth:`_init_fdr_layers` and
    :meth:`_init_fdr_weights`.
    """

    # ------------------------------------------------------------ set-up
    def _init_fdr_args(self, reg_max: int, up: float, reg_scale: float,
                       loss_fgl: Optional[dict], loss_ddf: Optional[dict],
                       cls_loss: str, vfl_cfg: Optional[dict],
                       stable_union: bool, share_fdr_head: bool,
                       use_lqe: bool, nan_to_zero: bool) -> None:
        if cls_loss not in ('host', 'vfl'):
            raise ValueError("cls_loss should be 'host' or 'vfl', "
                             f'but got {cls_loss!r}')
        self.reg_max, self.up, self.reg_scale = reg_max, up, float(reg_scale)
        self._project = weighting_function(reg_max, up, reg_scale)
        self.cls_loss_mode = cls_loss
        self.vfl_cfg = dict(alpha=0.75, gamma=2.0, loss_weight=1.0)
        self.vfl_cfg.update(vfl_cfg or {})
        self.stable_union = stable_union
        self.share_fdr_head = share_fdr_head
        self.use_lqe = use_lqe
        self.nan_to_zero = nan_to_zero
        self._loss_fgl_cfg = loss_fgl or dict(
            type='mmkd.FGLLoss', loss_weight=0.15)
        self._loss_ddf_cfg = loss_ddf or dict(
            type='mmkd.DDFLoss', loss_weight=1.5, temperature=5.0)

    def _init_fdr_layers(self, num_fdr_layers: int) -> None:
        """Replace the first ``num_fdr_layers`` reg branches by FDR ones."""
        self.register_buffer('project', self._project, persistent=False)
        self.loss_fgl = MODELS.build(self._loss_fgl_cfg)
        self.loss_ddf = MODELS.build(self._loss_ddf_cfg)
        plain = self.reg_branches[-1]
        fdr = copy.deepcopy(plain)
        fdr[-1] = nn.Linear(self.embed_dims, 4 * (self.reg_max + 1))
        if self.share_fdr_head:
            fdr_list = [fdr] * num_fdr_layers
        else:
            fdr_list = [copy.deepcopy(fdr) for _ in range(num_fdr_layers)]
        rest = list(self.reg_branches)[num_fdr_layers:]
        self.reg_branches = nn.ModuleList(fdr_list + rest)
        self.pre_reg_branch = copy.deepcopy(plain)
        self.num_fdr_layers = num_fdr_layers
        self.lqe_layers = nn.ModuleList(
            [LQE(self.reg_max + 1)
             for _ in range(num_fdr_layers)]) if self.use_lqe else None

    def _init_fdr_weights(self) -> None:
        """Zero the last Linear of every box branch (so every layer's box
        equals the pre box at step 0) and the LQE output layer."""
        for branch in list(self.reg_branches) + [self.pre_reg_branch]:
            nn.init.zeros_(branch[-1].weight)
            nn.init.zeros_(branch[-1].bias)
        if self.lqe_layers is not None:
            for m in self.lqe_layers:
                nn.init.zeros_(m.mlp[-1].weight)
                nn.init.zeros_(m.mlp[-1].bias)

    # ------------------------------------------------ forward / predict
    def forward(self,
                hidden_states: Tensor,
                references: List[Tensor],
                fdr_logits: Optional[Tensor] = None,
                fdr_boxes: Optional[Tensor] = None,
                **kwargs) -> Tuple[Tensor, Tensor]:
        """Class scores (L, B, Q, C) and FDR boxes (L, B, Q, 4)."""
        if fdr_boxes is None or fdr_logits is None:
            raise ValueError('fdr_boxes and fdr_logits should be given by '
                             'an mmkd FDR detector (e.g. mmkd.DINOFDR), '
                             'but got None')
        scores = []
        for lid in range(hidden_states.shape[0]):
            score = self.cls_branches[lid](hidden_states[lid])
            if self.lqe_layers is not None:
                score = self.lqe_layers[lid](score, fdr_logits[lid])
            scores.append(score)
        return torch.stack(scores), fdr_boxes

    def predict(self,
                hidden_states: Tensor,
                references: List[Tensor],
                batch_data_samples: SampleList,
                rescale: bool = True,
                fdr_logits: Optional[Tensor] = None,
                fdr_boxes: Optional[Tensor] = None,
                **kwargs) -> InstanceList:
        """Detections from the last layer's scores and FDR boxes (w, h
        clamped at 0)."""
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        all_cls, all_boxes = self(hidden_states, references, fdr_logits,
                                  fdr_boxes)
        boxes = all_boxes.clone()
        boxes[..., 2:] = boxes[..., 2:].clamp(min=0)
        return self.predict_by_feat(
            all_cls, boxes, batch_img_metas=batch_img_metas, rescale=rescale)

    @staticmethod
    def _layer_prefixes(num_layers: int) -> List[str]:
        """mmdet's key prefixes: ``d0.`` .. ``d{L-2}.`` and '' (last)."""
        return [f'd{i}.' for i in range(num_layers - 1)] + ['']

    def _matching_losses(self, all_cls: Tensor, all_boxes: Tensor,
                         all_logits: Tensor, pre_cls: Tensor,
                         pre_boxes: Tensor, ref0: Tensor,
                         extra_outputs: Sequence[Tuple[str, Tensor, Tensor]],
                         batch_gt_instances: InstanceList,
                         batch_img_metas: List[dict]
                         ) -> Tuple[Dict[str, Tensor], Tuple[float, float]]:
        """Losses of the matching queries of every layer, the ``pre_`` head
        and ``extra_outputs`` (e.g. the encoder top-k, which join the union).

        Args:
            all_cls (Tensor): (L, B, Q, C). all_boxes (Tensor): (L, B, Q, 4).
            all_logits (Tensor): (L, B, Q, 4(N+1)).
            pre_cls (Tensor): (B, Q, C). pre_boxes, ref0 (Tensor): (B, Q, 4).
            extra_outputs: ``(prefix, cls (B, Q, C), boxes (B, Q, 4))``.

        Returns:
            tuple: losses, and the DDF counts ``(|M|, |U|)`` for DN reuse.
        """
        num_layers = all_cls.shape[0]
        factors = self._factors(all_boxes, batch_img_metas)
        prefixes = self._layer_prefixes(num_layers)
        outputs = [(prefixes[i], all_cls[i], all_boxes[i])
                   for i in range(num_layers)]
        outputs += [('pre_', pre_cls, pre_boxes)] + list(extra_outputs)
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
        targets = self._fgl_targets(ref0, union, batch_gt_instances, factors)
        go_losses, counts = self._go_lsd_losses(
            all_logits, all_cls[-1], union, ious[:num_layers], targets,
            num_union, [f'{p}loss_fgl' for p in prefixes],
            [f'{p}loss_ddf' for p in prefixes])
        losses.update(go_losses)
        return losses, counts

    # ---------------------------------------------------------- matching
    @staticmethod
    def _factors(boxes: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """(B, 1, 4) image-size factors (w, h, w, h)."""
        return torch.stack([
            boxes.new_tensor([m['img_shape'][1], m['img_shape'][0]] * 2)
            for m in batch_img_metas
        ])[:, None]

    @torch.no_grad()
    def _hungarian(self, cls_scores: Tensor, boxes: Tensor,
                   batch_gt_instances: InstanceList,
                   batch_img_metas: List[dict]) -> Pairs:
        """Hungarian (query, gt) pairs per image for one output."""
        xyxy = box_cxcywh_to_xyxy_clamped(boxes.float()) * self._factors(
            boxes.float(), batch_img_metas)
        pairs = []
        for i, (gt, meta) in enumerate(zip(batch_gt_instances,
                                           batch_img_metas)):
            pred = InstanceData(scores=cls_scores[i].float(), bboxes=xyxy[i])
            result = self.assigner.assign(
                pred_instances=pred, gt_instances=gt, img_meta=meta)
            pairs.append(assign_result_to_pairs(result.gt_inds))
        return pairs

    @staticmethod
    def _gather(x: Tensor, pairs: Pairs) -> Tensor:
        """Rows of x (B, Q, ...) at the pairs' queries, concatenated."""
        return torch.cat([x[i, q] for i, (q, _) in enumerate(pairs)])

    @staticmethod
    def _gt_boxes(pairs: Pairs, batch_gt_instances: InstanceList,
                  factors: Tensor) -> Tensor:
        """Normalised GT boxes (x1, y1, x2, y2) of the pairs, (K, 4)."""
        return torch.cat([
            gt.bboxes[g].float() / factors[i]
            for i, ((_, g), gt) in enumerate(zip(pairs, batch_gt_instances))
        ])

    @staticmethod
    def _num(count: int, ref: Tensor, sync: bool = True) -> float:
        value = ref.new_tensor(float(count))
        if sync:
            value = reduce_mean(value)
        return max(float(value), 1.0)

    # ------------------------------------------------------------ losses
    def _cls_loss(self, cls_scores: Tensor, boxes: Tensor, pairs: Pairs,
                  batch_gt_instances: InstanceList, factors: Tensor,
                  avg_factor: float) -> Tensor:
        """Classification loss of one output on its own matches."""
        b, q, c = cls_scores.shape
        flat_idx = torch.cat([qi + i * q for i, (qi, _) in enumerate(pairs)])
        labels_pos = torch.cat([
            gt.labels[g] for (_, g), gt in zip(pairs, batch_gt_instances)
        ]).long()
        need_iou = self.cls_loss_mode == 'vfl' or isinstance(
            self.loss_cls, QualityFocalLoss)
        iou = cls_scores.new_zeros(b * q, dtype=torch.float32)
        if need_iou and flat_idx.numel() > 0:
            pred = box_cxcywh_to_xyxy_clamped(self._gather(boxes, pairs))
            gts = self._gt_boxes(pairs, batch_gt_instances, factors)
            iou[flat_idx] = bbox_overlaps(
                pred.float().detach(), gts, is_aligned=True).clamp(min=0)
        flat = cls_scores.reshape(-1, c)
        if self.cls_loss_mode == 'vfl':
            onehot = flat.new_zeros(flat.shape, dtype=torch.float32)
            onehot[flat_idx, labels_pos] = 1.0
            cfg = self.vfl_cfg
            return cfg['loss_weight'] * varifocal_loss(
                flat, onehot, iou, cfg['alpha'], cfg['gamma'], avg_factor)
        labels = flat.new_full((b * q, ), self.num_classes, dtype=torch.long)
        labels[flat_idx] = labels_pos
        weights = flat.new_ones(b * q)
        if isinstance(self.loss_cls, QualityFocalLoss):
            return self.loss_cls(
                flat, (labels, iou), weights, avg_factor=avg_factor)
        return self.loss_cls(flat, labels, weights, avg_factor=avg_factor)

    def _box_losses(self, boxes: Tensor, pairs: Pairs,
                    batch_gt_instances: InstanceList, factors: Tensor,
                    avg_factor: float) -> Tuple[Tensor, Tensor, Tensor]:
        """L1 and GIoU of one output on ``pairs``; also the detached IoU
        (K, ) of its boxes with their GT."""
        pred = self._gather(boxes, pairs).float()
        if pred.numel() == 0:
            zero = boxes.float().sum() * 0.0
            return zero, zero, pred.new_zeros(0)
        gts = self._gt_boxes(pairs, batch_gt_instances, factors)
        img_f = torch.cat([
            factors[i].expand(len(q), 4) for i, (q, _) in enumerate(pairs)
        ])
        pred_xyxy = box_cxcywh_to_xyxy_clamped(pred)
        loss_bbox = self.loss_bbox(
            pred, bbox_xyxy_to_cxcywh(gts), avg_factor=avg_factor)
        loss_iou = self.loss_iou(
            pred_xyxy * img_f, gts * img_f, avg_factor=avg_factor)
        with torch.no_grad():
            iou = bbox_overlaps(pred_xyxy, gts, is_aligned=True).clamp(min=0)
        return loss_bbox, loss_iou, iou

    def _fgl_targets(self, ref0: Tensor, pairs: Pairs,
                     batch_gt_instances: InstanceList,
                     factors: Tensor) -> Tuple[Tensor, ...]:
        """Two-hot targets from the fixed initial boxes (computed once)."""
        ref = self._gather(ref0, pairs).float()
        gts = self._gt_boxes(pairs, batch_gt_instances, factors)
        return translate_gt(
            bbox2distance(ref, gts, self.reg_scale), self.project)

    def _output_losses(self, outputs: Sequence[Tuple[str, Tensor, Tensor,
                                                     Pairs]],
                       box_pairs: Pairs, batch_gt_instances: InstanceList,
                       factors: Tensor, cls_avg: float,
                       box_avg: float) -> Tuple[Dict[str, Tensor], list]:
        """cls (own pairs) + L1/GIoU (``box_pairs``) for named outputs.

        Args:
            outputs: ``(prefix, cls_scores, boxes, cls_pairs)``; keys are
                ``prefix + 'loss_cls'`` etc.

        Returns:
            tuple: the loss dict and the per-output IoU on ``box_pairs``.
        """
        losses, ious = {}, []
        for prefix, cls_scores, boxes, pairs in outputs:
            losses[f'{prefix}loss_cls'] = self._cls_loss(
                cls_scores, boxes, pairs, batch_gt_instances, factors,
                cls_avg)
            (losses[f'{prefix}loss_bbox'], losses[f'{prefix}loss_iou'],
             iou) = self._box_losses(boxes, box_pairs, batch_gt_instances,
                                     factors, box_avg)
            ious.append(iou)
        return losses, ious

    def _go_lsd_losses(self, logits: Tensor, cls_last: Tensor, pairs: Pairs,
                       ious: List[Tensor], targets: Tuple[Tensor, ...],
                       avg_factor: float, names: Sequence[str],
                       ddf_names: Sequence[str],
                       counts: Optional[Tuple[float, float]] = None
                       ) -> Tuple[Dict[str, Tensor], Tuple[float, float]]:
        """FGL for every layer and DDF for all but the last one.

        Args:
            logits (Tensor): (L, B, Q, 4(N+1)).
            cls_last (Tensor): Last layer's class logits (B, Q, C), gives
                the confidence weight of the unmatched queries.
            pairs (Pairs): Union set (matching part) or DN positives.
            ious (list[Tensor]): Per layer, IoU (K, ) on ``pairs``.
            targets (tuple[Tensor]): FGL two-hot targets on ``pairs``.
            names / ddf_names: FGL keys per layer; DDF keys for layers
                0..L-2.
            counts (tuple[float], optional): ``(|M|, |U|)`` in edge rows
                for the DDF balance; None uses this part's own counts.

        Returns:
            tuple: the loss dict and the counts used.
        """
        losses = {}
        num_layers, b, q = logits.shape[:3]
        mask = logits.new_zeros((b, q), dtype=torch.bool)
        for i, (qi, _) in enumerate(pairs):
            mask[i, qi] = True
        if counts is None:
            counts = (4.0 * float(mask.sum()), 4.0 * float((~mask).sum()))
        conf = cls_last.detach().float().sigmoid().amax(-1) if \
            cls_last.shape[-1] > 0 else logits.new_zeros((b, q))
        for lid in range(num_layers):
            union_logits = self._gather(logits[lid], pairs)
            losses[names[lid]] = self.loss_fgl(union_logits, targets,
                                               ious[lid], avg_factor)
            if lid == num_layers - 1:
                continue
            weight = conf.clone()
            if ious[lid].numel() > 0:
                weight[torch.cat([
                    torch.full_like(qi, i) for i, (qi, _) in enumerate(pairs)
                ]), torch.cat([qi for qi, _ in pairs])] = ious[lid].float()
            losses[ddf_names[lid]] = self.loss_ddf(
                logits[lid], logits[-1], weight, mask, counts[0], counts[1])
        return losses, counts

    def _finalize(self, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Apply the ``nan_to_zero`` switch (off by default)."""
        if self.nan_to_zero:
            return {k: torch.nan_to_num(v, nan=0.0) for k, v in losses.items()}
        return losses
