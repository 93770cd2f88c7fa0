"""A small, licence-clean segmentation dataset drawn on the fly: the demo's
data. Discs, squares and triangles on noisy gradients.

Every shape's colour contrasts with the background under it and shapes do
not overlap, so finding the shapes is easy and telling them apart is the
task: the colour says nothing about the class, only the outline does.
"""
import os
import os.path as osp

import numpy as np
from mmseg.datasets import BaseSegDataset

from mmkd.registry import DATASETS

__all__ = ['ShapesDataset', 'generate_shapes', 'draw_shape_image']

CLASSES = ('background', 'disc', 'square', 'triangle')
PALETTE = [[0, 0, 0], [230, 75, 60], [60, 180, 75], [70, 120, 235]]
#: Bumped whenever the drawing changes: the demo names its data folder and
#: its cached teacher after it.
VERSION = 'v2'
_MIN_CONTRAST = 110.0  # Euclidean RGB distance, shape vs background


def _mask(cls: int, xx, yy, cx: float, cy: float, r: float):
    if cls == 1:  # disc
        return (xx - cx)**2 + (yy - cy)**2 <= r * r
    if cls == 2:  # axis-aligned square, same area order as the disc
        half = r * 0.85
        return (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
    # upward triangle
    top, bottom = cy - r, cy + r
    half = (yy - top) / (2 * r) * r * 1.15
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= half)


def draw_shape_image(rng: np.random.Generator, size: int = 64):
    """One image (H, W, 3) uint8 RGB and its label map (H, W) uint8."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    g = rng.uniform(-1, 1, 2)
    base = rng.uniform(30, 225, 3)
    img = base + 30 * ((g[0] * xx + g[1] * yy) / size)[..., None]
    label = np.zeros((size, size), np.uint8)
    taken = np.zeros((size, size), bool)
    wanted = int(rng.integers(1, 5))
    for _ in range(wanted * 10):  # rejection sampling: no overlaps
        if wanted == 0:
            break
        cls = int(rng.integers(1, 4))
        r = rng.uniform(0.12, 0.22) * size
        cx, cy = rng.uniform(r + 1, size - r - 1, 2)
        mask = _mask(cls, xx, yy, cx, cy, r)
        grown = _mask(cls, xx, yy, cx, cy, r + 2)
        if (grown & taken).any():
            continue
        local = img[mask].mean(0)
        for _ in range(50):
            colour = rng.uniform(0, 255, 3)
            if np.linalg.norm(colour - local) >= _MIN_CONTRAST:
                break
        else:
            colour = np.where(local > 127, 20.0, 235.0)
        img[mask] = colour
        label[mask] = cls
        taken |= grown
        wanted -= 1
    img = img + rng.normal(0, 10, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label


def _write(cv2, path: str, array) -> None:
    # Write then rename: processes drawing the same folder at once (several
    # ranks) never read a half-written file.
    tmp = f'{path[:-4]}.{os.getpid()}.png'
    cv2.imwrite(tmp, array)
    os.replace(tmp, path)


def generate_shapes(root: str,
                    num_train: int = 1000,
                    num_val: int = 100,
                    size: int = 64,
                    seed: int = 0) -> str:
    """Write ``{train,val}/NNNN.png`` and ``{train,val}annot/NNNN.png``
    under ``root`` (once; an existing complete folder is kept) and return
    ``root``. Train and val images come from different random streams."""
    import cv2
    done = osp.join(root, '.complete')
    if osp.exists(done):
        return root
    splits = (('train', num_train), ('val', num_val))
    for offset, (split, count) in enumerate(splits):
        rng = np.random.default_rng([seed, offset])
        os.makedirs(osp.join(root, split), exist_ok=True)
        os.makedirs(osp.join(root, f'{split}annot'), exist_ok=True)
        for i in range(count):
            img, label = draw_shape_image(rng, size)
            _write(cv2, osp.join(root, split, f'{i:04d}.png'), img[..., ::-1])
            _write(cv2, osp.join(root, f'{split}annot', f'{i:04d}.png'), label)
    with open(done, 'w') as f:
        f.write(f'{VERSION} {num_train} {num_val} {size} {seed}\n')
    return root


@DATASETS.register_module()
class ShapesDataset(BaseSegDataset):
    """The generated shapes dataset (4 classes, background included).

    Args:
        split (str): 'train' or 'val'.
        generate (bool): Draw the data (:func:`generate_shapes` defaults)
            under ``data_root`` first when it is not there yet, so a config
            runs from nothing. Defaults to True.
    """
    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self,
                 split: str = 'train',
                 generate: bool = True,
                 **kwargs) -> None:
        if generate and kwargs.get('data_root'):
            generate_shapes(kwargs['data_root'])
        kwargs.setdefault('data_prefix',
                          dict(img_path=split, seg_map_path=f'{split}annot'))
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        super().__init__(**kwargs)
