"""Head-side parts of FDR + GO-LSD shared by the DETR heads of mmkd.

:class:`FDRHeadMixin` adds to an MMDetection Deformable-DETR-style head
(``cls_branches``/``reg_branches``): per-layer FDR branches
(dim -> 4 * (N + 1)), the first-layer plain box branch ``pre_reg_branch``,
the weighting function ``project``, optional LQE, and the per-output losses:
classification on the output's own Hungarian match, L1/GIoU and FGL on the
union set, DDF against the last layer. Which outputs and assignments the
losses run on is decided here; the loss terms of one output are in
``mmkd/det/fdr_head_losses.py``.
"""
import copy
from typing import Dict, List, Literal, Optional, Sequence, Tuple

import torch
from mmdet.models.losses import VarifocalLoss
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor, nn

from mmkd.registry import MODELS
from .assign import BatchGT, batch_gt, union_assignment
from .fdr_head_losses import FDRLossTermsMixin
from .fdr_ops import weighting_function

__all__ = ['FDRHeadMixin', 'LQE']


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
        prob = logits.reshape(*logits.shape[:-1], 4, self.num_bins).softmax(-1)
        top = prob.topk(self.k, dim=-1).values
        stat = torch.cat([top, top.mean(-1, keepdim=True)], -1)
        quality = self.mlp(stat.flatten(-2).to(scores.dtype))
        return scores + quality


class FDRHeadMixin(FDRLossTermsMixin):
    """Mixin for a DETR head (mmdet ``DeformableDETRHead`` family): put it
    first among the bases; it takes the FDR arguments and passes the rest to
    the host head.

    Every loss runs on dense (B, Q) assignments (GT index per query, -1 for
    none) and masks, so the training step never waits for the device in
    mmkd's code (see ``docs/experiments/dfine.md`` for what mmdet still does).

    Args:
        reg_max (int): ``N``. Defaults to 32.
        up (float): ``a``. Defaults to 0.5.
        reg_scale (float): ``R = 1 / c``. Defaults to 4.0.
        loss_fgl (dict, optional): Defaults to ``mmkd.FGLLoss`` (0.15).
        loss_ddf (dict, optional): Defaults to ``mmkd.DDFLoss`` (1.5, T=5,
            ``reduction='code'``).
        cls_loss (str): ``'vfl'`` uses D-FINE's VFL (the host's
            ``loss_cls`` is then not used); ``'host'`` keeps ``loss_cls``.
            Defaults to 'vfl': with the host's focal loss and no LQE the FDR
            layers stopped refining on BCCD (``docs/experiments/dfine.md``).
        vfl_cfg (dict, optional): ``alpha`` (0.75), ``gamma`` (2.0),
            ``loss_weight`` (1.0) of the VFL. Defaults to None.
        share_fdr_head (bool): One FDR branch for all layers (residual logits
            still accumulate). Defaults to False.
        use_lqe (bool): Add LQE to the class scores (the official decoder
            always has it). Defaults to True.
        go_lsd (bool): GO-LSD: L1/GIoU/FGL of every output on the union set
            of all outputs' matches, and DDF. False gives FDR alone: each
            output's box losses and FGL on its own Hungarian match,
            normalised by the number of GT as in mmdet's DETR heads, and no
            DDF (no ``loss_ddf`` keys). Defaults to True.
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
                 cls_loss: Literal['host', 'vfl'] = 'vfl',
                 vfl_cfg: Optional[dict] = None,
                 share_fdr_head: bool = False,
                 use_lqe: bool = True,
                 go_lsd: bool = True,
                 nan_to_zero: bool = False,
                 **kwargs) -> None:
        if cls_loss not in ('host', 'vfl'):
            raise ValueError("cls_loss should be 'host' or 'vfl', "
                             f'but got {cls_loss!r}')
        # set before the host's __init__, which calls _init_layers
        self.reg_max, self.up, self.reg_scale = reg_max, up, float(reg_scale)
        self._project = weighting_function(reg_max, up, reg_scale)
        self.cls_loss_mode = cls_loss
        self.vfl_cfg = dict(alpha=0.75, gamma=2.0, loss_weight=1.0)
        self.vfl_cfg.update(vfl_cfg or {})
        self.share_fdr_head = share_fdr_head
        self.use_lqe = use_lqe
        self.go_lsd = go_lsd
        self.nan_to_zero = nan_to_zero
        self._loss_fgl_cfg = loss_fgl or dict(
            type='mmkd.FGLLoss', loss_weight=0.15)
        self._loss_ddf_cfg = loss_ddf or dict(
            type='mmkd.DDFLoss', loss_weight=1.5, temperature=5.0)
        super().__init__(*args, **kwargs)
        if cls_loss == 'host' and isinstance(self.loss_cls, VarifocalLoss):
            # the host path passes class indices; mmdet's VFL needs
            # IoU-scaled one-hot targets and fails on a size assert
            raise ValueError(
                "loss_cls should not be mmdet's VarifocalLoss with "
                "cls_loss='host', but got VarifocalLoss; set "
                "cls_loss='vfl' for D-FINE's VFL (vfl_cfg sets alpha, "
                'gamma, loss_weight)')

    def _init_layers(self) -> None:
        """Host branches, then FDR branches for the decoder layers; with two
        stages the last reg branch stays a 4-output branch for the encoder
        proposals."""
        super()._init_layers()
        num_fdr_layers = self.num_pred_layer - int(self.as_two_stage)
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

    def init_weights(self) -> None:
        """Host init (incl. Deformable DETR's ``bias[2:] = -2``), then zero
        the last Linear of every box branch (so every layer's box equals the
        pre box at step 0) and the LQE output layer."""
        super().init_weights()
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

    def _loss_inputs(
        self, hidden_states: Tensor, references: List[Tensor],
        fdr_logits: Tensor, fdr_boxes: Tensor, batch_data_samples: SampleList
    ) -> Tuple[BatchGT, Tensor, Tensor, Tensor]:
        """The batch's GT, every layer's scores and boxes, and the first
        layer's scores for the plain ``pre`` head."""
        gt = batch_gt([s.gt_instances for s in batch_data_samples],
                      [s.metainfo for s in batch_data_samples], fdr_boxes)
        all_cls, all_boxes = self(hidden_states, references, fdr_logits,
                                  fdr_boxes)
        pre_cls = self.cls_branches[0](hidden_states[0])
        return gt, all_cls, all_boxes, pre_cls

    @staticmethod
    def _layer_prefixes(num_layers: int) -> List[str]:
        """mmdet's key prefixes: ``d0.`` .. ``d{L-2}.`` and '' (last)."""
        return [f'd{i}.' for i in range(num_layers - 1)] + ['']

    def _matching_losses(
        self, all_cls: Tensor, all_boxes: Tensor, all_logits: Tensor,
        pre_cls: Tensor, pre_boxes: Tensor, ref0: Tensor,
        extra_outputs: Sequence[Tuple[str, Tensor, Tensor]], gt: BatchGT
    ) -> Tuple[Dict[str, Tensor], Optional[Tuple[Tensor, Tensor]]]:
        """Losses of the matching queries of every layer, the ``pre_`` head
        and ``extra_outputs`` (e.g. the encoder top-k, which join the union).

        Args:
            all_cls (Tensor): (L, B, Q, C). all_boxes (Tensor): (L, B, Q, 4).
            all_logits (Tensor): (L, B, Q, 4(N+1)).
            pre_cls (Tensor): (B, Q, C). pre_boxes, ref0 (Tensor): (B, Q, 4).
            extra_outputs: ``(prefix, cls (B, Q, C), boxes (B, Q, 4))``.
            gt (BatchGT): The batch's ground truth.

        Returns:
            tuple: losses, and the DDF counts ``(|M|, |U|)`` for DN reuse
            (None with ``go_lsd=False``).
        """
        num_layers = all_cls.shape[0]
        prefixes = self._layer_prefixes(num_layers)
        outputs = [(prefixes[i], all_cls[i], all_boxes[i])
                   for i in range(num_layers)]
        outputs += [('pre_', pre_cls, pre_boxes)] + list(extra_outputs)
        assigns = [self._hungarian(c, b, gt) for _, c, b in outputs]
        num_gt = sum(len(g) for g in gt.instances)
        cls_avg = self._num(num_gt, all_boxes, self.sync_cls_avg_factor)
        if not self.go_lsd:
            return self._own_match_losses(outputs, assigns, all_logits, ref0,
                                          gt, cls_avg)
        union = union_assignment(torch.stack(assigns), gt.labels.shape[1])
        num_union = self._num((union >= 0).sum(), all_boxes)
        losses, ious = self._output_losses(
            [o + (a, ) for o, a in zip(outputs, assigns)], union, gt, cls_avg,
            num_union)
        targets = self._fgl_targets(ref0, union, gt)
        go_losses, counts = self._go_lsd_losses(
            all_logits, all_cls[-1], union, ious[:num_layers], targets,
            num_union, [f'{p}loss_fgl'
                        for p in prefixes], [f'{p}loss_ddf' for p in prefixes])
        losses.update(go_losses)
        return losses, counts

    def _own_match_losses(self, outputs: Sequence[Tuple[str, Tensor, Tensor]],
                          assigns: Sequence[Tensor], all_logits: Tensor,
                          ref0: Tensor, gt: BatchGT,
                          cls_avg: Tensor) -> Tuple[Dict[str, Tensor], None]:
        """``go_lsd=False``: every output's losses on its own match (boxes
        normalised by the all-reduced number of GT, as mmdet's DETR heads
        do), FGL per layer on the layer's own match, no DDF."""
        num_layers, b, q, d = all_logits.shape
        box_avg = self._num(sum(len(g) for g in gt.instances), all_logits)
        losses, ious = {}, []
        for (prefix, cls_scores, boxes), assign in zip(outputs, assigns):
            part, (iou, ) = self._output_losses(
                [(prefix, cls_scores, boxes, assign)], assign, gt, cls_avg,
                box_avg)
            losses.update(part)
            ious.append(iou)
        prefixes = self._layer_prefixes(num_layers)
        for lid in range(num_layers):
            losses[f'{prefixes[lid]}loss_fgl'] = self.loss_fgl(
                all_logits[lid].reshape(b * q, d),
                self._fgl_targets(ref0, assigns[lid], gt), ious[lid].view(-1),
                box_avg)
        return losses, None

    def _finalize(self, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Apply the ``nan_to_zero`` switch (off by default)."""
        if self.nan_to_zero:
            return {k: torch.nan_to_num(v, nan=0.0) for k, v in losses.items()}
        return losses
