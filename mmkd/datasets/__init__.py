from .camvid import CamVidDataset
from .shapes import ShapesDataset, generate_shapes

__all__ = ['CamVidDataset', 'ShapesDataset', 'generate_shapes']
