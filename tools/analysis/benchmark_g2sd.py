"""Time a G2SD generic-stage step against its floor: the student's MAE
step (encoder on the visible patches, light decoder, projection, loss
against a fixed target, backward, optimizer step) plus the teacher's
forward (encoder on the visible patches, decoder blocks 1..k), on the same
batch and mask.

    python tools/analysis/benchmark_g2sd.py [CONFIG] [--batch N]
        [--iters N] [--warmup N] [--device cpu|cuda] [--skip-timing]
        [--skip-memory]

CONFIG defaults to the ImageNet ViT-B -> ViT-S config. The teacher's
weights are random (no checkpoint is loaded): time does not depend on them.
Prints the median time of each phase (interleaved round by round), the
extra peak memory of each (on the CPU: in a fresh process, after one
warm-up step, the peak resident set size of one step over the RSS before
it (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``); on CUDA:
``max_memory_allocated`` over what was allocated before), and the ratio
step / (student + teacher).
"""
import argparse
import json
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

PHASES = ('student', 'teacher', 'g2sd')
DEFAULT = ('configs/g2sd/g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_'
           '8xb512-amp-300e_in1k.py')


def build(config: str, device: str):
    cfg = Config.fromfile(config)
    if cfg.model.get('type') != 'mmkd.G2SD':
        raise ValueError(f'{config} is not a mmkd.G2SD config; for a '
                         'Distiller use tools/analysis/benchmark_distill.py')
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_config(cfg))
    model.init_weights()
    return model.to(device).train()


def make_phases(model, batch: int, device: str, optim_wrapper=None):
    """One step of each phase, and the shape of the batch. ``optim_wrapper``:
    a callable from parameters to an optimizer wrapper (default: mmengine's
    ``OptimWrapper`` over AdamW); every phase runs in its context (an
    ``AmpOptimWrapper``'s autocast)."""
    if optim_wrapper is None:

        def optim_wrapper(params):
            return OptimWrapper(torch.optim.AdamW(params, lr=1e-4))

    size = model.backbone.patch_resolution[0] * model.backbone.patch_embed.\
        projection.stride[0]
    g = torch.Generator().manual_seed(0)
    images = torch.randint(
        0, 256, (batch, 3, size, size), generator=g, dtype=torch.uint8)
    data = dict(inputs=images, data_samples=[None] * batch)
    inputs = model.data_preprocessor(data, True)['inputs'].to(device)
    noise = torch.rand(batch, model.backbone.num_patches, device=device)
    hidden = model.teachers['teacher']
    target = hidden.records(inputs, None, noise=noise)[model.target_tap]
    params = [p for p in model.parameters() if p.requires_grad]
    opt_s = optim_wrapper(params)
    opt_g = optim_wrapper(params)

    def student_step():
        with opt_s.optim_context(model):
            latent, mask, ids = model.backbone(inputs, noise=noise)
            loss = model.criterion(model.neck(latent, ids), target, mask)
        opt_s.update_params(loss)

    def teacher_forward():
        with opt_s.optim_context(model):
            hidden.records(inputs, None, noise=noise)

    return dict(
        student=student_step,
        teacher=teacher_forward,
        g2sd=lambda: model.train_step(data, opt_g)), tuple(inputs.shape)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def memory_here(phases, phase: str, device: str) -> float:
    fn = phases[phase]
    if device.startswith('cuda'):
        fn()
        sync(device)
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        sync(device)
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    fn()  # warm-up: lazy allocations, optimizer state
    try:  # reset the peak (VmHWM) to the current RSS: build peaks are gone
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass
    before = _status_mb('VmRSS')
    fn()
    return _status_mb('VmHWM') - before


def _status_mb(field: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--skip-timing', action='store_true', help='measure memory only')
    parser.add_argument(
        '--skip-memory', action='store_true', help='measure time only')
    parser.add_argument(
        '--memory-phase', choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    model = build(args.config, args.device)
    phases, shape = make_phases(model, args.batch, args.device)
    if args.memory_phase:  # child process of the CPU memory measurement
        print(json.dumps(memory_here(phases, args.memory_phase, args.device)))
        return
    times = {p: [] for p in PHASES}
    for i in range(0 if args.skip_timing else args.warmup + args.iters):
        for phase in PHASES:
            sync(args.device)
            start = time.perf_counter()
            phases[phase]()
            sync(args.device)
            if i >= args.warmup:
                times[phase].append(time.perf_counter() - start)
    times = {p: v or [float('nan')] for p, v in times.items()}
    med = {p: statistics.median(v) for p, v in times.items()}
    memory = {p: float('nan') for p in PHASES}
    for phase in () if args.skip_memory else PHASES:
        if args.device.startswith('cuda'):
            memory[phase] = memory_here(phases, phase, args.device)
            continue
        out = subprocess.run([
            sys.executable, __file__, args.config, '--batch',
            str(args.batch), '--device', args.device, '--memory-phase', phase
        ],
                             check=True,
                             capture_output=True,
                             text=True).stdout
        memory[phase] = float(out.strip().splitlines()[-1])

    print(f'config: {args.config}')
    print(f'batch: {" x ".join(map(str, shape))}, device: {args.device}, '
          f'torch threads: {torch.get_num_threads()}, {args.iters} timed '
          f'rounds after {args.warmup} warm-up; teacher decoder blocks run: '
          f'{model.target_layer} of {len(model.teacher.neck.decoder_blocks)}')
    kind = 'extra peak allocated' if args.device.startswith(
        'cuda') else 'extra peak RSS'
    print(f'| phase | median s | min s | max s | {kind} (MB) |')
    print('|---|---|---|---|---|')
    labels = ('student MAE step (fixed target)',
              'teacher forward (encoder + blocks 1..k)', 'G2SD generic step')
    for phase, label in zip(PHASES, labels):
        print(f'| {label} | {med[phase]:.3f} | {min(times[phase]):.3f} | '
              f'{max(times[phase]):.3f} | {memory[phase]:.0f} |')
    floor = med['student'] + med['teacher']
    print(f'ratio g2sd / (student + teacher): {med["g2sd"] / floor:.3f}')


if __name__ == '__main__':
    main()
