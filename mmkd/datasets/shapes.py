"""A small, licence-clean segmentation dataset drawn on the fly: the demo's
data. Coloured discs, squares and triangles on noisy gradients; the colour
says nothing about the class, the shape does."""
import os
import os.path as osp

import numpy as np
from mmseg.datasets import BaseSegDataset

from mmkd.registry import DATASETS

__all__ = ['ShapesDataset', 'generate_shapes']

CLASSES = ('background', 'disc', 'square', 'triangle')
PALETTE = [[0, 0, 0], [220, 60, 60], [60, 180, 75], [70, 110, 230]]


def _draw(rng: np.random.Generator, size: int):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Background: a random linear gradient plus noise.
    g = rng.uniform(-1, 1, 2)
    base = rng.uniform(40, 200, 3)
    img = base + 40 * ((g[0] * xx + g[1] * yy) / size)[..., None]
    img = img + rng.normal(0, 12, (size, size, 3))
    label = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(2, 6)):
        cls = int(rng.integers(1, 4))
        r = rng.uniform(0.08, 0.2) * size
        cx, cy = rng.uniform(r, size - r, 2)
        if cls == 1:
            mask = (xx - cx)**2 + (yy - cy)**2 <= r * r
        elif cls == 2:
            half = r * 0.85
            mask = (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
        else:  # upward triangle
            top, bottom = cy - r, cy + r
            half = (yy - top) / (2 * r) * r * 1.1
            mask = (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= half)
        colour = rng.uniform(0, 255, 3)
        img[mask] = colour + rng.normal(0, 8, (int(mask.sum()), 3))
        label[mask] = cls
    return np.clip(img, 0, 255).astype(np.uint8), label


def generate_shapes(root: str,
                    num_train: int = 300,
                    num_val: int = 60,
                    size: int = 128,
                    seed: int = 0) -> str:
    """Write ``{train,val}/NNNN.png`` and ``{train,val}annot/NNNN.png``
    under ``root`` (once; an existing complete folder is kept)."""
    import cv2
    done = osp.join(root, '.complete')
    if osp.exists(done):
        return root
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        os.makedirs(osp.join(root, f'{split}annot'), exist_ok=True)
        for i in range(count):
            img, label = _draw(rng, size)
            cv2.imwrite(osp.join(root, split, f'{i:04d}.png'), img[..., ::-1])
            cv2.imwrite(osp.join(root, f'{split}annot', f'{i:04d}.png'), label)
    open(done, 'w').close()
    return root


@DATASETS.register_module()
class ShapesDataset(BaseSegDataset):
    """The generated shapes dataset (4 classes, background included).

    Args:
        split (str): 'train' or 'val'.
    """
    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, split: str = 'train', **kwargs) -> None:
        kwargs.setdefault('data_prefix',
                          dict(img_path=split, seg_map_path=f'{split}annot'))
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        super().__init__(**kwargs)
