"""Time a comparison run's step (mmkd.DistillComparison) against what its
arms would cost apart: N student training steps plus one teacher forward.

    python tools/analysis/benchmark_comparison.py CONFIG [--size H W]
        [--batch N] [--iters N]

Random teacher weights (time does not depend on them), a fake batch of the
config's classes at ``--size``. Prints the medians and the ratio
comparison step / (N x student step + teacher forward).
"""
import argparse
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401
from mmkd.distillers import ComparisonOptimWrapperConstructor, model_config
from mmkd.utils import fake_batch, fit_preprocessor, num_classes_of


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--size', type=int, nargs=2, default=[176, 224])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--iters', type=int, default=5)
    args = parser.parse_args(argv)
    # the current logger: keeps mmengine's per-parameter init report quiet
    MMLogger.get_instance('benchmark_comparison', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_config(cfg))
    model.init_weights()
    model.train()
    fit_preprocessor(model.data_preprocessor, args.size)
    student = model.student_of(next(iter(model.arms)))
    teacher = model.teachers['teacher'].model
    batch = fake_batch('mmseg', args.size, args.batch, num_classes_of(student))
    optim = ComparisonOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-4)))(
            model)
    alone = OptimWrapper(torch.optim.SGD(student.parameters(), lr=1e-4))
    data = model.data_preprocessor(batch, True)

    def teacher_forward():
        with torch.no_grad():
            teacher(data['inputs'], data['data_samples'], mode='tensor')

    phases = dict(
        student=lambda: student.train_step(batch, alone),
        teacher=teacher_forward,
        comparison=lambda: model.train_step(batch, optim))
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
