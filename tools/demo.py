"""The main job in one command: distil a small segmenter on generated data.

    python tools/demo.py [--method bpkd|cwd] [--work-dir work_dirs/demo]

1. draws a small licence-clean dataset (discs, squares, triangles; cached),
2. trains the teacher, or reuses the one cached for the same config,
3. trains the student without and with distillation (same seed, schedule),
4. prints the three models' metrics and writes a picture of predictions.
Everything runs on the CPU without downloads.
"""
import argparse
import hashlib
import os
import os.path as osp
import shutil
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

import mmkd  # noqa: F401
from mmkd.datasets import generate_shapes
from mmkd.datasets.shapes import PALETTE

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                   'demo')
TEACHER = osp.join(CONFIGS, 'pspnet_r18-d8_1xb8-200i_shapes-128x128.py')
STUDENT = osp.join(CONFIGS, 'pspnet_r18w16-d8_1xb8-200i_shapes-128x128.py')
DATA_VERSION = 'v1'
DISTILL = {
    method: osp.join(CONFIGS, f'{method}_pspnet-r18-d8_pspnet-r18w16-d8_'
                     '1xb8-200i_shapes-128x128.py')
    for method in ('bpkd', 'cwd')
}


def _cfg(path, work_dir, data_root, **options):
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'INFO'  # the runner's progress lines (loss, time, ETA)
    cfg.merge_from_dict(options)
    return cfg


def _run(cfg, train=True, checkpoint=None):
    if checkpoint:
        cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    start = time.time()
    if train:
        runner.train()
    metrics = runner.test()
    return runner, metrics, time.time() - start


def _colour(label):
    palette = np.array(PALETTE + [[255, 255, 255]] * 252, np.uint8)
    return palette[label]


def _predict(model, sample):
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[sample['inputs']], data_samples=[
                sample['data_samples']]), False)
        out = model(**data, mode='predict')
    return out[0].pred_sem_seg.data[0].numpy()


def save_picture(runners, names, path, count=4):
    """Image | ground truth | one column per model, ``count`` val images."""
    import cv2
    dataset = runners[0].test_dataloader.dataset
    rows = []
    for i in range(count):
        sample = dataset[i]
        img = sample['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # to RGB
        gt = _colour(sample['data_samples'].gt_sem_seg.data[0].numpy())
        preds = [_colour(_predict(r.model, sample)) for r in runners]
        rows.append(np.concatenate([img, gt] + preds, 1))
    grid = np.concatenate(rows, 0)
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    width = grid.shape[1] // (len(names) + 2)
    for j, name in enumerate(['image', 'ground truth'] + names):
        cv2.putText(header, name, (j * width + 4, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.imwrite(path, np.concatenate([header, grid], 0)[..., ::-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', default='bpkd', choices=sorted(DISTILL))
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--cache',
        default=osp.join(
            os.environ.get('MMKD_CACHE', osp.expanduser('~/.cache/mmkd')),
            'demo'))
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    logger = MMLogger.get_instance('mmkd_demo', log_level='INFO')

    # Bump the version when generate_shapes changes: it names the data
    # folder and enters the teacher's cache key.
    data_root = generate_shapes(
        osp.join(args.cache, f'shapes-{DATA_VERSION}'))
    print(f'[demo] data: {data_root}')

    # The teacher is cached by the hash of its config (and the data).
    text = Config.fromfile(TEACHER).pretty_text + DATA_VERSION
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    cached = osp.join(args.cache, f'teacher-{key}.pth')
    teacher_cfg = _cfg(TEACHER, osp.join(args.work_dir, 'teacher'), data_root)
    if osp.exists(cached):
        print(f'[demo] teacher: reusing {cached}')
        teacher, t_metrics, t_time = _run(teacher_cfg, False, cached)
    else:
        print('[demo] teacher: training (cached afterwards)')
        teacher, t_metrics, t_time = _run(teacher_cfg)
        shutil.copy(
            osp.join(args.work_dir, 'teacher', 'iter_200.pth'), cached)

    print('[demo] student without distillation: training')
    student, s_metrics, s_time = _run(
        _cfg(STUDENT, osp.join(args.work_dir, 'student'), data_root))
    print(f'[demo] student with {args.method.upper()}: training')
    distilled, d_metrics, d_time = _run(
        _cfg(DISTILL[args.method],
             osp.join(args.work_dir, args.method), data_root,
             **{'model.teacher.checkpoint': cached}))

    rows = [('teacher PSPNet-R18-D8', teacher, t_metrics, t_time),
            ('student PSPNet-R18w16-D8', student, s_metrics, s_time),
            (f'student + {args.method.upper()}', distilled, d_metrics,
             d_time)]
    print('\n| model | params (M) | mIoU | mAcc | aAcc | seconds |')
    print('|---|---|---|---|---|---|')
    for name, runner, metrics, seconds in rows:
        model = getattr(runner.model, 'student', runner.model)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f'| {name} | {params:.2f} | {metrics["mIoU"]:.2f} | '
              f'{metrics["mAcc"]:.2f} | {metrics["aAcc"]:.2f} | '
              f'{seconds:.0f} |')
    picture = osp.join(args.work_dir, 'predictions.png')
    save_picture([r[1] for r in rows], ['teacher', 'student',
                                         f'+{args.method.upper()}'], picture)
    print(f'\n[demo] predictions: {picture}')
    logger.info('demo finished')


if __name__ == '__main__':
    main()
