"""One table from several seeds of a comparison run: each arm's metric per
run, the mean, the spread (max - min) and the difference to the first
arm's mean (the plain student in the shipped configs).

    python tools/analysis/comparison_seeds.py WORK_DIR [WORK_DIR ...] \\
        [--metric mIoU] [--step N] [--curve] [--train-key KEY ...]

Each WORK_DIR is a ``mmkd.DistillComparison`` run's work dir; its
validations are read from every ``<timestamp>/vis_data/scalars.json`` under
it (a resumed run writes one per start; a later start's value for a step
wins). ``--metric`` is the evaluator's name for it (``mIoU``,
``coco/bbox_mAP``, ...); ``--step`` defaults to the last validation all
runs have. ``--curve`` adds the mean over the runs at every validation
step, to judge whether the arms still improve. ``--train-key`` prints a
logged training value (e.g. ``acam/distill.loss_acam_l0_mask_s_mean``, a
statistic a loss logs) per run at the first logged step and at every
validation step: what mmengine logged there, the mean over its logging
window.
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


def train_table(runs: Dict[str, Dict[int, dict]],
                trained: Dict[str, Dict[int, dict]], key: str) -> List[str]:
    validated = set.intersection(*(set(s) for s in runs.values()))
    first = max(min(t) for t in trained.values())
    names = [osp.basename(osp.normpath(n)) for n in runs]
    lines = [
        f'| step ({key}) | ' + ' | '.join(names) + ' |',
        '|---' * (len(names) + 1) + '|'
    ]
    for step in sorted(validated | {first}):
        values = []
        for name, steps in trained.items():
            if key not in steps.get(step, {}):
                known = sorted(k for k in steps.get(step, {}) if '/' in k)
                raise KeyError(f'{name} logged no training {key!r} at step '
                               f'{step}; it logged {known}')
            values.append(steps[step][key])
        lines.append(f'| {step} | ' + ' | '.join(f'{v:.4g}'
                                                 for v in values) + ' |')
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--metric', default='mIoU')
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
    print('\n'.join(table(runs, args.metric, step)))
    if args.curve:
        print()
        print('\n'.join(curve(runs, args.metric)))
    if args.train_key:
        trained = {w: logged_steps(w, training=True) for w in args.work_dirs}
        for key in args.train_key:
            print()
            print('\n'.join(train_table(runs, trained, key)))


if __name__ == '__main__':
    main()
