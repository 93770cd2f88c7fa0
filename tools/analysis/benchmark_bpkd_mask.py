"""Time and peak memory of BPKD's edge-mask extraction at ADE20K scale.

Label maps are random Voronoi partitions (``--regions`` cells per image,
classes drawn from ``--num-classes``, a share of cells set to 255 like
ADE20K's ``reduce_zero_label`` void), optionally with ragged boundaries.

Memory: torch's CPU allocations are invisible to ``tracemalloc``, so the peak
is measured two ways:

* ``live``: a ``TorchDispatchMode`` sees every tensor an aten op returns
  during the call; storages are counted once (by data pointer) from creation
  until the last tensor using them is freed (``weakref.finalize``), and the
  peak of that running sum is reported. Scratch buffers inside a kernel are
  not seen.
* ``rss``: the rise of the peak resident set (``VmHWM``, reset just before
  the call) over the resident set before it, in a fresh subprocess that has
  only loaded the labels (includes allocator and lazy kernel set-up).

Optionally (``--step``) the train step of the student (mmseg
``pspnet_r18-d8`` with 150 classes, batch 2 x 512 x 512, from scratch) and a
teacher forward (``pspnet_r101-d8``) are timed to put the mask in
proportion (the mmkd Distiller step is at least their sum).

Example::

    OMP_NUM_THREADS=1 python tools/analysis/benchmark_bpkd_mask.py --step
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import tempfile
import time

import torch

from mmkd.ops import dense_edge_band, gt_edge_band
from mmkd.utils.memory import LiveTensorBytes


def voronoi_labels(n: int, height: int, width: int, num_classes: int,
                   regions: int, void_share: float, ragged: float,
                   seed: int) -> torch.Tensor:
    """(N, H, W) int64 Voronoi label maps with some void (255) cells."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.arange(height).float()[:, None, None]
    xs = torch.arange(width).float()[None, :, None]
    maps = []
    for _ in range(n):
        cy = torch.rand(regions, generator=g) * height
        cx = torch.rand(regions, generator=g) * width
        d = (ys - cy)**2 + (xs - cx)**2  # H, W, R
        if ragged > 0:
            low = torch.rand(
                1, regions, height // 16 + 1, width // 16 + 1, generator=g)
            low = torch.nn.functional.interpolate(
                low, size=(height, width), mode='bilinear')[0]
            d = d * (1 + ragged * low.permute(1, 2, 0))
        cell = d.argmin(-1)
        cls = torch.randint(0, num_classes, (regions, ), generator=g)
        cls[torch.rand(regions, generator=g) < void_share] = 255
        maps.append(cls[cell])
    return torch.stack(maps)


def _labels(args) -> torch.Tensor:
    return voronoi_labels(args.batch, args.size, args.size, args.num_classes,
                          args.regions, args.void_share, args.ragged, 0)


def _mask(args, labels, dense=False):
    out = (args.size // 8, args.size // 8)
    fn = dense_edge_band if dense else gt_edge_band
    return fn(labels, args.num_classes, out, kernel_size=args.kernel_size)


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def rss_child(args) -> None:
    """Print the peak-RSS rise of one mask call (run in a subprocess).

    The labels are read from ``--labels-file`` so that building them does
    not matter; the kernel's peak-RSS mark (``VmHWM``) is reset through
    ``/proc/self/clear_refs`` just before the call (Linux >= 4.0).
    """
    labels = torch.load(args.labels_file)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    before = _status_kb('VmRSS')
    _mask(args, labels, args.dense)
    after = _status_kb('VmHWM')
    print(json.dumps(dict(rss_rise_mb=round((after - before) / 1024, 2))))


def time_step(args) -> dict:
    """Student train step and teacher forward of the PSPNet pair (s)."""
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    init_default_scope('mmseg')
    times = {}
    labels = _labels(args)
    inputs = torch.randn(args.batch, 3, args.size, args.size)
    samples = []
    for lab in labels:
        ds = SegDataSample(gt_sem_seg=PixelData(data=lab[None]))
        ds.set_metainfo(
            dict(img_shape=(args.size, ) * 2, pad_shape=(args.size, ) * 2))
        samples.append(ds)
    for name in ('r18', 'r101'):
        model = MODELS.build(pspnet_ade_model(name))
        norm_to_bn(model)
        if name == 'r18':
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            model.train()
            ts = []
            for _ in range(args.step_repeats + 1):
                t0 = time.perf_counter()
                losses = model.loss(inputs, samples)
                loss = sum(v for k, v in losses.items() if 'loss' in k)
                opt.zero_grad()
                loss.backward()
                opt.step()
                ts.append(time.perf_counter() - t0)
            times['student_train_step_s'] = min(ts[1:])
        else:
            model.eval()
            ts = []
            with torch.no_grad():
                for _ in range(args.step_repeats + 1):
                    t0 = time.perf_counter()
                    model.decode_head(model.extract_feat(inputs))
                    ts.append(time.perf_counter() - t0)
            times['teacher_forward_s'] = min(ts[1:])
    return times


def pspnet_ade_model(name: str) -> dict:
    """mmseg PSPNet-D8 model dict for ADE20K (150 classes), no weights.

    mmseg ships no ADE20K R-18 config; the R-18 head sizes are those of its
    Cityscapes ``pspnet_r18-d8`` config (as in ``configs/bpkd``).
    """
    import mmseg
    from mmengine.config import Config
    root = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', 'pspnet')
    cfg = Config.fromfile(
        osp.join(root, 'pspnet_r50-d8_4xb4-80k_ade20k-512x512.py')).model
    cfg.pop('data_preprocessor', None)
    cfg.pretrained = None
    cfg.backbone.depth = 18 if name == 'r18' else 101
    if name == 'r18':
        cfg.decode_head.in_channels = 512
        cfg.decode_head.channels = 128
        cfg.auxiliary_head.in_channels = 256
        cfg.auxiliary_head.channels = 64
    return cfg


def norm_to_bn(model: torch.nn.Module) -> None:
    """SyncBN -> BN in place (single-process CPU run)."""
    from mmengine.model import revert_sync_batchnorm
    revert_sync_batchnorm(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--num-classes', type=int, default=150)
    parser.add_argument('--regions', type=int, default=24)
    parser.add_argument('--void-share', type=float, default=0.1)
    parser.add_argument('--ragged', type=float, default=0.3)
    parser.add_argument('--kernel-size', type=int, default=7)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument(
        '--dense',
        action='store_true',
        help='measure the dense one-hot reference instead')
    parser.add_argument(
        '--step',
        action='store_true',
        help='also time the PSPNet-R18/R101 step')
    parser.add_argument('--step-repeats', type=int, default=2)
    parser.add_argument(
        '--rss-child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--labels-file', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args)
        return

    labels = _labels(args)
    valid = labels[labels != 255]
    report = dict(
        labels=list(labels.shape),
        num_classes=args.num_classes,
        present_classes=int(valid.unique().numel()),
        void_share=round(float((labels == 255).float().mean()), 3),
        threads=torch.get_num_threads(),
        method='dense' if args.dense else 'gt_edge_band')
    m = _mask(args, labels, args.dense)
    report['band_cells_share'] = round(float((m > 0).float().mean()), 4)
    report['band_pixels_share'] = round(
        float(m.sum() * 64 / labels.numel()), 4)
    ts = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        _mask(args, labels, args.dense)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    report['mask_ms_median'] = round(1000 * ts[len(ts) // 2], 2)
    report['mask_ms_min'] = round(1000 * ts[0], 2)
    with LiveTensorBytes() as mode:
        _mask(args, labels, args.dense)
    report['peak_live_tensor_mb'] = round(mode.peak / 2**20, 2)
    report['output_mb'] = round(m.numel() * 4 / 2**20, 2)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'labels.pth')
        torch.save(labels, path)
        cmd = [sys.executable, __file__, '--rss-child', '--labels-file', path
               ] + [a for a in sys.argv[1:] if a != '--step']
        child = subprocess.run(cmd, capture_output=True, text=True, check=True)
    report.update(json.loads(child.stdout.strip().splitlines()[-1]))
    if args.step:
        report.update(time_step(args))
        step = report['student_train_step_s'] + report['teacher_forward_s']
        report['distill_step_floor_s'] = round(step, 3)
        report['mask_share_of_step_pct'] = round(
            100 * report['mask_ms_median'] / 1000 / step, 3)
        report['mask_share_of_student_step_pct'] = round(
            100 * report['mask_ms_median'] / 1000 /
            report['student_train_step_s'], 3)
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
