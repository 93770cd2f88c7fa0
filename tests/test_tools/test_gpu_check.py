"""tools/analysis/gpu_check.py on the CPU: its subset trains, writes one
JSON row per run and precision and prints their table; a failed run is a
row and the exit status says so."""
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from tests.utils import load_tool, run_tool

TOOL = 'tools/analysis/gpu_check.py'


def rows_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cpu_subset_writes_a_row_per_run_and_precision(tmp_path, capfd):
    """CWD on the PSPNet pair in fp32 and bf16 autocast, and a detection
    row, ACAM-KD on RetinaNet, in fp32 (at 32 x 32 its P6 and P7 are single
    tokens)."""
    rows, printed = [], ''
    runs = (('cwd_pspnet', ['fp32', 'bf16']), ('acam_retinanet', ['fp32']))
    for n, (run, precisions) in enumerate(runs):
        out = tmp_path / f'rows{n}.jsonl'
        printed += run_tool(capfd, TOOL, '--device', 'cpu', '--only', run,
                            '--precisions', *precisions, '--size', '32', '32',
                            '--warmup', '0', '--iters', '1', '--out', out)
        rows += rows_of(out)
    assert [(r['run'], r['precision'])
            for r in rows] == [('cwd_pspnet', 'fp32'), ('cwd_pspnet', 'bf16'),
                               ('acam_retinanet', 'fp32')]
    for row in rows:
        assert row['ok'] and row['finite_losses'] and row['finite_params'], row
        assert row['devices_ok'] and not row['off_device'], row
        assert row['shape'] == [2, 3, 32, 32]
        assert row['step_s'] > 0 and row['floor_s'] > 0 and row['ratio'] > 0
        assert row['updated'] > 0.5  # the steps moved the weights
        assert row['peak_mb'] is None  # GPU memory: CUDA rows only
        assert row['floor'] == 'student step + teacher forward (fp32 teacher)'
        assert row['health_finite'] is True  # a checked step, every term
    # ACAM-KD's attention asked SDPA for a kernel; CWD has none
    assert rows[2]['sdpa_backend'] in ('flash', 'efficient', 'cudnn', 'math')
    assert rows[0]['sdpa_backend'] is None
    assert '| cwd_pspnet | bf16 | True | True | True |' in printed
    assert '| acam_retinanet | fp32 | True | True | True |' in printed


def test_a_failed_run_is_a_row_and_the_exit_status(tmp_path, capfd):
    out = tmp_path / 'rows.jsonl'
    with pytest.raises(SystemExit) as exit_:
        run_tool(capfd, TOOL, '--device', 'cpu', '--only', 'cwd_pspnet',
                 '--precisions', 'fp16', '--out', out)
    assert exit_.value.code == 1
    (row, ) = rows_of(out)
    assert not row['ok'] and 'AMP fp16 needs CUDA' in row['error']


def test_off_device_names_what_stayed_behind():
    tool = load_tool(TOOL)
    model = nn.Linear(2, 2)
    model.register_buffer('moved', torch.zeros(1))
    teacher = nn.Linear(2, 2)
    teacher.register_buffer('left', torch.zeros(1, device='meta'))
    built = SimpleNamespace(
        model=model, teachers=dict(teacher=SimpleNamespace(model=teacher)))
    assert tool.off_device(built, 'cpu') == ['teachers.teacher.left (meta)']
    assert len(tool.off_device(built, 'meta')) == 5


def test_list_names_every_run(capfd):
    printed = run_tool(capfd, TOOL, '--list')
    tool = load_tool(TOOL)
    for name, run in tool.RUNS.items():
        assert name in printed and run['config'] in printed
        assert (tool.ROOT / run['config']).is_file(), run['config']
