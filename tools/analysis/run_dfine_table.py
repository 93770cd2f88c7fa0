"""Train, evaluate and tabulate the D-FINE-on-BCCD runs of issue 12.

Every run is resumable: ``tools/train.py --resume`` continues from the last
epoch checkpoint in its work dir (one per epoch here, about 5 minutes of
training on 2 cores), a finished run (its last epoch's checkpoint exists) is
not trained again, and a finished run's per-layer evaluation
(``tools/analysis/eval_dfine_layers.py`` -> ``layers.json`` in its work dir)
is not repeated. So a session can run one or two trainings at a time
(``--max-train``) and lose at most the epoch in progress when stopped.

Runs (work dirs ``ROOT/<config name>_seed<k>``, ROOT ``~/.cache/mmkd/dfine``):

* ``short``, 4 epochs: plain DINO and DINO + FDR + GO-LSD with mmdet
  DINO's focal classification (the config shipped before the study) with
  seeds 0, 1, 2; VFL + LQE (shipped now), and the focal arm with FGL weight
  0.05 and with GO-LSD off, with seeds 0, 1; focal + LQE and VFL without
  LQE with seed 0;
* ``long``, 12 epochs: plain DINO and ``--long-fdr-config`` (the FDR arm;
  the 12-epoch config of the best short variant, VFL + LQE) with seeds 0, 1.

Then the table: per arm, the mean and sample standard deviation over its
seeds of the last layer's AP / AP50 / AP75 and the mean AP75 of every row
(``enc``, ``pre``, ``d0`` ..), written to ``ROOT/table.md``.

Example::

    python tools/analysis/run_dfine_table.py --dry-run        # the commands
    python tools/analysis/run_dfine_table.py --max-train 1    # one training
    python tools/analysis/run_dfine_table.py --table-only     # the table
"""
import argparse
import functools
import json
import os
import os.path as osp
import shlex
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = 'configs/dfine/'
SHORT = [
    ('DINO', CFG + 'dino-4scale_r18_1xb4-4e_bccd.py', (0, 1, 2)),
    ('FDR + GO-LSD, focal (mmdet DINO), no LQE',
     CFG + 'dfine_dino-4scale_r18_focal_1xb4-4e_bccd.py', (0, 1, 2)),
    ('FDR + GO-LSD, VFL + LQE (official; shipped)',
     CFG + 'dfine_dino-4scale_r18_1xb4-4e_bccd.py', (0, 1)),
    ('focal, FGL 0.05',
     CFG + 'dfine_dino-4scale_r18_focal-fgl0.05_1xb4-4e_bccd.py', (0, 1)),
    ('focal, FDR alone (GO-LSD off)',
     CFG + 'dfine_dino-4scale_r18_focal-no-golsd_1xb4-4e_bccd.py', (0, 1)),
    ('FDR + GO-LSD, focal + LQE',
     CFG + 'dfine_dino-4scale_r18_focal-lqe_1xb4-4e_bccd.py', (0, )),
    ('FDR + GO-LSD, VFL without LQE',
     CFG + 'dfine_dino-4scale_r18_no-lqe_1xb4-4e_bccd.py', (0, )),
]
LONG_DINO = ('DINO, 12 e', CFG + 'dino-4scale_r18_1xb4-12e_bccd.py', (0, 1))
LONG_FDR = CFG + 'dfine_dino-4scale_r18_1xb4-12e_bccd.py'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Resumable D-FINE-on-BCCD runs, evaluations and table')
    parser.add_argument(
        '--root',
        default=osp.expanduser('~/.cache/mmkd/dfine'),
        help='parent of the work dirs and of table.md')
    parser.add_argument(
        '--stage',
        choices=['short', 'long', 'all'],
        default='all',
        help='short: the 4-epoch runs; long: the 12-epoch ones')
    parser.add_argument(
        '--long-fdr-config',
        default=LONG_FDR,
        help='the 12-epoch FDR config (that of the best short variant)')
    parser.add_argument(
        '--max-train',
        type=int,
        default=None,
        help='start at most this many unfinished trainings, then stop')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the commands of the unfinished steps, run nothing')
    parser.add_argument(
        '--table-only',
        action='store_true',
        help='only write the table from the finished evaluations')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='appended to every train and eval command (e.g. a smoke run)')
    return parser.parse_args(argv)


def arms(stage: str, long_fdr_config: str = LONG_FDR) -> List[tuple]:
    """``(arm, config, seeds)`` of ``stage`` ('short', 'long' or 'all')."""
    long = [
        LONG_DINO, ('FDR + GO-LSD, VFL + LQE, 12 e', long_fdr_config, (0, 1))
    ]
    return dict(short=SHORT, long=long, all=SHORT + long)[stage]


def order(args) -> List[tuple]:
    """``(arm, config, seed)`` in running order: per stage, seed 0 of every
    arm first, so early sessions compare all arms on one seed."""
    runs = []
    stages = ['short', 'long'] if args.stage == 'all' else [args.stage]
    for stage in stages:
        chosen = arms(stage, args.long_fdr_config)
        for seed in range(max(max(s) for _, _, s in chosen) + 1):
            runs += [(a, c, seed) for a, c, s in chosen if seed in s]
    return runs


@functools.lru_cache()
def max_epochs(config: str, cfg_options: Tuple[str, ...]) -> int:
    """``train_cfg.max_epochs`` of the config after ``cfg_options``."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(osp.join(ROOT, config), import_custom_modules=False)
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *cfg_options]).o)
    if cfg.train_cfg.get(
            'type',
            'EpochBasedTrainLoop') not in ('EpochBasedTrainLoop',
                                           'mmengine.EpochBasedTrainLoop'):
        raise ValueError('run_dfine_table needs an epoch-based train_cfg, '
                         f'but {config} has {cfg.train_cfg.type}')
    return int(cfg.train_cfg.max_epochs)


def steps(config: str, seed: int, args) -> Dict[str, object]:
    """Work dir, final checkpoint and the train and eval commands of one
    run; every epoch is checkpointed so ``--resume`` loses at most one."""
    name = osp.splitext(osp.basename(config))[0]
    work_dir = osp.join(args.root, f'{name}_seed{seed}')
    ckpt = osp.join(
        work_dir, f'epoch_{max_epochs(config, tuple(args.cfg_options))}'
        '.pth')
    options = [
        f'randomness.seed={seed}', 'default_hooks.checkpoint.interval=1',
        *args.cfg_options
    ]
    py = [sys.executable]
    train = py + [
        'tools/train.py', config, '--work-dir', work_dir, '--resume',
        '--cfg-options', *options
    ]
    layers = osp.join(work_dir, 'layers.json')
    evaluate = py + [
        'tools/analysis/eval_dfine_layers.py', config, ckpt, '--out', layers
    ]
    if args.cfg_options:
        evaluate += ['--cfg-options', *args.cfg_options]
    return dict(
        work_dir=work_dir,
        ckpt=ckpt,
        layers=layers,
        train=train,
        evaluate=evaluate)


def _show(cmd: List[str]) -> str:
    """The command as typed in the repository root (``python``)."""
    return shlex.join(['python', *cmd[1:]])


def _run(cmd: List[str]) -> None:
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.setdefault('OMP_NUM_THREADS', '1')
    print('+ ' + _show(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def _stats(values: List[float]) -> str:
    """``mean ± sd`` in percent (sd over seeds, n - 1); one value alone."""
    mean = 100 * statistics.mean(values)
    if len(values) < 2:
        return f'{mean:.1f}'
    return f'{mean:.1f} ± {100 * statistics.stdev(values):.1f}'


def table(args) -> List[str]:
    """Markdown table of the finished evaluations."""
    lines = [
        '| arm | config | seeds | AP | AP50 | AP75 | R75 | AP75 per output '
        '(mean) |', '|---|---|---|---|---|---|---|---|'
    ]
    for arm, config, seeds in arms(args.stage, args.long_fdr_config):
        found = {}
        for seed in seeds:
            path = steps(config, seed, args)['layers']
            if osp.isfile(path):
                with open(path) as f:
                    found[seed] = json.load(f)['rows']
        if not found:
            lines.append(f'| {arm} | `{osp.basename(config)}` | none of '
                         f'{list(seeds)} yet | | | | | |')
            continue
        last = [rows[-1] for rows in found.values()]
        names = [r['output'] for r in next(iter(found.values()))]
        per_output = ', '.join(
            f'{n} {100 * statistics.mean(r[i]["AP75"] for r in found.values()):.1f}'  # noqa: E501
            for i, n in enumerate(names))
        metrics = ' | '.join(
            _stats([r[k] for r in last]) for k in ('AP', 'AP50', 'AP75'))
        # ranking-free recall: only where every seed's evaluation has it
        recall = _stats([r['R75']
                         for r in last]) if all('R75' in r
                                                for r in last) else 'n/a'
        lines.append(f'| {arm} | `{osp.basename(config)}` | '
                     f'{sorted(found)} of {list(seeds)} | {metrics} | '
                     f'{recall} | {per_output} |')
    return lines


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    args = parse_args(argv)
    started = 0
    if args.dry_run:
        print(f'# in {ROOT}: export PYTHONPATH=$PWD OMP_NUM_THREADS=1')
    for arm, config, seed in [] if args.table_only else order(args):
        run = steps(config, seed, args)
        trained = osp.isfile(run['ckpt'])
        evaluated = trained and osp.isfile(run['layers']) and (osp.getmtime(
            run['layers']) >= osp.getmtime(run['ckpt']))
        if args.dry_run:
            print(f'# {arm}, seed {seed}: ' +
                  ('done' if evaluated else 'evaluate' if trained else
                   'train (resumes if stopped), then evaluate'))
            if not evaluated:
                if not trained:
                    print(_show(run['train']))
                print(_show(run['evaluate']))
            continue
        if not trained:
            if args.max_train is not None and started >= args.max_train:
                continue
            started += 1
            _run(run['train'])
            if not osp.isfile(run['ckpt']):
                raise FileNotFoundError(
                    f"training ended without {run['ckpt']}: check the "
                    f"log in {run['work_dir']}")
        if not evaluated:
            _run(run['evaluate'])
    lines = table(args)
    print('\n'.join(lines))
    if not args.dry_run:
        os.makedirs(args.root, exist_ok=True)
        with open(osp.join(args.root, 'table.md'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return lines


if __name__ == '__main__':
    main()
