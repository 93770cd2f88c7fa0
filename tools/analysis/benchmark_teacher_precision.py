"""Time a model's inference forward in float32, in bfloat16 with its weights
cast once, and in float32 under bfloat16 autocast: the choice behind
``teacher=dict(precision='bf16')``.

    python tools/analysis/benchmark_teacher_precision.py MODEL_CONFIG \\
        [--size 256 256] [--batch 2] [--repeat 3] [--threads 1]

MODEL_CONFIG is a model config (``mmseg::...`` or a local file), e.g. a
teacher's. Prints the best of ``--repeat`` forwards for each variant, two
rounds, and the largest difference of the outputs from float32's.
"""
import argparse
import copy
import time

import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401  (registers mmkd; mmkd:: configs)
from mmkd.distillers.builder import load_model_config, model_config


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--size', type=int, nargs=2, default=(256, 256))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_model_config(args.config)
    cfg.model.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = revert_sync_batchnorm(MODELS.build(model_config(cfg)))
    model.eval()
    cast = copy.deepcopy(model).to(torch.bfloat16)
    x = torch.randn(args.batch, 3, *args.size)

    def autocast():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return model(x, mode='tensor')

    variants = dict(
        fp32=lambda: model(x, mode='tensor'),
        bf16_cast_once=lambda: cast(x.bfloat16(), mode='tensor'),
        bf16_autocast=autocast)
    print(f'{args.config}: {args.batch}x3x{args.size[0]}x{args.size[1]}, '
          f'{args.threads} thread(s), best of {args.repeat}')
    with torch.no_grad():
        outs = {name: fn() for name, fn in variants.items()}  # warm-up
        for round_ in (1, 2):
            for name, fn in variants.items():
                print(f'round {round_} {name:15s} '
                      f'{best_of(fn, args.repeat):.3f} s')
    ref = outs['fp32'].float()
    for name in ('bf16_cast_once', 'bf16_autocast'):
        diff = (outs[name].float() - ref).abs().max().item()
        print(f'{name}: max |out - fp32| = {diff:.3g} '
              f'(max |fp32| = {ref.abs().max().item():.3g})')


if __name__ == '__main__':
    main()
