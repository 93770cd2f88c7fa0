"""The generic stage through ``tools/train.py``: MMPretrain's runner, data
pipeline and checkpoints, the teacher loaded from a file and left out of
what is saved."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

from tests.conftest import ROOT, SHARED_DATA
from tests.test_pretrain.test_g2sd import teacher_model, tiny
from tests.utils import run_tool

MAE_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]


def write_images(folder, n=8, size=48):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f'{i}.png')


def g2sd_config(tmp_path, teacher_ckpt):
    student = dict(
        type='mmkd.G2SD',
        backbone=dict(
            type='mmkd.G2SDViT',
            arch=dict(
                embed_dims=16,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64),
            img_size=32,
            patch_size=8),
        neck=dict(
            type='mmkd.G2SDFeatDecoder',
            num_patches=16,
            embed_dim=16,
            decoder_embed_dim=8,
            decoder_depth=1,
            decoder_num_heads=2,
            target_dim=24),
        teacher=dict(model=teacher_model(), checkpoint=str(teacher_ckpt)),
        target_layer=2)
    return Config(
        dict(
            model=student,
            train_dataloader=dict(
                batch_size=4,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                collate_fn=dict(type='default_collate'),
                dataset=dict(
                    type='CustomDataset',
                    data_root=str(tmp_path / 'images'),
                    with_label=False,
                    pipeline=MAE_PIPELINE)),
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(
                    type='AdamW',
                    lr=1e-3,
                    betas=(0.9, 0.95),
                    weight_decay=0.05)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=1),
                checkpoint=dict(
                    type='CheckpointHook', interval=2, by_epoch=False)),
            randomness=dict(seed=0)))


def test_generic_stage_trains_with_tools_train(tmp_path, capfd):
    write_images(tmp_path / 'images')
    teacher = tiny().teacher
    ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    config = tmp_path / 'g2sd_tiny.py'
    config.write_text("_base_ = ['mmpretrain::_base_/default_runtime.py']\n" +
                      g2sd_config(tmp_path, ckpt).pretty_text)
    log = run_tool(
        capfd,
        ROOT / 'tools' / 'train.py',
        config,
        '--work-dir',
        tmp_path / 'run',
        cwd=ROOT)
    saved = torch.load(tmp_path / 'run' / 'iter_2.pth', weights_only=False)
    prefixes = {k.split('.')[0] for k in saved['state_dict']}
    assert prefixes == {'backbone', 'neck'}, prefixes
    logs = [
        json.loads(line) for line in (tmp_path / 'run').glob(
            '*/vis_data/scalars.json').__next__().read_text().splitlines()
    ]
    assert [log['iter'] for log in logs] == [1, 2]
    assert all(0 < log['loss_gd'] < 10 for log in logs)
    assert 'teacher checkpoint loaded from' in log


SHIPPED = ROOT / 'configs' / '_base_' / 'datasets' / 'shipped_images_64x64.py'


@pytest.mark.skipif(
    not (SHARED_DATA / 'raccoon' / 'images').is_dir(),
    reason=f'shared data not found at {SHARED_DATA}')
def test_cpu_toy_images_are_the_shipped_ones_without_camvid_val_and_test():
    from mmengine.dataset import ConcatDataset
    from mmengine.registry import DATASETS
    cfg = Config.fromfile(str(SHIPPED))
    dataset = cfg.train_dataloader.dataset
    for part in dataset.datasets:
        part.data_root = str(ROOT / part.data_root)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        built = DATASETS.build(dataset)
    assert isinstance(built, ConcatDataset)
    assert [len(d) for d in built.datasets] == [367, 364, 200]
    paths = [
        d.get_data_info(i)['img_path'] for d in built.datasets
        for i in range(len(d))
    ]
    assert not any('camvid_240x180/val' in p or 'camvid_240x180/test' in p
                   for p in paths)
    sample = built[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
