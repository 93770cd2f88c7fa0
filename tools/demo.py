"""The main job in one command: distil a small segmenter on generated data.

    python tools/demo.py [--method bpkd|cwd] [--seeds 0 1]
                         [--work-dir work_dirs/demo] [--threads 2]

1. draws the shapes dataset (discs, squares, triangles; data/shapes-v2),
2. trains the teacher, or reuses the one cached for the same config and data,
3. trains the student without and with distillation, same seed and
   schedule, once per seed,
4. prints one progress bar per phase and a table of the models' mIoU and
   boundary IoU, and writes a picture of predictions and error maps.

Everything runs on the CPU, without downloads, through mmengine's Runner
and the configs in configs/demo/. The runners' full logs (hooks, configs,
loss lines) go to the work dir, not to the terminal.

The same numbers on any x86-64 machine, as far as the stack allows: the
runs are deterministic (mmengine's ``randomness``), use a fixed number of
threads (``--threads``, 2 by default, whatever the machine has) and pin
the CPU kernels to one instruction set (AVX2, which every x86-64 server
of the last decade has) through the variables below, which must be set
before torch loads; set any of them yourself to override it.
"""
import os

KERNEL_PINS = dict(
    ATEN_CPU_CAPABILITY='avx2',  # torch's own vectorised kernels
    ONEDNN_MAX_CPU_ISA='AVX2',  # oneDNN's convolutions
    MKL_CBWR='AVX2')  # MKL's matrix products, reproducible mode
for _name, _value in KERNEL_PINS.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import os.path as osp  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd  # noqa: F401,E402  (registers mmkd, applies the stack fixes)
from mmkd.datasets.shapes import CLASSES, PALETTE, VERSION  # noqa: E402
from mmkd.evaluation.boundary import SegBoundaryMetricAccumulator  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'demo')
TEACHER = osp.join(CONFIGS, 'unet-s5-c16_1xb16-600i_shapes-64x64.py')
STUDENT = osp.join(CONFIGS, 'unet-s5-c8_1xb16-300i_shapes-64x64.py')
DISTILL = {
    method:
    osp.join(CONFIGS, f'{method}_unet-s5-c16_unet-s5-c8_'
             '1xb16-300i_shapes-64x64.py')
    for method in ('bpkd', 'cwd')
}
#: Where the distillation configs look for the teacher (a copy of the
#: cached one), relative to the working directory like ``work_dirs``.
TEACHER_CKPT = osp.join('work_dirs', 'demo', 'teacher.pth')
BOUNDARY_PX = 2  # boundary IoU: class pixels within 2 px of another class


class ProgressBar(Hook):
    """One line per phase: a bar over the training iterations, then the
    evaluation's result appended by :meth:`finish`. Redrawn in place on a
    terminal; printed once at the end otherwise (logs, CI)."""
    priority = 'VERY_LOW'

    def __init__(self, title: str, out, width: int = 24) -> None:
        self.title, self.out, self.width = title, out, width
        self.tty = hasattr(out, 'isatty') and out.isatty()
        self.start = time.time()
        self._last = 0.0
        self.line = ''

    def _draw(self, done: int, total: int, extra: str = '') -> None:
        filled = int(self.width * done / max(total, 1))
        bar = '#' * filled + '.' * (self.width - filled)
        self.line = (f'{self.title:<26} [{bar}] {done:>4}/{total:<4} '
                     f'{time.time() - self.start:5.0f} s{extra}')
        if self.tty:
            self.out.write('\r' + self.line)
            self.out.flush()

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        now = time.time()
        done = runner.iter + 1
        if now - self._last > 0.2 or done == runner.max_iters:
            self._last = now
            loss = outputs.get('loss',
                               float('nan')) if outputs else float('nan')
            loss = float(loss.detach()) if hasattr(loss, 'detach') else loss
            self._draw(done, runner.max_iters, f'  loss {loss:.3f}')

    def finish(self, text: str) -> None:
        if not self.line:  # nothing trained (a cached teacher)
            self.line = f'{self.title:<26} {"":<37}'
        line = f'{self.line}  {text}'
        if self.tty:
            self.out.write('\r' + line + '\n')
        else:
            self.out.write(line + '\n')
        self.out.flush()


def quiet_third_party_warnings() -> None:
    """The deprecation notices of the stack that mmkd cannot act on (the
    same list as pytest.ini); anything else still prints."""
    warnings.filterwarnings('ignore', 'pkg_resources is deprecated',
                            UserWarning)
    for module in ('mmengine', 'mmcv', 'mmseg', 'mmdet', 'mmpretrain', 'torch',
                   'torchvision'):
        warnings.filterwarnings(
            'ignore', category=DeprecationWarning, module=module)
    # mmseg's heads still build their losses through its own deprecated API
    warnings.filterwarnings('ignore', '``build_loss`` would be deprecated',
                            UserWarning)


def make_cfg(path: str, work_dir: str, seed: int, **options) -> Config:
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    # Several runners in one process: give each its own logger and
    # visualizer instead of mmengine reusing (and warning about) the first.
    name = f'{osp.basename(work_dir)}_{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.experiment_name = name
    if cfg.get('visualizer'):
        cfg.visualizer.name = name
    cfg.randomness = dict(seed=seed, deterministic=True)
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1  # test() below
    cfg.merge_from_dict(options)
    return cfg


def run_phase(cfg: Config, title: str, out, train: bool = True):
    """Train (optionally) and evaluate one config; the runner's own output
    goes to its log file in the work dir only."""
    bar = ProgressBar(title, out)
    with open(os.devnull, 'w') as devnull, \
            contextlib.redirect_stdout(devnull):
        # MMLogger's console handler binds to sys.stdout when the runner
        # creates it: here, the null device. Its file handler keeps all.
        runner = Runner.from_cfg(cfg)
        runner.register_hook(bar)
        start = time.time()
        if train:
            runner.train()
        seconds = time.time() - start
        metrics = runner.test()
        preds, labels = predict(runner)
    acc = SegBoundaryMetricAccumulator(len(CLASSES), dilation=BOUNDARY_PX)
    for pred, label in zip(preds, labels):
        acc.update(torch.from_numpy(pred), torch.from_numpy(label))
    result = dict(
        mIoU=float(metrics['mIoU']),
        mBIoU=acc.results()['mBIoU'],
        seconds=seconds,
        params=count_params(runner.model),
        preds=preds,
        log=runner.logger.log_file)
    bar.finish(f'mIoU {result["mIoU"]:5.1f}  boundary IoU '
               f'{result["mBIoU"]:5.1f}')
    return runner, result


def count_params(model) -> int:
    model = getattr(model, 'student', model)
    return sum(p.numel() for p in model.parameters())


def predict(runner):
    """Predictions and labels (numpy) of the model on the test set."""
    model = runner.model
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for sample in model.test_step(batch):
                preds.append(sample.pred_sem_seg.data[0].numpy())
                labels.append(sample.gt_sem_seg.data[0].numpy())
    return preds, labels


# --- the picture ------------------------------------------------------
def _colour(label: np.ndarray) -> np.ndarray:
    palette = np.array(PALETTE + [[255, 255, 255]] * 252, np.uint8)
    return palette[label]


# Error-map colours, apart from the class colours
FIXED, BROKEN, BOTH = (255, 165, 0), (200, 0, 200), (170, 170, 170)


def _diff(student, distilled, label) -> np.ndarray:
    """Orange: wrong for the student, right with distillation; magenta:
    the reverse; grey: wrong for both; white: right for both."""
    s_wrong, d_wrong = student != label, distilled != label
    img = np.full(label.shape + (3, ), 255, np.uint8)
    img[s_wrong & d_wrong] = BOTH
    img[s_wrong & ~d_wrong] = FIXED
    img[~s_wrong & d_wrong] = BROKEN
    return img


def save_picture(dataset, results, names, method, path, count=5, zoom=3):
    """Columns: image, ground truth, one per model, and where distillation
    changed the student's errors; ``count`` validation images (the first
    ones: not chosen); a legend of the classes and of the error colours."""
    import cv2
    teacher, student, distilled = results
    titles = ['image', 'ground truth'
              ] + names + [f'errors: {method} vs student']
    tile = 64 * zoom
    gap = 6
    rows = []
    for i in range(min(count, len(dataset))):
        sample = dataset[i]
        img = sample['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # RGB
        label = sample['data_samples'].gt_sem_seg.data[0].numpy()
        tiles = [img, _colour(label)] + [
            _colour(r['preds'][i]) for r in results
        ] + [_diff(student['preds'][i], distilled['preds'][i], label)]
        tiles = [
            cv2.resize(
                np.ascontiguousarray(t), (tile, tile),
                interpolation=cv2.INTER_NEAREST) for t in tiles
        ]
        cv2.rectangle(tiles[-1], (0, 0), (tile - 1, tile - 1), BOTH, 1)
        row = np.full((tile, len(tiles) * (tile + gap) - gap, 3), 255,
                      np.uint8)
        for j, t in enumerate(tiles):
            row[:, j * (tile + gap):j * (tile + gap) + tile] = t
        rows.append(row)
    width = rows[0].shape[1]
    font = cv2.FONT_HERSHEY_SIMPLEX

    def text_band(height, items):
        band = np.full((height, width, 3), 255, np.uint8)
        for x, y, text, scale in items:
            cv2.putText(band, text, (x, y), font, scale, (0, 0, 0), 1,
                        cv2.LINE_AA)
        return band

    header = []
    for j, title in enumerate(titles):
        (w, _), _ = cv2.getTextSize(title, font, 0.45, 1)
        header.append((j * (tile + gap) + max(
            (tile - w) // 2, 0), 20, title, 0.45))
    legend = np.full((34, width, 3), 255, np.uint8)
    x = 8
    groups = [('classes:', list(zip(CLASSES, PALETTE))),
              ('last column:', [('fixed by ' + method, FIXED),
                                ('new error', BROKEN),
                                ('wrong in both', BOTH)])]
    for label, swatches in groups:
        cv2.putText(legend, label, (x, 23), font, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
        x += cv2.getTextSize(label, font, 0.45, 1)[0][0] + 10
        for name, colour in swatches:
            colour = tuple(int(v) for v in colour)
            cv2.rectangle(legend, (x, 10), (x + 16, 26), colour, -1)
            cv2.rectangle(legend, (x, 10), (x + 16, 26), (0, 0, 0), 1)
            cv2.putText(legend, name, (x + 22, 23), font, 0.45, (0, 0, 0), 1,
                        cv2.LINE_AA)
            x += cv2.getTextSize(name, font, 0.45, 1)[0][0] + 36
        x += 30
    spacer = np.full((gap, width, 3), 255, np.uint8)
    body = []
    for row in rows:
        body += [row, spacer]
    grid = np.concatenate([text_band(30, header)] + body + [legend], 0)
    cv2.imwrite(path, grid[..., ::-1])


# --- the table --------------------------------------------------------
def table(method: str, teacher: dict, runs: dict, seeds) -> str:
    m = method.upper()
    head = ['model', 'params'] + [f'mIoU seed {s}' for s in seeds] + [
        'mIoU mean', 'boundary IoU mean', 'train s / run'
    ]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]

    def row(name, results):
        miou = [r['mIoU'] for r in results]
        cells = [name, f'{results[0]["params"] / 1e3:.0f} k']
        cells += [f'{v:.1f}' for v in miou] + [''] * (len(seeds) - len(miou))
        cells += [
            f'{np.mean(miou):.1f}',
            f'{np.mean([r["mBIoU"] for r in results]):.1f}',
            f'{np.mean([r["seconds"] for r in results]):.0f}'
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')

    row('teacher UNet, 16 base channels', [teacher])
    row('student UNet, 8 base channels', runs['student'])
    row(f'student + {m}', runs['distilled'])
    return '\n'.join(lines)


def summary(method: str, teacher: dict, runs: dict) -> str:
    t = teacher
    keys = ('mIoU', 'mBIoU')
    s = {k: np.mean([r[k] for r in runs['student']]) for k in keys}
    d = {k: np.mean([r[k] for r in runs['distilled']]) for k in keys}
    wins = sum(dr['mIoU'] > sr['mIoU']
               for sr, dr in zip(runs['student'], runs['distilled']))
    parts = []
    for key, name in (('mIoU', 'mIoU'), ('mBIoU', 'boundary IoU')):
        gap = t[key] - s[key]
        closed = 100 * (d[key] - s[key]) / gap if gap > 0 else float('nan')
        parts.append(f'{name} {s[key]:.1f} -> {d[key]:.1f} '
                     f'({d[key] - s[key]:+.1f}, {closed:.0f}% of the gap '
                     f'to the teacher\'s {t[key]:.1f})')
    return (f'{method.upper()} vs the student alone, mean of '
            f'{len(runs["student"])} seed(s): ' + '; '.join(parts) +
            f'. Better on {wins} of {len(runs["student"])} seed(s).')


# --- main -------------------------------------------------------------
def schedule_options(iters: int) -> dict:
    """The configs' schedule (warm-up, then cosine) shortened to ``iters``
    for quick trials and smoke tests."""
    warm_iters = max(iters // 5, 1)
    return {
        'train_cfg.max_iters': iters,
        'param_scheduler': [
            dict(
                type='LinearLR',
                start_factor=0.04,
                begin=0,
                end=warm_iters,
                by_epoch=False),
            dict(
                type='CosineAnnealingLR',
                eta_min=1e-5,
                T_max=max(iters - warm_iters, 1),
                begin=warm_iters,
                end=iters,
                by_epoch=False)
        ],
        'default_hooks.checkpoint.interval': iters
    }


def kernel_settings() -> str:
    """What decides the numbers besides the configs and seeds: the thread
    count and the kernels' instruction set."""
    # torch reports the instruction set its kernels really use (the pin has
    # no effect when torch was imported before this module); oneDNN and MKL
    # read their variables when they load, after this module.
    pins = ', '.join(f'{name}={os.environ.get(name, "")}'
                     for name in KERNEL_PINS if name != 'ATEN_CPU_CAPABILITY')
    return (f'{torch.get_num_threads()} threads, torch kernels '
            f'{torch.backends.cpu.get_cpu_capability()}, {pins}')


def teacher_key(iters=None) -> str:
    """The cached teacher's name: a hash of its config, of the data's
    version, of the kernel settings (a teacher trained with others gives
    other numbers) and of a shortened schedule, if any."""
    text = (
        Config.fromfile(TEACHER).pretty_text + VERSION + str(iters) +
        kernel_settings())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', default='bpkd', choices=sorted(DISTILL))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument(
        '--cache',
        default=osp.join(
            os.environ.get('MMKD_CACHE', osp.expanduser('~/.cache/mmkd')),
            'demo'),
        help='where the trained teacher is kept for later runs')
    parser.add_argument(
        '--iters',
        type=int,
        help='override the schedule (all phases), e.g. 2 for a smoke run')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='CPU threads for every phase; the numbers depend on it, so it '
        'is fixed rather than taken from the machine (default 2)')
    args = parser.parse_args(argv)
    quiet_third_party_warnings()
    torch.set_num_threads(args.threads)
    out = sys.stdout
    begin = time.time()
    os.makedirs(args.work_dir, exist_ok=True)
    os.makedirs(args.cache, exist_ok=True)
    extra = schedule_options(args.iters) if args.iters else {}
    method = args.method.upper()
    print(
        f'mmkd demo: {method} on generated shapes (64x64, 4 classes), '
        f'CPU; logs in {args.work_dir}/',
        file=out)
    print(f'Deterministic runs, {kernel_settings()}', file=out)

    # The teacher is cached by its config and the data version.
    cached = osp.join(args.cache, f'teacher-{teacher_key(args.iters)}.pth')
    t_cfg = make_cfg(TEACHER, osp.join(args.work_dir, 'teacher'), 0, **extra)
    if osp.exists(cached):
        t_cfg.load_from = cached
        runner, teacher = run_phase(
            t_cfg, 'teacher (cached)', out, train=False)
    else:
        runner, teacher = run_phase(t_cfg, 'teacher', out)
        ckpt = osp.join(runner.work_dir, f'iter_{runner.iter}.pth')
        shutil.copy(ckpt, cached + '.tmp')
        os.replace(cached + '.tmp', cached)
    # The distillation configs read the teacher from here (also when run
    # with tools/train.py after the demo).
    d_teacher = osp.join(args.work_dir, 'teacher.pth')
    shutil.copy(cached, d_teacher)

    runs = dict(student=[], distilled=[])
    for seed in args.seeds:
        s_cfg = make_cfg(STUDENT, osp.join(args.work_dir, f'student-s{seed}'),
                         seed, **extra)
        runs['student'].append(
            run_phase(s_cfg, f'student, seed {seed}', out)[1])
        d_cfg = make_cfg(DISTILL[args.method],
                         osp.join(args.work_dir, f'{args.method}-s{seed}'),
                         seed, **{
                             'model.teacher.checkpoint': d_teacher,
                             **extra
                         })
        runs['distilled'].append(
            run_phase(d_cfg, f'student + {method}, seed {seed}', out)[1])

    print(
        f'\nmIoU and boundary IoU (class pixels within {BOUNDARY_PX} px of '
        'another class) on the 100 validation images, in %; the teacher '
        'trained 600 iterations, each student 300 (same seed and schedule '
        f'with and without {method}):\n',
        file=out)
    print(table(args.method, teacher, runs, args.seeds), file=out)
    print('\n' + summary(args.method, teacher, runs), file=out)
    picture = osp.join(args.work_dir, 'predictions.png')
    save_picture(runner.test_dataloader.dataset,
                 [teacher, runs['student'][0], runs['distilled'][0]],
                 ['teacher', 'student', f'student + {method}'], method,
                 picture)
    print(
        f'\nPicture (seed {args.seeds[0]}): {picture}. '
        f'Total {time.time() - begin:.0f} s.',
        file=out)


if __name__ == '__main__':
    main()
