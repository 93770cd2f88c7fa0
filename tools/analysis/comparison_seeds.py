"""One table from several seeds of a comparison run: each arm's metric per
run, the mean, the spread (max - min) and the difference to the first
arm's mean (the plain student in the shipped configs).

    python tools/analysis/comparison_seeds.py WORK_DIR [WORK_DIR ...] \\
        [--metric mIoU] [--step N] [--curve]

Each WORK_DIR is a ``mmkd.DistillComparison`` run's work dir; its
validations are read from every ``<timestamp>/vis_data/scalars.json`` under
it (a resumed run writes one per start; a later start's value for a step
wins). ``--metric`` is the evaluator's name for it (``mIoU``,
``coco/bbox_mAP``, ...); ``--step`` defaults to the last validation all
runs have. ``--curve`` adds the mean over the runs at every validation
step, to judge whether the arms still improve.
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List


def validations(work_dir: str) -> Dict[int, dict]:
    """step -> the arms' metrics logged by that validation."""
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
                if 'iter' not in record:  # a training record has 'iter'
                    steps.setdefault(record['step'], {}).update(record)
    return steps


def arm_values(record: dict, metric: str) -> Dict[str, float]:
    """arm -> value of ``metric`` in one validation record."""
    suffix = '/' + metric
    return {
        key[:-len(suffix)]: value
        for key, value in record.items()
        if key.endswith(suffix) and '/' not in key[:-len(suffix)]
    }


def table(runs: Dict[str, Dict[int, dict]], metric: str,
          step: int) -> List[str]:
    per_run = {}
    for name, steps in runs.items():
        if step not in steps:
            raise KeyError(f'{name} has no validation at step {step}; it has '
                           f'{sorted(steps)}')
        per_run[name] = arm_values(steps[step], metric)
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


def curve(runs: Dict[str, Dict[int, dict]], metric: str) -> List[str]:
    steps = sorted(set.intersection(*(set(s) for s in runs.values())))
    arms = list(arm_values(next(iter(runs.values()))[steps[-1]], metric))
    lines = [
        f'| arm (mean {metric} of {len(runs)} runs) | ' +
        ' | '.join(map(str, steps)) + ' |', '|---' * (len(steps) + 1) + '|'
    ]
    for arm in arms:
        means = [
            statistics.mean(
                arm_values(s[step], metric)[arm] for s in runs.values())
            for step in steps
        ]
        lines.append(f'| {arm} | ' + ' | '.join(f'{m:.2f}'
                                                for m in means) + ' |')
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--metric', default='mIoU')
    parser.add_argument('--step', type=int)
    parser.add_argument('--curve', action='store_true')
    args = parser.parse_args(argv)
    runs = {w: validations(w) for w in args.work_dirs}
    step = args.step
    if step is None:
        common = set.intersection(*(set(s) for s in runs.values()))
        if not common:
            raise ValueError('the runs share no validation step')
        step = max(common)
    print('\n'.join(table(runs, args.metric, step)))
    if args.curve:
        print()
        print('\n'.join(curve(runs, args.metric)))


if __name__ == '__main__':
    main()
