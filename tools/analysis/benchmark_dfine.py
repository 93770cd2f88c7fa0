"""Training-step time and peak memory of a plain DETR vs its FDR + GO-LSD twin.

Each config runs in a fresh subprocess on the same synthetic batch (fixed
seed): build the model (pretrained weights off), run ``--warmup`` training
steps (loss forward, backward, AdamW step), then time ``--steps`` more and
report the median. Peak memory is ``torch.cuda.max_memory_allocated`` on a
GPU and the process's peak resident set size (``resource.getrusage``) on the
CPU.

Example::

    python tools/analysis/benchmark_dfine.py \
        configs/dfine/dino-4scale_r18_1xb4-4e_bccd.py \
        configs/dfine/dfine_dino-4scale_r18_1xb4-4e_bccd.py \
        --batch-size 4 --img-shape 240 320 --num-gt 14
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='plain config, FDR config')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--img-shape', type=int, nargs=2, default=[240, 320])
    parser.add_argument('--num-gt', type=int, default=14)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--single',
        action='store_true',
        help='internal: measure one config in this process')
    return parser.parse_args()


def measure(args) -> dict:
    """Measure one config in this process; returns a JSON-able dict."""
    import resource

    import torch
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    import mmkd  # noqa: F401
    cfg = Config.fromfile(args.configs[0])
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(args.device).train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
    num_classes = cfg.model.bbox_head.num_classes
    packed = demo_mm_inputs(
        batch_size=args.batch_size,
        image_shapes=(3, *args.img_shape),
        num_items=[args.num_gt] * args.batch_size,
        num_classes=num_classes)
    data = model.data_preprocessor(packed, True)
    inputs = data['inputs'].to(args.device)
    samples = [s.to(args.device) for s in data['data_samples']]
    cuda = args.device.startswith('cuda')
    times = []
    for step in range(args.warmup + args.steps):
        torch.manual_seed(args.seed + step)  # same DN noise in both runs
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        losses = model.loss(inputs, samples)
        loss = sum(v.sum() for k, v in losses.items() if 'loss' in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if cuda:
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(
        config=args.configs[0],
        step_s=statistics.median(times),
        peak_mb=peak_mb,
        params_m=sum(p.numel() for p in model.parameters()) / 1e6,
        num_losses=len(losses))


def main():
    args = parse_args()
    if args.single:
        print('RESULT ' + json.dumps(measure(args)))
        return
    rows = []
    for config in args.configs:
        cmd = [sys.executable, __file__, config, '--single']
        for key in ('batch_size', 'num_gt', 'warmup', 'steps', 'seed',
                    'device'):
            cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
        cmd += ['--img-shape'] + [str(s) for s in args.img_shape]
        out = subprocess.run(
            cmd, capture_output=True, text=True, env=os.environ.copy())
        lines = [
            ln for ln in out.stdout.splitlines() if ln.startswith('RESULT')
        ]
        if out.returncode or not lines:
            sys.stderr.write(out.stderr)
            raise RuntimeError(f'benchmark of {config} failed')
        rows.append(json.loads(lines[-1][len('RESULT '):]))
    print(f"{'config':70s} {'step (s)':>9s} {'peak (MB)':>10s} "
          f"{'params (M)':>10s}")
    for r in rows:
        print(f"{r['config']:70s} {r['step_s']:9.3f} {r['peak_mb']:10.1f} "
              f"{r['params_m']:10.3f}")
    if len(rows) == 2:
        a, b = rows
        print(f"ratio second/first: time {b['step_s'] / a['step_s']:.3f}, "
              f"memory {b['peak_mb'] / a['peak_mb']:.3f}, "
              f"params {b['params_m'] / a['params_m']:.3f}")


if __name__ == '__main__':
    main()
