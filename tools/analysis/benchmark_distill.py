"""Time a distillation step against its floor: a student training step plus
a teacher inference forward, on the same batch.

    python tools/analysis/benchmark_distill.py CONFIG [--size H W]
        [--batch N] [--iters N] [--warmup N] [--device cpu|cuda]
        [--skip-timing] [--skip-memory] [--teacher-precision fp32|bf16|fp16]
        [--health-interval N]

Works on any Distiller config, segmentation (fake blocky labels of the
config's classes) or detection (fake boxes of its classes). The batch is
measured at the asked size: the student's data preprocessor pads to it
(a segmentation config's crop ``size`` is replaced by it, random batch
resizing of detectors is turned off), and the header prints the batch shape
the models actually received.

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
import copy
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

import mmkd  # noqa: F401
from mmkd.distillers import model_config
from mmkd.utils import (fake_batch, fit_preprocessor, is_distiller_config,
                        num_classes_of)

PHASES = ('student', 'teacher', 'distill')


def build(config, device, size, teacher_precision=None):
    """The Distiller of ``config`` (random teacher), its student's scope
    and number of classes."""
    cfg = Config.fromfile(config)
    if teacher_precision is not None:
        cfg.model.teacher.precision = teacher_precision
    if not is_distiller_config(cfg):
        raise ValueError(
            f'{config} is not a mmkd.Distiller config (model.type is '
            f'{cfg.model.get("type")!r}): this tool times a teacher-student '
            'step against its floor. For D-FINE use '
            'tools/analysis/benchmark_dfine.py')
    cfg.model.load_teacher_checkpoint = False
    scope = cfg.get('default_scope', 'mmseg')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_config(cfg))
    # The Distiller shares the student's preprocessor; set both anyway.
    for preprocessor in (model.data_preprocessor,
                         model.student.data_preprocessor):
        fit_preprocessor(preprocessor, size)
    return (model.to(device).train(), model.student_scope,
            num_classes_of(model.student))


def make_phases(model, batch, optim_wrapper=None):
    """Callables for one step of each phase, and the shape of the batch the
    models receive (after the data preprocessor).

    ``optim_wrapper``: a callable from parameters to an optimizer wrapper
    (default: mmengine's ``OptimWrapper`` over SGD); the floor's teacher
    forward runs in the student wrapper's context, e.g. the autocast of an
    ``AmpOptimWrapper``, as the distillation step's teacher does."""
    if optim_wrapper is None:

        def optim_wrapper(params):
            return OptimWrapper(torch.optim.SGD(params, lr=1e-4))

    student, teacher = model.student, model.teacher
    # The floor's teacher forward is in fp32 whatever the distillation
    # step's teacher runs in: a low-precision teacher is measured against it.
    teacher = copy.deepcopy(teacher).float()
    opt_s = optim_wrapper(student.parameters())
    opt_d = optim_wrapper(model.parameters())
    data = model.data_preprocessor(batch, True)

    def teacher_step():
        with torch.no_grad(), opt_s.optim_context(teacher):
            teacher(data['inputs'], data['data_samples'], mode='tensor')

    def checked_step():  # a step on which DistillHealthHook checks
        model.health_check = 'taps'
        model.train_step(batch, opt_d)
        model.health_check = None

    return dict(
        student=lambda: student.train_step(batch, opt_s),
        teacher=teacher_step,
        distill=lambda: model.train_step(batch, opt_d),
        health=checked_step), tuple(data['inputs'].shape)


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--size', type=int, nargs=2, default=[512, 512])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--skip-timing', action='store_true', help='measure memory only')
    parser.add_argument(
        '--skip-memory', action='store_true', help='measure time only')
    parser.add_argument(
        '--teacher-precision',
        choices=('fp32', 'bf16', 'fp16'),
        help="the distillation step's teacher precision (default: the "
        "config's); the floor's teacher forward is always fp32")
    parser.add_argument(
        '--health-interval',
        type=int,
        help='also time a step with a DistillHealthHook check and print '
        'its cost, alone and spread over this interval')
    parser.add_argument(
        '--memory-phase', choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    model, scope, num_classes = build(args.config, args.device, args.size,
                                      args.teacher_precision)
    batch = fake_batch(scope, args.size, args.batch, num_classes)
    phases, shape = make_phases(model, batch)
    if args.memory_phase:  # child process of the CPU memory measurement
        print(
            json.dumps(
                measure_memory_here(phases, args.memory_phase, args.device)))
        return

    timed = PHASES + ('health', ) if args.health_interval else PHASES
    times = {p: [float('nan')] for p in timed}
    for i in range(0 if args.skip_timing else args.warmup + args.iters):
        for phase in timed:
            sync(args.device)
            start = time.perf_counter()
            phases[phase]()
            sync(args.device)
            if i == args.warmup:
                times[phase].clear()
            if i >= args.warmup:
                times[phase].append(time.perf_counter() - start)
    med = {p: statistics.median(v) for p, v in times.items()}

    memory = {p: float('nan') for p in PHASES}
    for phase in () if args.skip_memory else PHASES:
        if args.device.startswith('cuda'):
            memory[phase] = measure_memory_here(phases, phase, args.device)
        else:
            out = subprocess.run(
                [
                    sys.executable, __file__, args.config, '--size',
                    *map(str, args.size), '--batch',
                    str(args.batch), '--device', args.device, '--memory-phase',
                    phase
                ] + (['--teacher-precision', args.teacher_precision]
                     if args.teacher_precision else []),
                check=True,
                capture_output=True,
                text=True).stdout
            memory[phase] = float(out.strip().splitlines()[-1])

    floor = med['student'] + med['teacher']
    print(f'config: {args.config}')
    # The shape the models received, not the one asked for: they differ
    # when the preprocessor pads (e.g. to a multiple of pad_size_divisor).
    print(f'batch: {" x ".join(map(str, shape))} '
          f'({num_classes} classes), device: {args.device}, torch threads: '
          f'{torch.get_num_threads()}, {args.iters} timed rounds after '
          f'{args.warmup} warm-up, teacher precision in the distillation '
          f'step: {str(model.teachers["teacher"].dtype)[6:]} (the floor\'s '
          f'teacher forward: float32)')
    if tuple(shape[-2:]) != tuple(args.size):
        print(f'note: asked for {args.size[0]} x {args.size[1]}; the '
              "config's data preprocessor padded the batch to "
              f'{shape[-2]} x {shape[-1]}')
    mem_kind = 'extra peak allocated' if args.device.startswith(
        'cuda') else 'extra peak RSS'
    print(f'| phase | median s | min s | max s | {mem_kind} (MB) |')
    print('|---|---|---|---|---|')
    for phase, label in zip(
            PHASES, ('student training step', 'teacher inference forward',
                     'distillation training step')):
        print(f'| {label} | {med[phase]:.3f} | {min(times[phase]):.3f} | '
              f'{max(times[phase]):.3f} | {memory[phase]:.0f} |')
    print(f'ratio distill / (student + teacher): {med["distill"] / floor:.3f}')
    if args.health_interval:
        extra = med['health'] - med['distill']
        print(f'a step with a DistillHealthHook check: {med["health"]:.3f} s '
              f'(one check: {extra * 1e3:+.1f} ms, '
              f'{100 * extra / med["distill"]:+.1f}% of a step; at interval '
              f'{args.health_interval}: '
              f'{100 * extra / args.health_interval / med["distill"]:+.2f}% '
              'of the training time)')


if __name__ == '__main__':
    main()
