"""Plot what mmkd.DistillHealthHook logged: each distillation term's gradient
ratio to the task loss's (and its cosine) over training, one or more runs.

    python tools/analysis/plot_health.py WORK_DIR [LABEL=WORK_DIR ...]
        [--out health.png] [--terms SUBSTRING ...]

Reads each run's ``vis_data/scalars.json`` (mmengine's LocalVisBackend;
the newest run in the work dir), keeps the ``health/<term>/ratio`` and
``health/<term>/cos`` series, draws the ratios on a log scale with the
hook's warning threshold, and prints each series' first, median and last
value.
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from collections import defaultdict

RATIO_THRESHOLD = 30.0  # DistillHealthHook's default


def read_health(work_dir: str) -> dict:
    """``{(term, stat): [(iteration, value), ...]}`` of the run, across
    its resumes: each ``--resume`` writes a new timestamped folder, whose
    steps replace the earlier folders' from its first step on."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}: is it a work dir '
            'of a run with a LocalVisBackend (the OpenMMLab default '
            'runtimes have one)?')
    series = defaultdict(list)
    for path in files:
        with open(path) as f:
            rows = [json.loads(line) for line in f]
        rows = [
            row for row in rows if any(k.startswith('health/') for k in row)
        ]
        if not rows:
            continue
        start = rows[0]['step']
        for points in series.values():  # superseded by the resumed run
            points[:] = [p for p in points if p[0] < start]
        for row in rows:
            for key, value in row.items():
                if key.startswith('health/') and key.count('/') >= 2:
                    term, stat = key[len('health/'):].rsplit('/', 1)
                    series[(term, stat)].append((row['step'], value))
    if not series:
        raise ValueError(f'{files[-1]} holds no health/... scalars: add '
                         "dict(type='mmkd.DistillHealthHook') to "
                         'custom_hooks')
    return series


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='+', help='WORK_DIR or LABEL=WORK_DIR')
    parser.add_argument('--out', default='health.png')
    parser.add_argument(
        '--terms', nargs='*', help='only terms containing these strings')
    args = parser.parse_args(argv)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax_ratio, ax_cos) = plt.subplots(1, 2, figsize=(11, 3.6))
    print('| run | term | ratio first / median / last | cos median |')
    print('|---|---|---|---|')
    for run in args.runs:
        label, _, work_dir = run.rpartition('=')
        label = label or osp.basename(osp.normpath(work_dir))
        series = read_health(work_dir)
        terms = sorted({t for t, s in series if s == 'ratio'})
        if args.terms:
            terms = [t for t in terms if any(s in t for s in args.terms)]
        for term in terms:
            ratio = series[(term, 'ratio')]
            cos = series.get((term, 'cos'), [])
            name = f'{label}: {term}'
            ax_ratio.plot(*zip(*ratio), label=name)
            if cos:
                ax_cos.plot(*zip(*cos), label=name)
            values = [v for _, v in ratio]
            cos_med = statistics.median(v for _, v in cos) if cos else None
            print(f'| {label} | {term} | {values[0]:.3g} / '
                  f'{statistics.median(values):.3g} / {values[-1]:.3g} | '
                  f'{cos_med if cos_med is None else round(cos_med, 3)} |')
    ax_ratio.axhline(
        RATIO_THRESHOLD,
        color='grey',
        linestyle='--',
        label=f'warning ({RATIO_THRESHOLD:g}x)')
    ax_ratio.set_yscale('log')
    ax_ratio.set_title('term gradient / task gradient (on the taps)')
    ax_cos.axhline(0, color='grey', linewidth=0.5)
    ax_cos.set_title('cosine between the two gradients')
    for ax in (ax_ratio, ax_cos):
        ax.set_xlabel('iteration')
    ax_ratio.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
