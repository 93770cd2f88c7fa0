"""Pictures of segmentation labels and of what BPKD sees (its edge band).

Shared by ``tools/analysis/visualize_bpkd.py`` and the demo's prediction
picture, so that a label map is coloured, and a band drawn, the same way
everywhere.
"""
from typing import Sequence, Tuple

import numpy as np
import torch

from mmkd.ops import gt_edge_band

__all__ = ['colorize', 'edge_band_maps']

Colour = Tuple[int, int, int]


def colorize(
    labels: np.ndarray,
    palette: Sequence[Colour],
    ignore_index: int = 255,
    ignore_colour: Colour = (0, 0, 0),
    unknown_colour: Colour = (0, 0, 0)
) -> np.ndarray:
    """Colour a label map with a dataset palette.

    Args:
        labels (np.ndarray): Class ids, shape (H, W), any integer dtype.
        palette (Sequence[tuple]): RGB colour of class ``i`` at index ``i``.
        ignore_index (int): Label drawn in ``ignore_colour``. Defaults to 255.
        ignore_colour (tuple): RGB of ignore pixels. Defaults to black.
        unknown_colour (tuple): RGB of labels without a palette entry
            (neither a class nor ignore). Defaults to black.

    Returns:
        np.ndarray: RGB image, shape (H, W, 3), uint8.

    Example:
        >>> colorize(np.array([[0, 1, 255, 7]]), [(1, 2, 3), (4, 5, 6)],
        ...          ignore_colour=(9, 9, 9)).tolist()
        [[[1, 2, 3], [4, 5, 6], [9, 9, 9], [0, 0, 0]]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f'labels should have shape (H, W), but got '
                         f'{labels.shape}')
    lut = np.empty((len(palette) + 1, 3), np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8).reshape(-1, 3)
    lut[len(palette)] = unknown_colour
    idx = labels.astype(np.int64)
    idx = np.where((idx >= 0) & (idx < len(palette)), idx, len(palette))
    out = lut[idx]
    out[labels == ignore_index] = ignore_colour
    return out


def edge_band_maps(labels: np.ndarray,
                   num_classes: int,
                   kernel_size: int = 7,
                   stride: int = 8,
                   ignore_index: int = 255) -> Tuple[np.ndarray, np.ndarray]:
    """BPKD's edge band of one label map, for drawing.

    Args:
        labels (np.ndarray): Ground truth, shape (H, W); ``ignore_index``
            (and any value outside ``[0, num_classes)``) is ignore.
        num_classes (int): Number of classes.
        kernel_size (int): Morphology window k (odd). Defaults to 7.
        stride (int): Output stride of the logits the loss sees. Defaults
            to 8.
        ignore_index (int): Defaults to 255.

    Returns:
        tuple[np.ndarray, np.ndarray]: The band at label resolution, (H, W)
        bool (union over classes), and ``max_c M_E`` at logit resolution,
        (ceil(H / stride), ceil(W / stride)) float32 in [0, 1]: the soft mask
        :class:`mmkd.BPKDLoss` uses, computed by the same
        :func:`mmkd.ops.gt_edge_band`.
    """
    lab = torch.from_numpy(np.asarray(labels).astype(np.int64))[None]
    height, width = lab.shape[-2:]
    band = gt_edge_band(lab, num_classes, (height, width), kernel_size,
                        ignore_index)[0].amax(0)
    soft = gt_edge_band(lab, num_classes,
                        (-(-height // stride), -(-width // stride)),
                        kernel_size, ignore_index)[0].amax(0)
    return band.numpy() > 0, soft.numpy()
