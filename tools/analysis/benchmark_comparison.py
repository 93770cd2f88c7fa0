"""Time a comparison run's step (mmkd.DistillComparison) against what its
arms would cost apart: N student training steps plus one teacher forward.

    python tools/analysis/benchmark_comparison.py CONFIG [--size H W]
        [--batch N] [--iters N]

Random teacher weights (time does not depend on them), a fake batch of the
config's classes at ``--size``. Prints the medians and the ratio
comparison step / (N x student step + teacher forward).
"""
import argparse
import copy
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401
from mmkd.distillers import ComparisonOptimWrapperConstructor, model_config
from mmkd.utils import fake_batch, fit_preprocessor, num_classes_of


def build(config, size):
    """The comparison of ``config`` (random teacher weights), initialised,
    in training mode, its preprocessor keeping batches at ``size``."""
    cfg = Config.fromfile(config)
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_config(cfg))
    model.init_weights()
    model.train()
    fit_preprocessor(model.data_preprocessor, size)
    return model


def make_phases(model, batch, optim_wrapper_cfg=None):
    """One step of each phase: the first arm's student alone, the teacher's
    forward and the comparison step. ``optim_wrapper_cfg``: the optimizer
    wrapper of each (default: ``OptimWrapper`` over SGD); the teacher's
    forward runs in its context (an ``AmpOptimWrapper``'s autocast)."""
    cfg = optim_wrapper_cfg or dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-4))
    student = model.student_of(next(iter(model.arms)))
    teacher = model.teachers['teacher'].model
    optim = ComparisonOptimWrapperConstructor(cfg)(model)
    alone = DefaultOptimWrapperConstructor(copy.deepcopy(cfg))(student)
    data = model.data_preprocessor(batch, True)

    def teacher_forward():
        with torch.no_grad(), alone.optim_context(teacher):
            teacher(data['inputs'], data['data_samples'], mode='tensor')

    return dict(
        student=lambda: student.train_step(batch, alone),
        teacher=teacher_forward,
        comparison=lambda: model.train_step(batch, optim))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--size', type=int, nargs=2, default=[176, 224])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--iters', type=int, default=5)
    args = parser.parse_args(argv)
    # the current logger: keeps mmengine's per-parameter init report quiet
    MMLogger.get_instance('benchmark_comparison', log_level='WARNING')
    model = build(args.config, args.size)
    student = model.student_of(next(iter(model.arms)))
    batch = fake_batch('mmseg', args.size, args.batch, num_classes_of(student))
    phases = make_phases(model, batch)
    times = {name: [] for name in phases}
    for i in range(args.iters + 1):  # the first round warms up
        for name, fn in phases.items():
            start = time.perf_counter()
            fn()
            if i:
                times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    arms = len(model.arms)
    floor = arms * med['student'] + med['teacher']
    print(f'{args.config}: {arms} arms, batch {args.batch}x3x{args.size[0]}'
          f'x{args.size[1]}, {torch.get_num_threads()} threads, medians of '
          f'{args.iters}')
    for name, value in med.items():
        print(f'{name:10s} {value:.3f} s')
    print(f'ratio comparison / ({arms} x student + teacher): '
          f'{med["comparison"] / floor:.3f}; {arms} separate distillation '
          f'runs would pay the teacher {arms} times')


if __name__ == '__main__':
    main()
