"""Check that every method trains on a GPU in fp32, AMP fp16 and AMP bf16.

    python tools/analysis/gpu_check.py [--out ROWS.jsonl] [--only NAME ...]
        [--precisions fp32 fp16 bf16] [--device cuda|cpu] [--size H W]
        [--batch N] [--warmup N] [--iters N] [--list] [--list-ops]

Each run is a shipped config built with random weights (no checkpoint is
loaded, nothing is downloaded) and fed a fake batch of its classes at
``--size``: CWD, BPKD and ACAM-KD on PSPNet pairs, ACAM-KD and ProC-KD on
RetinaNet, D-FINE on DINO, the G2SD generic stage, CWD from a bf16 teacher
and a comparison run (``--list`` names them with their configs). For each
run and precision it makes ``--warmup`` + ``--iters`` training steps, each
round also timing the step's floor, and writes one JSON row (one line of
``--out``) with:

- ``ok`` / ``error``: the run built and trained (else the exception);
- ``finite_losses`` (every logged loss of every step) and ``nonfinite``
  (the keys that were not), ``finite_params`` (after the steps);
- ``devices_ok`` / ``off_device``: every parameter and buffer of the
  model (student, loss modules, arms) and of each hidden teacher
  (``model.teachers``) is on the device;
- ``step_s`` (median), ``floor_s`` and ``ratio`` = step / floor, where the
  floor is one student training step plus one teacher inference forward
  (tools/analysis/benchmark_distill.py; a comparison: N student steps plus
  one teacher forward, benchmark_comparison.py; G2SD: benchmark_g2sd.py;
  D-FINE: a plain DINO step on the same batch), all in the run's precision;
- ``peak_mb``: the peak GPU memory allocated during one step, everything
  resident included; ``step_extra_mb``: that peak minus what was allocated
  before the step;
- ``sdpa_backend`` (ACAM-KD rows): the kernel PyTorch's SDPA chose for the
  first attention level, P3 for RetinaNet's FPN (``mmkd.ops.sdpa_backend``:
  ``flash``, ``efficient``, ``cudnn``, or ``math``, which builds the N x N
  matrix); the choice depends on dtype, width and device, not on the number
  of tokens, so the small batch answers for full-size inputs;
- ``health_finite``: one more step with a DistillHealthHook check (the
  gradients of every term and of the task loss on the taps, under the
  run's precision) gave finite figures (None without a Distiller).

The table of the rows is printed at the end. AMP is mmengine's
``AmpOptimWrapper`` (dynamic loss scale for fp16). Without CUDA the script
runs its CPU subset: fp32 and bf16 autocast (``torch.autocast('cpu')``;
mmengine's AmpOptimWrapper needs CUDA) at a small size. Exit status 1 if
any row failed. ``--list-ops`` prints the mmcv ops the runs call, for a
reduced mmcv build (tools/env/gpu_wheels.sh).
"""
import argparse
import contextlib
import copy
import fnmatch
import importlib.util
import json
import math
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, OPTIM_WRAPPERS, DefaultScope

import mmkd  # noqa: F401  (registers mmkd)
from mmkd.distillers.builder import load_model_config
from mmkd.hooks.distill_health import distillers_of
from mmkd.utils import fake_batch, fit_preprocessor

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CWD = 'configs/cwd/cwd_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes-512x1024.py'  # noqa: E501
#: name -> what it runs. ``kind``: distill (a Distiller config), comparison,
#: g2sd, dfine. ``size``: the input on CUDA (``--size`` overrides it; the
#: CPU subset runs at 64 x 64).
RUNS = {
    'cwd_pspnet': dict(kind='distill', config=CWD, size=(512, 512)),
    'bpkd_pspnet': dict(
        kind='distill',
        config='configs/bpkd/bpkd_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_'
        'cityscapes-512x1024.py',
        size=(512, 512)),
    'acam_pspnet': dict(
        kind='distill',
        config='configs/acam/acam_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_'
        'camvid-240x180.py',
        size=(512, 512)),
    'acam_retinanet': dict(
        kind='distill',
        config='configs/acam/acam_retinanet-r101-fpn_retinanet-r50-fpn_8xb2-'
        '2x_coco.py',
        size=(512, 512)),
    'prockd_retinanet': dict(
        kind='distill',
        config='configs/prockd/prockd_swin-base-in1k_retinanet-r50-fpn_8xb2-'
        '1x_coco.py',
        size=(512, 512)),
    'dfine_dino': dict(
        kind='dfine',
        config='configs/dfine/dfine_dino-4scale_r50_8xb2-12e_coco.py',
        floor_config='mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
        size=(512, 512)),
    'g2sd_generic': dict(
        kind='g2sd',
        config='configs/g2sd/g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_'
        '8xb512-amp-300e_in1k.py',
        size=(224, 224)),  # the model's own
    'bf16_teacher': dict(
        kind='distill', config=CWD, teacher_precision='bf16', size=(512, 512)),
    'comparison': dict(
        kind='comparison',
        config='configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_'
        'plain-cwd-bpkd_1xb4-12k_camvid-120x90.py',
        size=(512, 512)),
}
PRECISIONS = dict(fp32=None, fp16=torch.float16, bf16=torch.bfloat16)
CPU_SIZE = (64, 64)
#: DINO keeps 900 encoder proposals: below about 256 x 256 there are fewer
#: tokens than that. RetinaNet at 64 x 64 has a 1 x 1 P7, a single token.
CPU_SIZES = dict(
    dfine_dino=(256, 256),
    acam_retinanet=(128, 128),
    prockd_retinanet=(128, 128))


def _tool(name: str):
    """A sibling script (e.g. benchmark_distill.py) as a module."""
    spec = importlib.util.spec_from_file_location(f'_gpu_check_{name}',
                                                  HERE / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CPUAutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward runs under bf16 autocast on the CPU
    (mmengine's ``AmpOptimWrapper`` refuses to build without CUDA)."""

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=torch.bfloat16):
            yield


def wrapper_config(precision: str, device: str, optimizer: str) -> dict:
    """The optimizer wrapper config of a precision on a device."""
    cfg = dict(optimizer=dict(type=optimizer, lr=1e-4))
    if precision == 'fp32':
        return dict(cfg, type='OptimWrapper')
    if device.startswith('cuda'):
        return dict(
            cfg,
            type='AmpOptimWrapper',
            dtype=str(PRECISIONS[precision])[6:],
            loss_scale='dynamic')
    if precision == 'bf16':
        return dict(cfg, type=CPUAutocastOptimWrapper)
    raise ValueError(f'{precision} on the CPU: only fp32 and bf16 autocast '
                     'run there (AMP fp16 needs CUDA)')


def wrapper_factory(cfg: dict):
    """A callable from parameters to the optimizer wrapper ``cfg`` names
    (the form the benchmark tools take)."""

    def make(params):
        rest = copy.deepcopy(cfg)
        kind = rest.pop('type')
        opt = rest.pop('optimizer')
        optimizer = getattr(torch.optim, opt.pop('type'))(params, **opt)
        cls = OPTIM_WRAPPERS.get(kind) if isinstance(kind, str) else kind
        return cls(optimizer=optimizer, **rest)

    return make


def init_without_downloads(model) -> None:
    """``init_weights()`` as a training run starts, less the ``Pretrained``
    initialisations (a URL each, which a machine without network cannot
    fetch): e.g. RetinaNet's classifier bias prior, which keeps the first
    focal losses in range."""
    for module in model.modules():
        cfg = getattr(module, 'init_cfg', None)
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            module.init_cfg = None
        elif isinstance(cfg, list):
            module.init_cfg = [
                c for c in cfg if c.get('type') != 'Pretrained'
            ] or None
    model.init_weights()


class Built:
    """What a run trains: ``model`` (student, losses or arms), its hidden
    ``teachers``, the ``phases`` (``step`` is the measured training step,
    returning its log) and the ``floor`` as (phase, multiplier) pairs."""

    def __init__(self, model, phases, floor, floor_text, shape):
        self.model = model
        self.teachers = getattr(model, 'teachers', {}) or {}
        self.phases = phases
        self.floor = floor
        self.floor_text = floor_text
        self.shape = shape


def build_distill(run, device, size, batch, wcfg):
    bench = _tool('benchmark_distill')
    model, scope, num_classes = bench.build(
        str(ROOT / run['config']), device, size, run.get('teacher_precision'))
    init_without_downloads(model)
    data = fake_batch(scope, size, batch, num_classes)
    phases, shape = bench.make_phases(model, data, wrapper_factory(wcfg))
    return Built(
        model,
        dict(
            step=phases['distill'],
            student=phases['student'],
            teacher=phases['teacher']), [('student', 1), ('teacher', 1)],
        'student step + teacher forward (fp32 teacher)', shape)


def build_comparison(run, device, size, batch, wcfg):
    from mmkd.utils import num_classes_of
    bench = _tool('benchmark_comparison')
    model = bench.build(str(ROOT / run['config']), size).to(device)
    student = model.student_of(next(iter(model.arms)))
    data = fake_batch('mmseg', size, batch, num_classes_of(student))
    phases = bench.make_phases(model, data, wcfg)
    arms = len(model.arms)
    return Built(
        model,
        dict(
            step=phases['comparison'],
            student=phases['student'],
            teacher=phases['teacher']), [('student', arms), ('teacher', 1)],
        f'{arms} x student step + teacher forward', (batch, 3, *size))


def build_g2sd(run, device, size, batch, wcfg):
    bench = _tool('benchmark_g2sd')
    model = bench.build(str(ROOT / run['config']), device)
    phases, shape = bench.make_phases(model, batch, device,
                                      wrapper_factory(wcfg))
    return Built(
        model,
        dict(
            step=phases['g2sd'],
            student=phases['student'],
            teacher=phases['teacher']), [('student', 1), ('teacher', 1)],
        'student MAE step + teacher forward', shape)


def _detector(config: str, device: str, size):
    cfg = load_model_config(config)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    init_without_downloads(model)
    fit_preprocessor(model.data_preprocessor, size)
    return model.to(device).train(), cfg.model.bbox_head.num_classes


def build_dfine(run, device, size, batch, wcfg):
    model, num_classes = _detector(str(ROOT / run['config']), device, size)
    plain, _ = _detector(run['floor_config'], device, size)
    data = fake_batch('mmdet', size, batch, num_classes)
    make = wrapper_factory(wcfg)
    opt, opt_plain = make(model.parameters()), make(plain.parameters())
    return Built(
        model,
        dict(
            step=lambda: model.train_step(data, opt),
            plain=lambda: plain.train_step(data, opt_plain)), [('plain', 1)],
        'plain DINO step', (batch, 3, *size))


BUILDERS = dict(
    distill=build_distill,
    comparison=build_comparison,
    g2sd=build_g2sd,
    dfine=build_dfine)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


@contextlib.contextmanager
def record_sdpa():
    """The kernels ACAM-KD's attention asked ``sdpa_backend`` about, in
    call order (one call per level and step)."""
    acam = sys.modules.get('mmkd.losses.acam')
    seen = []
    original = getattr(acam, 'sdpa_backend', None)
    if original is None:
        yield seen
        return

    def recording(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    acam.sdpa_backend = recording
    try:
        yield seen
    finally:
        acam.sdpa_backend = original


def off_device(built: Built, device: str) -> list:
    """Names of parameters and buffers (model and hidden teachers) that are
    not on ``device``."""
    want = torch.device(device).type
    modules = [('', built.model)
               ] + [(f'teachers.{name}.', hidden.model)
                    for name, hidden in built.teachers.items()]
    bad = []
    for prefix, module in modules:
        for name, tensor in list(module.named_parameters()) + list(
                module.named_buffers()):
            if tensor.device.type != want:
                bad.append(f'{prefix}{name} ({tensor.device})')
    return bad


def nonfinite_keys(log: dict) -> list:
    return [
        k for k, v in log.items()
        if not torch.isfinite(torch.as_tensor(v, dtype=torch.float)).all()
    ]


def check(name: str, precision: str, args) -> dict:
    """Build, train and measure one run in one precision; a row."""
    run = RUNS[name]
    device = args.device
    size = tuple(
        args.size
        or (run['size'] if device.startswith('cuda') else CPU_SIZES.get(
            name, CPU_SIZE)))
    row = dict(
        run=name,
        config=run['config'],
        precision=precision,
        device=device_name(device))
    optimizer = 'AdamW' if run['kind'] in ('g2sd', 'dfine') else 'SGD'
    wcfg = wrapper_config(precision, device, optimizer)
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(0)
    built = BUILDERS[run['kind']](run, device, size, args.batch, wcfg)
    row.update(shape=list(built.shape), floor=built.floor_text)
    trainable = {
        n: p.detach().cpu().clone()
        for n, p in built.model.named_parameters() if p.requires_grad
    }
    bad_keys, times = set(), {p: [] for p in built.phases}
    with record_sdpa() as sdpa:
        for i in range(args.warmup + args.iters):
            for phase, fn in built.phases.items():
                sync(device)
                start = time.perf_counter()
                out = fn()
                sync(device)
                if i >= args.warmup:
                    times[phase].append(time.perf_counter() - start)
                if phase == 'step':
                    bad_keys.update(nonfinite_keys(out))
        # one more step for the peak memory: the resident models and
        # optimizer states count, as they do in a training run
        if device.startswith('cuda'):
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        bad_keys.update(nonfinite_keys(built.phases['step']()))
        sync(device)
        health = health_figures(built)
    if device.startswith('cuda'):
        row['peak_mb'] = round(torch.cuda.max_memory_allocated() / 2**20)
        row['step_extra_mb'] = round(
            (torch.cuda.max_memory_allocated() - before) / 2**20)
    else:
        row['peak_mb'] = row['step_extra_mb'] = None
    med = {p: statistics.median(t) for p, t in times.items()}
    floor = sum(med[p] * k for p, k in built.floor)
    bad = off_device(built, device)
    row.update(
        ok=True,
        error=None,
        steps=args.warmup + args.iters + 1,
        finite_losses=not bad_keys,
        nonfinite=sorted(bad_keys),
        finite_params=all(
            torch.isfinite(p).all().item() for p in built.model.parameters()),
        # an AMP loss scaler skips steps whose gradients are not finite:
        # parameters that never moved show it
        updated=round(
            sum(not torch.equal(p.detach().cpu(), trainable[n])
                for n, p in built.model.named_parameters() if n in trainable) /
            max(len(trainable), 1), 3),
        devices_ok=not bad,
        off_device=bad[:5],
        step_s=round(med['step'], 4),
        floor_s=round(floor, 4),
        ratio=round(med['step'] / floor, 3),
        sdpa_backend=sdpa[0] if sdpa else None,
        health_finite=health)
    return row


def health_figures(built: Built):
    """One more step with a DistillHealthHook check on every Distiller
    (autograd.grad of each term and the task loss under the run's
    precision): whether every term's gradient norm is finite; None for a
    model without a Distiller (D-FINE, G2SD's generic stage)."""
    try:
        distillers = distillers_of(built.model)
    except TypeError:
        return None
    for distiller in distillers.values():
        distiller.health_check = 'taps'
    try:
        built.phases['step']()
    finally:
        for distiller in distillers.values():
            distiller.health_check = None
    rows = [r for d in distillers.values() for r in d.health.values()]
    return bool(rows) and all(math.isfinite(r['grad_norm']) for r in rows)


def device_name(device: str) -> str:
    if device.startswith('cuda'):
        return torch.cuda.get_device_name(torch.device(device))
    return 'cpu'


def list_ops() -> set:
    """Which mmcv ops the runs call: the compiled functions called on this
    device, and the CUDA-only paths (they fall back to PyTorch code on the
    CPU, so a CPU run cannot see them)."""
    import mmcv.ops  # noqa: F401  (loads the extension)
    ext = sys.modules.get('mmcv._ext')
    called = set()
    if ext is not None:
        for fun in [f for f in dir(ext) if not f.startswith('_')]:
            original = getattr(ext, fun)
            if callable(original):

                def spy(*a, _f=fun, _o=original, **k):
                    called.add(_f)
                    return _o(*a, **k)

                setattr(ext, fun, spy)
    print('CUDA-only mmcv paths of these runs (PyTorch code on the CPU): '
          'sigmoid_focal_loss (mmdet FocalLoss: RetinaNet), '
          'ms_deform_attn_forward/backward (MultiScaleDeformableAttention:'
          ' DINO, D-FINE)')
    return called


def print_table(rows: list) -> None:
    cols = ('run', 'precision', 'ok', 'finite_losses', 'finite_params',
            'updated', 'devices_ok', 'step_s', 'ratio', 'peak_mb',
            'sdpa_backend', 'health_finite')
    print('| ' + ' | '.join(cols) + ' |')
    print('|' + '---|' * len(cols))
    for row in rows:
        cells = []
        for col in cols:
            value = row.get(col)
            if isinstance(value, float) and not math.isnan(value):
                value = f'{value:.3f}'
            cells.append('' if value is None else str(value))
        print('| ' + ' | '.join(cells) + ' |')
    for row in rows:
        if not row['ok']:
            print(f"{row['run']} {row['precision']}: {row['error']}")
        elif row['nonfinite'] or row['off_device']:
            print(f"{row['run']} {row['precision']}: non-finite "
                  f"{row['nonfinite']}, off the device {row['off_device']}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='JSON rows, one per line')
    parser.add_argument(
        '--only',
        nargs='+',
        metavar='NAME',
        help='runs to do (names or shell patterns; --list names them)')
    parser.add_argument('--precisions', nargs='+', choices=sorted(PRECISIONS))
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        help='input size of every run (default: each run\'s on CUDA, '
        f'{CPU_SIZE[0]} x {CPU_SIZE[1]} on the CPU)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument(
        '--list', action='store_true', help='print the runs and exit')
    parser.add_argument(
        '--list-ops',
        action='store_true',
        help='also print the mmcv ops the runs called')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.list:
        for name, run in RUNS.items():
            print(f'{name:18s} {run["kind"]:10s} {run["config"]}')
        return
    names = list(RUNS)
    if args.only:
        names = [
            n for n in names if any(fnmatch.fnmatch(n, p) for p in args.only)
        ]
        if not names:
            raise SystemExit(f'--only {args.only} matches no run; the runs: '
                             f'{", ".join(RUNS)}')
    cuda = args.device.startswith('cuda')
    if cuda and not torch.cuda.is_available():
        raise SystemExit('--device cuda, but torch sees no GPU (torch '
                         f'{torch.__version__}); --device cpu runs the CPU '
                         'subset')
    precisions = args.precisions or (['fp32', 'fp16', 'bf16']
                                     if cuda else ['fp32', 'bf16'])
    # quiet the per-parameter init reports of the models built here
    MMLogger.get_instance('gpu_check', log_level='WARNING')
    called = list_ops() if args.list_ops else None
    print(
        f'torch {torch.__version__}, device {device_name(args.device)}; '
        f'runs {names}; precisions {precisions}',
        flush=True)
    rows = []
    out = open(args.out, 'w') if args.out else None
    try:
        for name in names:
            for precision in precisions:
                start = time.perf_counter()
                try:
                    row = check(name, precision, args)
                except Exception as exc:  # a failed run is a row, not the end
                    traceback.print_exc()
                    row = dict(
                        run=name,
                        config=RUNS[name]['config'],
                        precision=precision,
                        device=device_name(args.device),
                        ok=False,
                        error=f'{type(exc).__name__}: {exc}'[:2000])
                row['wall_s'] = round(time.perf_counter() - start, 1)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if out is not None:
                    out.write(json.dumps(row) + '\n')
                    out.flush()
    finally:
        if out is not None:
            out.close()
    print_table(rows)
    if called is not None:
        print(f'mmcv ops called on {args.device}: {sorted(called)}')
    if not all(r['ok'] and r['finite_losses'] and r['finite_params']
               and r['devices_ok'] for r in rows):
        sys.exit(1)


if __name__ == '__main__':
    main()
