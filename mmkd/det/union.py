"""The GO-LSD union set of (query, gt) matches (official ``_get_go_indices``).

Per image, the Hungarian matches of the last layer, every auxiliary layer,
the first-layer plain head and the encoder top-k are pooled; pairs are
counted, sorted by count (descending) and walked so that each query keeps the
first (most frequent) GT it meets. A GT may keep several queries.
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['union_matches', 'union_matches_batch', 'assign_result_to_pairs']


def assign_result_to_pairs(gt_inds: Tensor) -> Tuple[Tensor, Tensor]:
    """Convert mmdet ``AssignResult.gt_inds`` to (query, gt) index pairs.

    Args:
        gt_inds (Tensor): Shape (Q, ); 0 is background, ``k + 1`` is GT ``k``
            (-1, ignored, is treated as background).

    Returns:
        tuple[Tensor]: ``(query_inds, gt_inds)``, long, both (P, ).
    """
    query = torch.nonzero(gt_inds > 0, as_tuple=False).squeeze(-1)
    return query, (gt_inds[query] - 1).long()


def union_matches(matches: Sequence[Tuple[Tensor, Tensor]],
                  stable: bool = True) -> Tuple[Tensor, Tensor]:
    """Union set of several (query, gt) match lists of ONE image.

    Args:
        matches (Sequence[tuple[Tensor, Tensor]]): Each ``(query, gt)``,
            long tensors of equal length.
        stable (bool): Stable sort among equal counts (deterministic; pairs
            with equal counts keep ascending (query, gt) order). The official
            code uses an unstable ``argsort``. Defaults to True.

    Returns:
        tuple[Tensor]: ``(query, gt)`` of the union set, long, each (K, ),
        ordered by descending count; each query appears once.

    Examples:
        >>> t = torch.tensor
        >>> q, g = union_matches([(t([3, 7]), t([0, 1])),
        ...                       (t([3, 8]), t([0, 1]))])
        >>> dict(zip(q.tolist(), g.tolist()))
        {3: 0, 7: 1, 8: 1}
    """
    if len(matches) == 0:
        raise ValueError('matches should hold at least one (query, gt) '
                         'pair list, but got an empty sequence')
    query = torch.cat([m[0].reshape(-1).long() for m in matches])
    gt = torch.cat([m[1].reshape(-1).long() for m in matches])
    if query.numel() == 0:
        return query, gt
    pairs, counts = torch.unique(
        torch.stack([query, gt], 1), dim=0, return_counts=True)
    order = torch.argsort(counts, descending=True, stable=stable)
    pairs = pairs[order]
    # keep the first occurrence of every query in the sorted list
    uniq, inverse = torch.unique(pairs[:, 0], return_inverse=True)
    pos = torch.arange(pairs.shape[0], device=pairs.device)
    first = torch.full((uniq.numel(), ),
                       pairs.shape[0],
                       dtype=torch.long,
                       device=pairs.device)
    first = first.scatter_reduce(0, inverse, pos, reduce='amin')
    keep = first.sort().values
    return pairs[keep, 0], pairs[keep, 1]


def union_matches_batch(matches_per_output: List[List[Tuple[Tensor,
                                                            Tensor]]],
                        stable: bool = True) -> List[Tuple[Tensor, Tensor]]:
    """Union set per image from per-output, per-image match lists.

    Args:
        matches_per_output (list[list[tuple[Tensor, Tensor]]]): Outer list
            over outputs (layers, pre head, encoder), inner over images.
        stable (bool): See :func:`union_matches`. Defaults to True.

    Returns:
        list[tuple[Tensor, Tensor]]: One ``(query, gt)`` pair per image.
    """
    num_imgs = len(matches_per_output[0])
    return [
        union_matches([out[i] for out in matches_per_output], stable)
        for i in range(num_imgs)
    ]
