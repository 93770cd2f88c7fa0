"""The commands the README shows after `make demo` run as written, in a
shell set up by `tools/env/activate` (what `make shell` sources).

They run on a tiny copy of the demo's data with a random teacher, and the
training commands get a 2-iteration override appended (``--cfg-options``);
otherwise each line is taken verbatim from the README block marked
``<!-- readme-commands -->``.
"""
import os
import re
import subprocess
import sys

import pytest
import torch

from tests.test_tools.shapes_setup import ROOT, make_shapes_and_teacher

README = ROOT / 'README.md'
MARK = '<!-- readme-commands -->'
SHORT = ('--cfg-options train_cfg.max_iters=2 train_cfg.val_interval=10 '
         'train_dataloader.batch_size=2')
VENV_READY = os.path.exists(os.path.join(sys.prefix, '.complete'))


def readme_commands():
    """The lines of the marked bash block, without comments."""
    text = README.read_text()
    assert MARK in text, f'{README} lost its {MARK} block'
    block = text.split(MARK, 1)[1].split('```bash', 1)[1].split('```', 1)[0]
    lines = [line.split('#', 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line]


def test_docs_name_real_configs_and_tools():
    for doc in (README, ROOT / 'docs' / 'get_started.md'):
        text = doc.read_text()
        for path in set(
                re.findall(r'(?<![\w/])(?:tools|configs)/[\w./-]+\.(?:py|sh)',
                           text)):
            assert (ROOT / path).is_file(), f'{doc.name}: {path}'


def test_readme_block_names_real_files():
    commands = readme_commands()
    assert commands[0] == 'make shell'
    kinds = {c.split()[0] + ' ' + c.split()[1] for c in commands[1:]}
    assert {
        'python tools/train.py', 'python tools/test.py',
        'python tools/export_student.py', 'mim train', 'mim test'
    } <= kinds, commands
    guide = (ROOT / 'docs' / 'get_started.md').read_text()
    for command in commands[1:]:  # docs/get_started.md shows the same
        assert command in guide, command
    for command in commands:
        for path in re.findall(r'(?:tools|configs)/\S+\.py', command):
            assert (ROOT / path).is_file(), path
        for name in re.findall(r'\S+\.py', command):
            if '/' not in name and command.startswith('mim'):
                assert list((ROOT / 'configs').rglob(name)), name


@pytest.mark.skipif(
    not VENV_READY,
    reason='needs the environment made by tools/env/setup_env.sh')
def test_readme_commands_run_as_written(tmp_path):
    # The commands use paths relative to the clone (tools/, configs/) and
    # write work_dirs/ there: run them in a scratch copy.
    work = tmp_path / 'clone'
    work.mkdir()
    for name in ('tools', 'configs'):
        (work / name).symlink_to(ROOT / name)
    data, ckpt = make_shapes_and_teacher(work)
    (work / 'data').mkdir()
    os.rename(data, work / 'data' / 'shapes-v2')
    (work / 'work_dirs' / 'demo').mkdir(parents=True)
    os.rename(ckpt, work / 'work_dirs' / 'demo' / 'teacher.pth')

    script = ['set -e', f'source {ROOT}/tools/env/activate']
    for command in readme_commands()[1:]:
        if re.match(r'(python tools/train\.py|mim train) ', command):
            command = f'{command} {SHORT}'
        command = re.sub(r'iter_\d+\.pth', 'iter_2.pth', command)
        script += [f'echo "+ {command}"', command]
    env = dict(os.environ, MMKD_TEST_README='1')
    env.pop('PYTHONPATH', None)  # the activation alone must be enough
    proc = subprocess.run(['bash', '-c', '\n'.join(script)],
                          cwd=work,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert 'ModuleNotFoundError' not in log
    # tools/test.py and mim test both evaluated the trained student
    assert len(re.findall(r'mIoU: \d', log)) >= 2, log[-3000:]
    assert 'Training finished successfully' in log  # mim train
    student = torch.load(work / 'work_dirs' / 'student.pth')
    assert student['state_dict'] and not any(
        k.startswith(('student.', 'teacher.')) for k in student['state_dict'])
    assert (work / 'work_dirs' / 'student.py').is_file()
