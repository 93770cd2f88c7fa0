"""Time a distillation step against its floor: a student training step plus
a teacher inference forward, on the same batch.

    python tools/analysis/benchmark_distill.py CONFIG [--size H W]
        [--batch N] [--iters N] [--warmup N] [--device cpu|cuda]

Prints the median time of each phase (the three phases are interleaved
round by round, so load changes on the machine hit them alike), the peak
memory of each phase, and the ratio distill / (student + teacher).
Peak memory of a phase is what it adds on top of the built models: on CUDA
``torch.cuda.max_memory_allocated`` minus the memory allocated before the
step; on the CPU, in a fresh process per phase, the peak resident set size
(``ru_maxrss``) after the step minus the resident set size before it.
The teacher's weights are random (no checkpoint is loaded): time does not
depend on them.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import InstanceData, PixelData

import mmkd  # noqa: F401

PHASES = ('student', 'teacher', 'distill')


def fake_batch(scope, size, batch, num_classes=19, seed=0):
    """A batch as a dataloader gives it (uint8 images, ground truth)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs = [
        torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
        for _ in range(batch)
    ]
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                batch_input_shape=(h, w), scale_factor=(1., 1.), flip=False)
    samples = []
    for i in range(batch):
        if scope == 'mmseg':
            from mmseg.structures import SegDataSample
            s = SegDataSample(metainfo=meta)
            # blocky labels, so that boundaries exist as in real data
            lab = torch.randint(0, num_classes, (1, h // 32 + 1, w // 32 + 1),
                                generator=g)
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


def build(config, device):
    cfg = Config.fromfile(config)
    cfg.model.load_teacher_checkpoint = False
    scope = cfg.get('default_scope', 'mmseg')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    return model.to(device).train(), model.student_scope


def make_phases(model, batch):
    """Callables for one step of each phase."""
    student, teacher = model.student, model.teacher
    opt_s = OptimWrapper(torch.optim.SGD(student.parameters(), lr=1e-4))
    opt_d = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4))
    data = model.data_preprocessor(batch, True)

    def teacher_step():
        with torch.no_grad():
            teacher(data['inputs'], data['data_samples'], mode='tensor')

    return dict(
        student=lambda: student.train_step(batch, opt_s),
        teacher=teacher_step,
        distill=lambda: model.train_step(batch, opt_d))


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure_memory_here(phases, phase, device):
    """Extra peak memory (MB) of one step of ``phase`` over what is held
    before it (the built models)."""
    fn = phases[phase]
    if device.startswith('cuda'):
        fn()  # warm-up: lazy allocations, optimizer state
        sync(device)
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        sync(device)
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    # On the CPU, the first step in a fresh process (ru_maxrss never drops)
    before = _rss_mb()
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--size', type=int, nargs=2, default=[512, 512])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--num-classes', type=int, default=19,
        help='labels of the fake batch are drawn below this (BCCD: 3)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--skip-timing', action='store_true', help='measure memory only')
    parser.add_argument('--memory-phase', choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()

    model, scope = build(args.config, args.device)
    batch = fake_batch(scope, args.size, args.batch, args.num_classes)
    phases = make_phases(model, batch)
    if args.memory_phase:  # child process of the CPU memory measurement
        print(json.dumps(measure_memory_here(phases, args.memory_phase,
                                             args.device)))
        return

    times = {p: [float('nan')] for p in PHASES}
    for i in range(0 if args.skip_timing else args.warmup + args.iters):
        for phase in PHASES:
            sync(args.device)
            start = time.perf_counter()
            phases[phase]()
            sync(args.device)
            if i == args.warmup:
                times[phase].clear()
            if i >= args.warmup:
                times[phase].append(time.perf_counter() - start)
    med = {p: statistics.median(v) for p, v in times.items()}

    memory = {}
    for phase in PHASES:
        if args.device.startswith('cuda'):
            memory[phase] = measure_memory_here(phases, phase, args.device)
        else:
            out = subprocess.run(
                [sys.executable, __file__, args.config, '--size',
                 *map(str, args.size), '--batch', str(args.batch),
                 '--device', args.device, '--num-classes',
                 str(args.num_classes), '--memory-phase', phase],
                check=True, capture_output=True, text=True).stdout
            memory[phase] = float(out.strip().splitlines()[-1])

    floor = med['student'] + med['teacher']
    print(f'config: {args.config}')
    print(f'batch: {args.batch} x 3 x {args.size[0]} x {args.size[1]}, '
          f'device: {args.device}, torch threads: {torch.get_num_threads()},'
          f' {args.iters} timed rounds after {args.warmup} warm-up')
    mem_kind = 'extra peak allocated' if args.device.startswith(
        'cuda') else 'extra peak RSS'
    print(f'| phase | median s | min s | max s | {mem_kind} (MB) |')
    print('|---|---|---|---|---|')
    for phase, label in zip(PHASES, ('student training step',
                                     'teacher inference forward',
                                     'distillation training step')):
        print(f'| {label} | {med[phase]:.3f} | {min(times[phase]):.3f} | '
              f'{max(times[phase]):.3f} | {memory[phase]:.0f} |')
    print(f'ratio distill / (student + teacher): {med["distill"] / floor:.3f}')


if __name__ == '__main__':
    main()
