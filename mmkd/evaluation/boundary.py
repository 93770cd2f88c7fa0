"""mIoU and a boundary IoU for semantic segmentation.

Boundary IoU (Cheng et al., CVPR 2021) restricted to class edges: for class
``c``, the boundary of a label map is the set of ``c`` pixels within ``d``
pixels (Chebyshev distance) of a pixel of another *valid* class. Pixels that
are ignore in the ground truth (in the prediction too) and the image frame
make no boundary, and only pixels valid in the ground truth are counted. Per
class, ``|B_gt & B_pred| / |B_gt | B_pred|`` is accumulated over the whole
dataset, then averaged over classes that occur.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F

__all__ = ['class_boundary', 'SegBoundaryMetricAccumulator']


def class_boundary(labels: torch.Tensor,
                   cls: int,
                   dilation: int,
                   valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Pixels of ``cls`` within ``dilation`` px of another valid class.

    Args:
        labels (Tensor): Label map, shape (H, W) or (N, H, W), integer.
        cls (int): The class.
        dilation (int): Distance d in pixels (window ``2d + 1``).
        valid (Tensor, optional): ``bool`` mask of pixels that count as a
            class (others are "don't care"), same shape. Defaults to all.

    Returns:
        Tensor: ``bool``, same shape as ``labels``.
    """
    inside = labels == cls
    other = ~inside if valid is None else valid & ~inside
    near_other = F.max_pool2d(other.float().reshape(-1, 1, *labels.shape[-2:]),
                              2 * dilation + 1, 1, dilation).reshape(
                                  labels.shape) > 0
    return inside & near_other


class SegBoundaryMetricAccumulator:
    """Accumulate IoU and boundary IoU over a dataset.

    Args:
        num_classes (int): Number of classes.
        ignore_index (int): Ignore label of the ground truth. Defaults to 255.
        dilation (int): Boundary width d in pixels. Defaults to 3.

    Example:
        >>> import torch
        >>> acc = SegBoundaryMetricAccumulator(2, dilation=1)
        >>> gt = torch.zeros(8, 8, dtype=torch.long)
        >>> gt[:, 4:] = 1
        >>> acc.update(gt.clone(), gt)
        >>> acc.results()['mBIoU']
        100.0
    """

    def __init__(self,
                 num_classes: int,
                 ignore_index: int = 255,
                 dilation: int = 3) -> None:
        if dilation < 1:
            raise ValueError(f'dilation should be >= 1, but got {dilation}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.dilation = dilation
        self.inter = torch.zeros(num_classes, dtype=torch.float64)
        self.union = torch.zeros(num_classes, dtype=torch.float64)
        self.b_inter = torch.zeros(num_classes, dtype=torch.float64)
        self.b_union = torch.zeros(num_classes, dtype=torch.float64)

    def update(self, pred: torch.Tensor, gt: torch.Tensor) -> None:
        """Add one prediction (H, W) and its ground truth (H, W)."""
        pred, gt = pred.reshape(gt.shape[-2:]), gt.reshape(gt.shape[-2:])
        valid = (gt != self.ignore_index) & (gt >= 0) & (gt < self.num_classes)
        for c in range(self.num_classes):
            g = (gt == c) & valid
            p = (pred == c) & valid
            self.inter[c] += (g & p).sum().item()
            self.union[c] += (g | p).sum().item()
            gb = class_boundary(gt, c, self.dilation, valid) & valid
            pb = class_boundary(pred, c, self.dilation, valid) & valid
            self.b_inter[c] += (gb & pb).sum().item()
            self.b_union[c] += (gb | pb).sum().item()

    def results(self) -> Dict[str, float]:
        """``mIoU`` and ``mBIoU`` (percent) and per-class values."""
        seen = self.union > 0
        iou = self.inter / self.union.clamp_min(1)
        b_seen = self.b_union > 0
        biou = self.b_inter / self.b_union.clamp_min(1)
        return dict(
            mIoU=round(100 * iou[seen].mean().item(), 2),
            mBIoU=round(100 * biou[b_seen].mean().item(), 2),
            IoU=[round(100 * v, 2) for v in iou.tolist()],
            BIoU=[round(100 * v, 2) for v in biou.tolist()])
