"""tools/analysis/benchmark_g2sd.py times a G2SD generic step and its floor
(here on the CPU toy's config, and its memory in fresh processes)."""
import contextlib
import io
import re
import sys
import types

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


def test_measures_memory_in_fresh_processes(capsys, monkeypatch):
    tool = _tool()
    children = []

    def child(argv, **kwargs):
        """A fresh process per phase, run here: the protocol (arguments in,
        the last printed line out) is what this test checks; a real
        interpreter per phase would only add its imports."""
        assert argv[:2] == [sys.executable, tool.__file__], argv
        with contextlib.redirect_stdout(io.StringIO()) as out:
            tool.main(argv[2:])
        children.append(argv[argv.index('--memory-phase') + 1])
        return types.SimpleNamespace(stdout=out.getvalue())

    monkeypatch.setattr(tool.subprocess, 'run', child)
    tool.main([str(TOY), '--batch', '2', '--skip-timing'])
    assert children == list(tool.PHASES)
    rows = [
        line for line in capsys.readouterr().out.splitlines()
        if line.startswith('| ') and 'phase' not in line
    ]
    assert len(rows) == 3
    memory = [float(row.split('|')[-2]) for row in rows]
    assert all(m == m for m in memory), rows  # not nan


def test_refuses_a_distiller_config():
    with pytest.raises(ValueError, match='benchmark_distill'):
        _tool().main([
            str(ROOT / 'configs' / 'cwd' /
                'cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py')
        ])
