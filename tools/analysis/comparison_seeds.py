"""One table from several seeds of a comparison run: each arm's metric per
run, the mean, the spread (max - min) and the difference to the first
arm's mean (the plain student in the shipped configs).

    python tools/analysis/comparison_seeds.py WORK_DIR [WORK_DIR ...] \\
        [--metric mIoU] [--scale 1] [--step N] [--curve] \\
        [--train-key KEY ...]

Each WORK_DIR is a ``mmkd.DistillComparison`` run's work dir; its
validations are read from every ``<timestamp>/vis_data/scalars.json`` under
it (a resumed run writes one per start; a later start's value for a step
wins). ``--metric`` is the evaluator's name for it (``mIoU``,
``coco/bbox_mAP``, ...); ``--scale 100`` prints MMDetection's COCO
fractions as the percentages papers quote; ``--step`` defaults to the
last validation all runs have. ``--curve`` adds the mean over the runs at
every validation step, to judge whether the arms still improve.
``--train-key`` prints a logged training value (e.g.
``acam/distill.loss_acam_l0_mask_s_mean``, a statistic a loss logs) per run
at the first logged step and at every validation step: what mmengine
logged there, the mean over its logging window. In an epoch-based run a
validation's step is its epoch and a training step is an iteration; the
value shown for epoch E is the last one logged in epoch E, and the row
names both (``epoch 3 (iter 154)``).
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List


def logged_steps(work_dir: str, training: bool = False) -> Dict[int, dict]:
    """step -> what the run logged at that step: the arms' metrics of a
    validation, or with ``training`` the values of the training step."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir} has no <timestamp>/vis_data/scalars.json: is it the '
            'work dir of a comparison run?')
    steps: Dict[int, dict] = {}
    for path in files:  # timestamps sort in start order
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                # a training record has 'iter'
                if ('iter' in record) == training:
                    steps.setdefault(record['step'], {}).update(record)
    return steps


def arm_values(record: dict,
               metric: str,
               scale: float = 1.0) -> Dict[str, float]:
    """arm -> value of ``metric`` in one validation record, times
    ``scale``."""
    suffix = '/' + metric
    return {
        key[:-len(suffix)]: value * scale
        for key, value in record.items()
        if key.endswith(suffix) and '/' not in key[:-len(suffix)]
    }


def table(runs: Dict[str, Dict[int, dict]],
          metric: str,
          step: int,
          scale: float = 1.0) -> List[str]:
    per_run = {}
    for name, steps in runs.items():
        if step not in steps:
            raise KeyError(f'{name} has no validation at step {step}; it has '
                           f'{sorted(steps)}')
        per_run[name] = arm_values(steps[step], metric, scale)
        if not per_run[name]:
            known = sorted(
                {k.split('/', 1)[1]
                 for k in steps[step] if '/' in k})
            raise KeyError(f'{name} logged no {metric!r} at step {step}; '
                           f'its metrics are {known}')
    arms = list(next(iter(per_run.values())))
    means = {
        arm: statistics.mean(v[arm] for v in per_run.values())
        for arm in arms
    }
    names = [osp.basename(osp.normpath(n)) for n in runs]
    lines = [
        f'| arm ({metric} at step {step}) | ' + ' | '.join(names) +
        ' | mean | spread | vs ' + arms[0] + ' |',
        '|---' * (len(names) + 4) + '|'
    ]
    for arm in arms:
        values = [per_run[n][arm] for n in runs]
        lines.append(f'| {arm} | ' + ' | '.join(f'{v:.2f}' for v in values) +
                     f' | {means[arm]:.2f} | {max(values) - min(values):.2f}'
                     f' | {means[arm] - means[arms[0]]:+.2f} |')
    return lines


def curve(runs: Dict[str, Dict[int, dict]],
          metric: str,
          scale: float = 1.0) -> List[str]:
    steps = sorted(set.intersection(*(set(s) for s in runs.values())))
    arms = list(arm_values(next(iter(runs.values()))[steps[-1]], metric))
    lines = [
        f'| arm (mean {metric} of {len(runs)} runs) | ' +
        ' | '.join(map(str, steps)) + ' |', '|---' * (len(steps) + 1) + '|'
    ]
    for arm in arms:
        means = [
            statistics.mean(
                arm_values(s[step], metric, scale)[arm] for s in runs.values())
            for step in steps
        ]
        lines.append(f'| {arm} | ' + ' | '.join(f'{m:.2f}'
                                                for m in means) + ' |')
    return lines


def train_record(steps: Dict[int, dict], step: int) -> tuple:
    """(label, record) of the training log at a validation ``step``: the
    record at that iteration, or in an epoch-based run (whose records carry
    'epoch') the last record of that epoch."""
    if not any('epoch' in r for r in steps.values()):
        return str(step), steps.get(step, {})
    in_epoch = [i for i, r in steps.items() if r.get('epoch') == step]
    if not in_epoch:
        return f'epoch {step}', {}
    return f'epoch {step} (iter {max(in_epoch)})', steps[max(in_epoch)]


def train_table(runs: Dict[str, Dict[int, dict]],
                trained: Dict[str, Dict[int, dict]], key: str) -> List[str]:
    validated = set.intersection(*(set(s) for s in runs.values()))
    names = [osp.basename(osp.normpath(n)) for n in runs]
    lines = [
        f'| step ({key}) | ' + ' | '.join(names) + ' |',
        '|---' * (len(names) + 1) + '|'
    ]
    first = max(min(t) for t in trained.values())
    rows = {str(first): [t.get(first, {}) for t in trained.values()]}
    for step in sorted(validated):
        labelled = [train_record(t, step) for t in trained.values()]
        rows.setdefault(labelled[0][0], [record for _, record in labelled])
    for label, records in rows.items():
        for name, record in zip(trained, records):
            if key not in record:
                known = sorted(k for k in record if '/' in k)
                raise KeyError(f'{name} logged no training {key!r} at step '
                               f'{label}; it logged {known}')
        lines.append(f'| {label} | ' + ' | '.join(f'{r[key]:.4g}'
                                                  for r in records) + ' |')
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--metric', default='mIoU')
    parser.add_argument(
        '--scale',
        type=float,
        default=1.0,
        help='multiply the metric (100: COCO fractions as percentages)')
    parser.add_argument('--step', type=int)
    parser.add_argument('--curve', action='store_true')
    parser.add_argument('--train-key', action='append', default=[])
    args = parser.parse_args(argv)
    runs = {w: logged_steps(w) for w in args.work_dirs}
    step = args.step
    if step is None:
        common = set.intersection(*(set(s) for s in runs.values()))
        if not common:
            raise ValueError('the runs share no validation step')
        step = max(common)
    print('\n'.join(table(runs, args.metric, step, args.scale)))
    if args.curve:
        print()
        print('\n'.join(curve(runs, args.metric, args.scale)))
    if args.train_key:
        trained = {w: logged_steps(w, training=True) for w in args.work_dirs}
        for key in args.train_key:
            print()
            print('\n'.join(train_table(runs, trained, key)))


if __name__ == '__main__':
    main()
