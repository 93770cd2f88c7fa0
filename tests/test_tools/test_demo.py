"""tools/demo.py end to end on a tiny copy of its data, 2 iterations a
phase: the terminal gets one line per phase and the table, the runners'
logs go to the work dir, the picture is written and the teacher cached."""
import os
import re

import cv2

from mmkd.datasets import generate_shapes
from tests.utils import load_tool


def load_demo():
    return load_tool('tools/demo.py', 'mmkd_demo')


def test_demo_output_and_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the configs' data and teacher paths
    generate_shapes(
        str(tmp_path / 'data' / 'shapes-v2'), num_train=8, num_val=4)
    demo = load_demo()
    args = ['--iters', '2', '--seeds', '0', '--cache', str(tmp_path / 'c')]
    demo.main(args)
    out = capsys.readouterr().out
    lines = out.splitlines()
    # one progress line per phase, each ending with the evaluation
    phases = [line for line in lines if '[' in line and '2/2' in line]
    assert [p.split('[')[0].strip() for p in phases
            ] == ['teacher', 'student, seed 0', 'student + BPKD, seed 0'], out
    assert all(
        re.search(r'mIoU +\d+\.\d  boundary IoU +\d+\.\d', p)
        for p in phases), out
    # the table: header, rule and the three models
    rows = [line for line in lines if line.startswith('|')]
    assert len(rows) == 5 and 'student + BPKD' in rows[-1], out
    # mmengine's own output (hook tables, config dumps, loss lines) is in
    # the work dir's logs, not on the terminal
    assert 'mmengine - INFO' not in out and 'Iter(train)' not in out
    assert len(lines) < 25, out
    # the settings the numbers depend on are printed: the fixed thread
    # count (the default, whatever the machine has) and the kernels' ISA
    assert 'Deterministic runs, 2 threads, torch kernels ' in out, out
    work = tmp_path / 'work_dirs' / 'demo'
    logs = list(work.glob('*/*/*.log'))
    assert len(logs) == 3
    assert all('Config:' in log.read_text() for log in logs)
    assert len(list(work.glob('*/iter_2.pth'))) == 3
    picture = cv2.imread(str(work / 'predictions.png'))
    assert picture is not None and picture.shape[1] > 6 * 64 * 3
    assert (work / 'teacher.pth').is_file()
    assert len(os.listdir(tmp_path / 'c')) == 1  # the cached teacher

    # A second run reuses the cached teacher instead of training it.
    demo.main(args)
    out = capsys.readouterr().out
    assert 'teacher (cached)' in out and out.count('2/2') == 2, out
