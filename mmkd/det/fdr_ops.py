"""Tensor maths of Fine-grained Distribution Refinement (FDR).

D-FINE (Peng et al., "D-FINE: Redefine Regression Task in DETRs as
Fine-grained Distribution Refinement", ICLR 2025, arXiv 2410.13842) predicts,
for each box edge, a distribution over the ``N + 1`` values of a non-uniform
weighting function ``W(n)``; the edge offset is its expectation.

Units follow the official code: offsets are in *code units*, i.e. ``R`` times
the paper's units (fractions of the initial box size), with ``R = reg_scale``
(the paper's ``c = 1 / R``). Edge order is ``(left, top, right, bottom)``.

The maths runs in fp32 whatever the autocast state (fp16 CE/KL inflates
DDF about 5x, D-FINE issue #361). :class:`FDRTrace` and
:func:`run_fdr_decoder` hold what the FDR decoders and detectors share.
"""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    'weighting_function', 'distribution_integral', 'distance2bbox',
    'bbox2distance', 'translate_gt', 'box_cxcywh_to_xyxy_clamped',
    'aligned_iou', 'FDRTrace', 'run_fdr_decoder'
]


def weighting_function(reg_max: int = 32,
                       up: float = 0.5,
                       reg_scale: float = 4.0) -> Tensor:
    """The non-uniform weighting function ``W(n)``, ``n = 0..N``.

    Paper Eq. 3 with ``a = up`` and ``c = 1 / reg_scale``, returned in code
    units (``W_code = reg_scale * W_paper``): ``W(0) = -2ab``,
    ``W(N) = 2ab`` with ``b = reg_scale``, ``W(N / 2) = 0``, antisymmetric and
    strictly increasing, finest near 0.

    Args:
        reg_max (int): ``N``, the number of intervals; even and >= 4.
            Defaults to 32.
        up (float): ``a``, the upper bound of an edge move in box units.
            Defaults to 0.5.
        reg_scale (float): ``R = 1 / c``, the curvature scale. Defaults to 4.0.

    Returns:
        Tensor: Shape (N + 1, ), float32.

    Examples:
        >>> w = weighting_function(32, 0.5, 4.0)
        >>> w.shape, float(w[0]), float(w[16]), float(w[32])
        (torch.Size([33]), -4.0, 0.0, 4.0)
    """
    if not isinstance(reg_max, int) or reg_max < 4 or reg_max % 2:
        raise ValueError('reg_max should be an even int >= 4, '
                         f'but got {reg_max!r}')
    if up <= 0 or reg_scale <= 0:
        raise ValueError('up and reg_scale should be > 0, '
                         f'but got up={up}, reg_scale={reg_scale}')
    half = reg_max // 2
    bound = abs(up) * abs(reg_scale)
    step = (bound + 1.0)**(2.0 / (reg_max - 2))
    pos = torch.tensor([step**i - 1.0 for i in range(1, half)],
                       dtype=torch.float64)
    values = torch.cat([
        torch.tensor([-2.0 * bound], dtype=torch.float64), -pos.flip(0),
        torch.zeros(1, dtype=torch.float64), pos,
        torch.tensor([2.0 * bound], dtype=torch.float64)
    ])
    return values.float()


def distribution_integral(logits: Tensor, project: Tensor) -> Tensor:
    """Expected edge offsets of per-edge distributions.

    Args:
        logits (Tensor): Shape (..., 4 * (N + 1)), raw logits.
        project (Tensor): ``W``, shape (N + 1, ).

    Returns:
        Tensor: Shape (..., 4), fp32 offsets in code units; exactly 0 for
        all-zero logits when ``W`` is antisymmetric.
    """
    num_bins = project.numel()
    if logits.shape[-1] != 4 * num_bins:
        raise ValueError('logits should have 4 * (N + 1) = '
                         f'{4 * num_bins} channels, but got '
                         f'{logits.shape[-1]}')
    with torch.autocast(logits.device.type, enabled=False):
        prob = logits.float().reshape(*logits.shape[:-1], 4,
                                      num_bins).softmax(-1)
        w = project.float().to(prob.device)
        plain = (prob * w).sum(-1)
        if num_bins % 2 == 0:
            return plain
        half = num_bins // 2
        # antisymmetric W: sum p(n) W(n) = sum_{n > N/2} (p(n) - p(N - n))
        # W(n), exactly 0 for symmetric distributions. The test is a tensor
        # and both sums are computed: a Python branch on it would stop the
        # host for the device once per decoder layer.
        antisymmetric = (w[:half] == -w[half + 1:].flip(0)).all()
        diff = prob[..., half + 1:] - prob[..., :half].flip(-1)
        return torch.where(antisymmetric, (diff * w[half + 1:]).sum(-1), plain)


def distance2bbox(ref: Tensor, distance: Tensor, reg_scale: float) -> Tensor:
    """Decode edge offsets around reference boxes. No clamping.

    ``x1 = cx - (R / 2 + d_l) * w / R``, ``x2 = cx + (R / 2 + d_r) * w / R``
    and likewise for ``y`` with ``(d_t, d_b)``.

    Args:
        ref (Tensor): Reference boxes (cx, cy, w, h), shape (..., 4).
        distance (Tensor): Offsets (l, t, r, b) in code units, (..., 4).
        reg_scale (float): ``R``.

    Returns:
        Tensor: Boxes (cx, cy, w, h), shape (..., 4), fp32; ``w`` and ``h``
        may be negative.
    """
    with torch.autocast(ref.device.type, enabled=False):
        ref, distance = ref.float(), distance.float()
        cx, cy, w, h = ref.unbind(-1)
        half = 0.5 * reg_scale
        x1 = cx - (half + distance[..., 0]) * w / reg_scale
        y1 = cy - (half + distance[..., 1]) * h / reg_scale
        x2 = cx + (half + distance[..., 2]) * w / reg_scale
        y2 = cy + (half + distance[..., 3]) * h / reg_scale
        return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1],
                           -1)


def bbox2distance(ref: Tensor, gt_xyxy: Tensor, reg_scale: float) -> Tensor:
    """Offsets (code units) that move ``ref`` onto ``gt_xyxy``.

    Args:
        ref (Tensor): Reference boxes (cx, cy, w, h), shape (..., 4).
        gt_xyxy (Tensor): Target boxes (x1, y1, x2, y2), same scale as
            ``ref``, shape (..., 4).
        reg_scale (float): ``R``.

    Returns:
        Tensor: Offsets (l, t, r, b), shape (..., 4), fp32, detached.
    """
    with torch.no_grad(), torch.autocast(ref.device.type, enabled=False):
        ref, gt_xyxy = ref.float(), gt_xyxy.float()
        cx, cy, w, h = ref.unbind(-1)
        sx, sy = w / reg_scale + 1e-16, h / reg_scale + 1e-16
        half = 0.5 * reg_scale
        return torch.stack([(cx - gt_xyxy[..., 0]) / sx - half,
                            (cy - gt_xyxy[..., 1]) / sy - half,
                            (gt_xyxy[..., 2] - cx) / sx - half,
                            (gt_xyxy[..., 3] - cy) / sy - half], -1)


def translate_gt(distance: Tensor,
                 project: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Two-hot FGL targets for scalar offsets.

    For ``W(i) <= d < W(i + 1)`` the target puts ``w_right = (d - W(i)) /
    (W(i + 1) - W(i))`` on bin ``i + 1`` and ``1 - w_right`` on bin ``i``;
    ``d < W(0)`` gives bins (0, 1) with ``w_left = 1``; ``d >= W(N)`` gives
    bins (N - 1, N) with ``w_right = 1``.

    Args:
        distance (Tensor): Offsets in code units, any shape (flattened).
        project (Tensor): ``W``, shape (N + 1, ).

    Returns:
        tuple[Tensor]: ``(left_bin, right_bin, w_left, w_right)``, each of
        shape (numel, ); bins are long, weights fp32; all detached.
    """
    with torch.no_grad(), torch.autocast(distance.device.type, enabled=False):
        d = distance.reshape(-1).float()
        w = project.float().to(d.device)
        n = w.numel() - 1
        left = (w[None] <= d[:, None]).sum(1) - 1
        below, above = left < 0, left >= n
        li = left.clamp(0, n - 1)
        w_right = (d - w[li]) / (w[li + 1] - w[li])
        w_right = torch.where(below, torch.zeros_like(d), w_right)
        w_right = torch.where(above, torch.ones_like(d), w_right)
        return li, li + 1, 1.0 - w_right, w_right


def aligned_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-6) -> Tensor:
    """IoU of aligned (x1, y1, x2, y2) boxes: the numbers of mmdet's
    ``bbox_overlaps(..., is_aligned=True)``, without its blocking
    host-to-device copy of ``eps`` on every call.

    Args:
        boxes1 (Tensor): Shape (..., 4).
        boxes2 (Tensor): Shape (..., 4).
        eps (float): Lower bound of the union area. Defaults to 1e-6.

    Returns:
        Tensor: Shape (...).
    """
    area1 = (boxes1[..., 2] - boxes1[..., 0]) * (
        boxes1[..., 3] - boxes1[..., 1])
    area2 = (boxes2[..., 2] - boxes2[..., 0]) * (
        boxes2[..., 3] - boxes2[..., 1])
    lt = torch.max(boxes1[..., :2], boxes2[..., :2])
    rb = torch.min(boxes1[..., 2:], boxes2[..., 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    return overlap / (area1 + area2 - overlap).clamp(min=eps)


def box_cxcywh_to_xyxy_clamped(boxes: Tensor) -> Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2) with ``w, h`` clamped at 0.

    FDR boxes are not clamped (``w < 0`` is possible); IoU, GIoU and the
    Hungarian costs need valid boxes, as in the official ``box_ops``.
    """
    cx, cy, w, h = boxes.unbind(-1)
    w, h = w.clamp(min=0.0), h.clamp(min=0.0)
    return torch.stack(
        [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], -1)


class FDRTrace:
    """The per-layer FDR recursion shared by the FDR decoders.

    The first layer's plain head fixes ``ref0``; every layer then adds its
    branch's logits to the previous layer's (residual, not detached), with
    the branch input ``h_l + sg(h_{l-1})``, and decodes its box around
    ``ref0``. The decoders keep only what differs: the attention layers and
    how the initial reference enters the first head.

    Args:
        project (Tensor): ``W``, (N + 1, ).
        reg_scale (float): ``R``.
        pre_reg_branch (nn.Module): The first layer's plain box branch.
        ref_dtype (torch.dtype): Dtype of the references :meth:`step`
            returns (the decoder's).
    """

    def __init__(self, project: Tensor, reg_scale: float,
                 pre_reg_branch: torch.nn.Module,
                 ref_dtype: torch.dtype) -> None:
        self.project, self.reg_scale = project, reg_scale
        self.pre_reg_branch, self.ref_dtype = pre_reg_branch, ref_dtype
        self.hidden, self.logits, self.boxes, self.refs = [], [], [], []
        self.pre_boxes = self.ref0 = None
        self._prev_hidden, self._prev_logits = 0, 0

    def step(self,
             reg_branch: torch.nn.Module,
             state: Tensor,
             init_unact: Optional[Tensor] = None) -> Tensor:
        """Refine with one layer's branch; return its box, detached (the
        next layer's attention reference).

        On the first layer, ``init_unact`` (the initial reference before
        the sigmoid, (..., 4)) first gives the plain box ``pre_boxes`` and
        the fixed ``ref0`` (detached) that every layer refines.
        """
        if self.ref0 is None:
            self.pre_boxes = (self.pre_reg_branch(state).float() +
                              init_unact).sigmoid()
            self.ref0 = self.pre_boxes.detach()
        logits = reg_branch(state + self._prev_hidden).float()
        logits = logits + self._prev_logits
        boxes = distance2bbox(self.ref0,
                              distribution_integral(logits, self.project),
                              self.reg_scale)
        self.hidden.append(state)
        self.logits.append(logits)
        self.boxes.append(boxes)
        self._prev_logits, self._prev_hidden = logits, state.detach()
        self.refs.append(boxes.detach().to(self.ref_dtype))
        return self.refs[-1]

    def outputs(self,
                initial_ref: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """``(hidden, references, fdr_logits, fdr_boxes, pre_boxes, ref0)``
        as the FDR decoders return them; ``references`` start with
        ``initial_ref`` if given."""
        refs = self.refs if initial_ref is None else [initial_ref, *self.refs]
        return (torch.stack(self.hidden), torch.stack(refs),
                torch.stack(self.logits), torch.stack(self.boxes),
                self.pre_boxes, self.ref0)


def run_fdr_decoder(detector, **inputs) -> Dict[str, object]:
    """Run ``detector.decoder`` with its head's FDR branches.

    Args:
        detector (nn.Module): An FDR detector (its ``bbox_head`` has
            ``reg_branches``, ``pre_reg_branch``, ``project``,
            ``reg_scale``).
        **inputs: The decoder's other arguments.

    Returns:
        dict: The decoder outputs as the FDR heads' ``loss`` and
        ``predict`` take them: ``hidden_states``, ``references`` (a list),
        ``fdr_logits``, ``fdr_boxes``, ``pre_boxes``, ``ref0``.
    """
    head = detector.bbox_head
    (hidden_states, references, fdr_logits, fdr_boxes, pre_boxes,
     ref0) = detector.decoder(
         reg_branches=head.reg_branches,
         pre_reg_branch=head.pre_reg_branch,
         project=head.project,
         reg_scale=head.reg_scale,
         **inputs)
    return dict(
        hidden_states=hidden_states,
        references=list(references),
        fdr_logits=fdr_logits,
        fdr_boxes=fdr_boxes,
        pre_boxes=pre_boxes,
        ref0=ref0)
