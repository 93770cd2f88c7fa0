"""Small inputs for tests: fake batches for MMSegmentation, MMDetection and
MMPretrain models, and tiny model configs."""
import copy
import importlib.util
import os
import sys
from pathlib import Path

import torch
from mmengine.structures import InstanceData, PixelData

__all__ = [
    'seg_batch', 'det_batch', 'cls_batch', 'tiny_pspnet', 'make_batch',
    'load_tool', 'run_tool'
]


def seg_batch(num_classes: int = 4,
              size=(64, 64),
              batch: int = 2,
              seed: int = 0) -> dict:
    """A data batch as the dataloader gives it to ``train_step``."""
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, h // 8, w // 8), generator=g)
        label = label.repeat_interleave(8, 1).repeat_interleave(8, 2)
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def det_batch(num_classes: int = 3,
              size=(128, 128),
              batch: int = 2,
              num_boxes=(3, 2),
              seed: int = 0,
              with_mask: bool = False) -> dict:
    """A detection batch; ``num_boxes`` per image (0 gives an empty one);
    ``with_mask`` adds box-shaped instance masks (Mask R-CNN)."""
    from mmdet.structures import DetDataSample
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for i in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        n = num_boxes[i % len(num_boxes)]
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w, h]) * 0.6
        wh = (torch.rand(n, 2, generator=g) * 0.3 + 0.1) * torch.tensor([w, h])
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                batch_input_shape=(h, w),
                scale_factor=(1.0, 1.0),
                img_id=i,
                flip=False))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.randint(0, num_classes, (n, ), generator=g))
        if with_mask:
            from mmdet.structures.mask import BitmapMasks
            masks = torch.zeros(n, h, w, dtype=torch.uint8)
            for j, (x0, y0, x1, y1) in enumerate(
                    sample.gt_instances.bboxes.long().tolist()):
                masks[j, y0:y1, x0:x1] = 1
            sample.gt_instances.masks = BitmapMasks(masks.numpy(), h, w)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def cls_batch(num_classes: int = 3,
              size=(224, 224),
              batch: int = 2,
              seed: int = 0) -> dict:
    """An image-classification batch (MMPretrain), stacked as MMPretrain's
    ``default_collate`` gives it; self-supervised models ignore the
    labels."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs = torch.randint(
        0, 256, (batch, 3, h, w), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (batch, ), generator=g)
    samples = [
        DataSample(metainfo=dict(img_shape=(h,
                                            w), ori_shape=(h,
                                                           w))).set_gt_label(
                                                               int(label))
        for label in labels
    ]
    return dict(inputs=inputs, data_samples=samples)


def make_batch(scope: str, model=None, **kwargs) -> dict:
    """A batch for a model of the given default scope."""
    if scope == 'mmseg':
        return seg_batch(**kwargs)
    if scope == 'mmdet':
        return det_batch(**kwargs)
    if scope == 'mmpretrain':
        return cls_batch(**kwargs)
    raise ValueError(f'no fake batch for scope {scope!r}')


_PSP = dict(
    type='mmseg.EncoderDecoder',
    data_preprocessor=dict(
        type='mmseg.SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size_divisor=8),
    backbone=dict(
        type='mmseg.ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=True)),
    decode_head=dict(
        type='mmseg.PSPHead',
        in_channels=128,
        in_index=3,
        channels=32,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))


def tiny_pspnet(width: int = 16, num_classes: int = 4) -> dict:
    """A tiny PSPNet-R18-D8 model dict (width = base channels)."""
    cfg = copy.deepcopy(_PSP)
    cfg['backbone'].update(stem_channels=width, base_channels=width)
    cfg['decode_head'].update(
        in_channels=width * 8, channels=width * 2, num_classes=num_classes)
    return cfg


def load_tool(path: str, name: str = None):
    """A script under the clone (e.g. ``'tools/export_student.py'``) as a
    module (named ``name``, by default the file's stem), to call its
    functions in process."""
    file = Path(__file__).resolve().parents[1] / path  # or absolute
    spec = importlib.util.spec_from_file_location(name or file.stem, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(capfd, path, *args, cwd=None) -> str:
    """Runs a tool script's ``main()`` in this process as
    ``python path *args`` run in ``cwd`` would, and returns what it printed
    (stdout and stderr, read through pytest's ``capfd``).

    A subprocess would import torch and the OpenMMLab stack again, about
    8 s of a 2-core machine per run; the test that a tool runs as its own
    process is the README-commands test.
    """
    tool = load_tool(str(path), f'tool_{Path(path).stem}')
    argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = [str(path), *map(str, args)]
    capfd.readouterr()  # drop what earlier steps printed
    try:
        if cwd is not None:
            os.chdir(cwd)
        tool.main()
    finally:
        sys.argv = argv
        os.chdir(old_cwd)
    out, err = capfd.readouterr()
    return out + err
