"""Dense assignments of queries to ground truth, and the GO-LSD union set.

An assignment is a (B, Q) long tensor: the GT index of each query, -1 for
none. Unlike (query, gt) pair lists, its shape does not depend on the data,
so building and using it never waits for the device.

The GO-LSD union set (D-FINE, arXiv 2410.13842; official
``_get_go_indices``): per image, the Hungarian matches of the last layer,
every auxiliary layer, the first-layer plain head and the encoder top-k are
pooled; pairs are counted, sorted by count (descending) and walked so that
each query keeps the first (most frequent) GT it meets. A GT may keep
several queries.

The official code builds variable-length pair lists (``torch.unique``, a
Python walk), which wait for the device. Here the set is an assignment: a
(B, Q, G) count table and its arg-max per query, the same result as a
stable sort.
"""
from typing import List, NamedTuple, Tuple

import torch
import torch.nn.functional as F
from mmdet.utils import InstanceList
from torch import Tensor

__all__ = ['BatchGT', 'batch_gt', 'image_factors', 'union_assignment']


class BatchGT(NamedTuple):
    """A batch's ground truth, with its boxes padded into one tensor so that
    each query's GT is a gather rather than a variable-length selection.

    ``boxes`` (B, G, 4) are normalised (x1, y1, x2, y2) and ``labels`` (B, G);
    G is the largest GT count of the batch, at least 1 (index 0 is always
    valid); padding is zeros. ``factors`` (B, 1, 4) are the image sizes
    (w, h, w, h).
    """
    instances: InstanceList
    metas: List[dict]
    factors: Tensor
    boxes: Tensor
    labels: Tensor

    def at(self, assign: Tensor) -> Tuple[Tensor, Tensor]:
        """Boxes (B, Q, 4) and labels (B, Q) of the GT in ``assign``
        (B, Q); GT 0's where ``assign`` is -1."""
        index = assign.clamp(min=0)
        rows = torch.arange(index.shape[0], device=index.device)[:, None]
        return self.boxes[rows, index], self.labels[rows, index]


def image_factors(metas: List[dict], like: Tensor) -> Tensor:
    """(B, 1, 4) fp32 (w, h, w, h), filled in place: a tensor made from a
    list would be a blocking host-to-device copy."""
    factors = like.new_empty((len(metas), 1, 4), dtype=torch.float32)
    for i, meta in enumerate(metas):
        h, w = meta['img_shape'][:2]
        factors[i, :, 0::2] = w
        factors[i, :, 1::2] = h
    return factors


def batch_gt(instances: InstanceList, metas: List[dict],
             like: Tensor) -> BatchGT:
    """Pad a batch's GT (boxes normalised by the image sizes) on ``like``'s
    device."""
    factors = image_factors(metas, like)
    slots = max([len(gt) for gt in instances] + [1])
    boxes = torch.stack([
        F.pad(gt.bboxes.float(), (0, 0, 0, slots - len(gt)))
        for gt in instances
    ]) / factors
    labels = torch.stack(
        [F.pad(gt.labels.long(), (0, slots - len(gt))) for gt in instances])
    return BatchGT(instances, metas, factors, boxes, labels)


def union_assignment(assignments: Tensor, num_gts: int) -> Tensor:
    """Union set of several outputs' assignments.

    Each query keeps the GT it was matched to most often; among equally
    frequent GTs, the lowest index (what a stable sort by count of the
    lexicographically ordered pairs gives; the official ``argsort`` is not
    stable, so it may pick another on ties).

    Args:
        assignments (Tensor): Shape (n, B, Q), long: for each of ``n``
            outputs, the GT index matched to each query, -1 for none.
        num_gts (int): Number of GT slots, above every index (the largest
            number of GT in an image of the batch).

    Returns:
        Tensor: Shape (B, Q), long: the GT each query keeps, -1 for none.

    Examples:
        >>> a = torch.full((2, 1, 6), -1)
        >>> a[0, 0, 3], a[0, 0, 4], a[1, 0, 3], a[1, 0, 5] = 0, 1, 0, 1
        >>> union_assignment(a, 2).tolist()
        [[-1, -1, -1, 0, 1, 1]]
    """
    n, b, q = assignments.shape
    slots = max(int(num_gts), 1)
    matched = assignments >= 0
    query = torch.arange(b * q, device=assignments.device).view(1, b, q)
    index = query * slots + assignments.clamp(min=0)
    counts = assignments.new_zeros(b * q * slots).scatter_add_(
        0, index.reshape(-1),
        matched.reshape(-1).long())
    # max over GT returns the first maximal index: the lowest GT on ties
    best_count, best = counts.view(b, q, slots).max(-1)
    return torch.where(best_count > 0, best, -1)
