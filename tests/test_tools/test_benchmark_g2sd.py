"""tools/analysis/benchmark_g2sd.py times a G2SD generic step and its floor
(here on the CPU toy's config, and its memory in fresh processes)."""
import re

import pytest

from tests.conftest import ROOT
from tests.utils import load_tool

TOY = (
    ROOT / 'configs' / 'g2sd' / 'cpu' /
    'g2sd-gd_mae-vit-d192l6_vit-d96l6-dec64d2b_1xb32-2k_shipped-64x64.py')


def _tool():
    return load_tool('tools/analysis/benchmark_g2sd.py')


def test_times_the_three_phases(capsys):
    _tool().main([
        str(TOY), '--batch', '2', '--iters', '1', '--warmup', '0', '--device',
        'cpu', '--skip-memory'
    ])
    out = capsys.readouterr().out
    assert 'batch: 2 x 3 x 64 x 64' in out
    assert 'teacher decoder blocks run: 2 of 4' in out
    ratio = float(
        re.search(r'ratio g2sd / \(student \+ teacher\): (\S+)', out).group(1))
    assert 0.2 < ratio < 5


def test_measures_memory_in_fresh_processes(capsys):
    _tool().main([str(TOY), '--batch', '2', '--skip-timing'])
    rows = [
        line for line in capsys.readouterr().out.splitlines()
        if line.startswith('| ') and 'phase' not in line
    ]
    assert len(rows) == 3
    assert all(
        float(row.split('|')[-2]) == float(row.split('|')[-2])
        for row in rows)  # not nan


def test_refuses_a_distiller_config():
    with pytest.raises(ValueError, match='benchmark_distill'):
        _tool().main([
            str(ROOT / 'configs' / 'cwd' /
                'cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py')
        ])
