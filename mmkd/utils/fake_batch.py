"""Batches shaped as a dataloader gives them, for tools that run a config's
models without its data (benchmarks, the tap inspector)."""
import torch
import torch.nn as nn
from mmengine.structures import InstanceData, PixelData

__all__ = ['fake_batch', 'num_classes_of', 'fit_preprocessor']


def fake_batch(scope, size, batch, num_classes, seed=0):
    """A batch as a dataloader gives it (uint8 images, ground truth with
    labels in ``[0, num_classes)``)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs = [
        torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
        for _ in range(batch)
    ]
    meta = dict(
        img_shape=(h, w),
        ori_shape=(h, w),
        pad_shape=(h, w),
        batch_input_shape=(h, w),
        scale_factor=(1., 1.),
        flip=False)
    samples = []
    for i in range(batch):
        if scope == 'mmseg':
            from mmseg.structures import SegDataSample
            s = SegDataSample(metainfo=meta)
            # blocky labels, so that boundaries exist as in real data
            lab = torch.randint(
                0, num_classes, (1, h // 32 + 1, w // 32 + 1), generator=g)
            lab = lab.repeat_interleave(32, 1).repeat_interleave(32, 2)
            s.gt_sem_seg = PixelData(data=lab[:, :h, :w])
        elif scope == 'mmdet':
            from mmdet.structures import DetDataSample
            s = DetDataSample(metainfo=dict(meta, img_id=i))
            xy = torch.rand(8, 2, generator=g) * torch.tensor([w, h]) * .6
            wh = (torch.rand(8, 2, generator=g) * .3 + .1) * torch.tensor(
                [w, h])
            s.gt_instances = InstanceData(
                bboxes=torch.cat([xy, xy + wh], 1),
                labels=torch.randint(0, num_classes, (8, ), generator=g))
        else:
            raise ValueError(f'no fake batch for scope {scope!r}')
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def num_classes_of(model: nn.Module) -> int:
    """The number of classes a segmentor or detector predicts."""
    for path in ('decode_head', 'bbox_head', 'roi_head.bbox_head'):
        head = model
        for name in path.split('.'):
            head = getattr(head, name, None)
        if isinstance(head, (nn.ModuleList, list)):  # cascades: the last
            head = head[-1]
        if isinstance(getattr(head, 'num_classes', None), int):
            return head.num_classes
    raise ValueError(
        f'cannot find the number of classes of {type(model).__name__}: '
        'expected decode_head.num_classes (segmentors) or '
        'bbox_head.num_classes / roi_head.bbox_head.num_classes (detectors)')


def fit_preprocessor(preprocessor: nn.Module, size) -> None:
    """Make the data preprocessor keep batches at ``size``.

    Segmentation configs pad every batch to their crop (e.g. 512x1024 for
    Cityscapes): without this, a smaller asked size would be timed at the
    crop size. Detection preprocessors may resize batches at random
    (``batch_augments``): off, so every phase sees the same shape.
    """
    if getattr(preprocessor, 'size', None) is not None:
        preprocessor.size = tuple(size)
    if getattr(preprocessor, 'batch_augments', None) is not None:
        preprocessor.batch_augments = None
