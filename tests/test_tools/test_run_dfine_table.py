"""tools/analysis/run_dfine_table.py: the commands, what counts as done,
and the table's mean and spread (no training here)."""
import json
import os

from tests.utils import load_tool

run_table = load_tool('tools/analysis/run_dfine_table.py')

DINO = 'dino-4scale_r18_1xb4-4e_bccd'
FDR = 'dfine_dino-4scale_r18_focal_1xb4-4e_bccd'


def _finish(root, name, seed, ap75, epochs=4, evaluated=True, r75=None):
    work = root / f'{name}_seed{seed}'
    work.mkdir()
    (work / f'epoch_{epochs}.pth').write_bytes(b'')
    if evaluated:
        rows = [
            dict(output=o, AP=0.3, AP50=0.6, AP75=v)
            for o, v in (('enc', 0.01), ('d0', ap75 - 0.1), ('d2', ap75))
        ]
        if r75 is not None:  # evaluations since R50 / R75 exist
            for row in rows:
                row['R75'] = r75
        (work / 'layers.json').write_text(json.dumps(dict(rows=rows)))


def test_dry_run_commands_and_done_runs(tmp_path, capsys):
    _finish(tmp_path, DINO, 0, 0.3)
    _finish(tmp_path, FDR, 0, 0.2, evaluated=False)
    run_table.main(['--root', str(tmp_path), '--dry-run'])
    out = capsys.readouterr().out.splitlines()
    heads = [ln for ln in out if ln.startswith('# ') and ', seed ' in ln]
    # 3 + 3 + 2 + 2 + 2 + 1 + 1 short runs, then 2 + 2 long ones, seed 0
    # of every arm first
    assert len(heads) == 18
    assert heads[0] == '# DINO, seed 0: done'
    assert heads[1] == ('# FDR + GO-LSD, focal (mmdet DINO), no LQE, seed 0: '
                        'evaluate')
    assert heads[7].startswith('# DINO, seed 1: train')
    assert heads[-1].startswith(
        '# FDR + GO-LSD, VFL + LQE, 12 e, seed 1: train')
    trains = [ln for ln in out if ln.startswith('python tools/train.py')]
    assert len(trains) == 16  # the two finished trainings are not repeated
    work = tmp_path / 'dfine_dino-4scale_r18_focal-fgl0.05_1xb4-4e_bccd_seed1'
    assert (f'python tools/train.py configs/dfine/'
            f'dfine_dino-4scale_r18_focal-fgl0.05_1xb4-4e_bccd.py --work-dir '
            f'{work} --resume --cfg-options randomness.seed=1 '
            'default_hooks.checkpoint.interval=1') in trains
    evals = [ln for ln in out if 'eval_dfine_layers.py' in ln]
    assert len(evals) == 17
    assert any(f'{work}/epoch_4.pth --out {work}/layers.json' in ln
               for ln in evals)
    assert any('12e_bccd_seed0/epoch_12.pth' in ln for ln in evals)
    assert not os.path.exists(tmp_path / 'table.md')  # dry run


def test_table_mean_and_spread(tmp_path):
    for seed, ap75 in enumerate((0.30, 0.36, 0.33)):
        _finish(tmp_path, DINO, seed, ap75)
    for seed, r75 in enumerate((0.6, 0.7)):
        _finish(tmp_path, FDR, seed, 0.2, r75=r75)
    lines = run_table.main(['--root', str(tmp_path), '--table-only'])
    assert (tmp_path / 'table.md').read_text().splitlines() == lines
    row = next(ln for ln in lines if ln.startswith('| DINO |'))
    # AP75 of the last layer: mean 33.0, sample sd 3.0; d0 is 0.1 lower
    assert row == (f'| DINO | `{DINO}.py` | [0, 1, 2] of [0, 1, 2] | '
                   '30.0 ± 0.0 | 60.0 ± 0.0 | 33.0 ± 3.0 | n/a | '
                   'enc 1.0, d0 23.0, d2 33.0 |')
    focal = next(
        ln for ln in lines
        if ln.startswith('| FDR + GO-LSD, focal (mmdet DINO)'))
    assert '| [0, 1] of [0, 1, 2] |' in focal and '| 65.0 ± 7.1 |' in focal
    assert any(
        ln.startswith('| focal, FGL 0.05 |') and 'none of' in ln
        for ln in lines)
