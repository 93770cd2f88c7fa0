"""The tools as a user runs them: distil with CWD from a teacher checkpoint
(an untrained teacher of the config, saved here; training a plain config with
tools/train.py is covered by the README-commands test), evaluate with
tools/test.py, export the student and evaluate the export with
MMSegmentation's own test tool.

Same configs (the CamVid CWD trio) on real CamVid where it is present, and
otherwise on generated shapes, so the test runs on any machine. The shapes
variant swaps the dataset and the class count by ``--cfg-options``, as a
user would for their own data.

Each tool's ``main()`` runs in this process with the command line a user
types (``tests.utils.run_tool``); the README-commands test runs the tools
as processes of their own."""
import re
from pathlib import Path

import pytest
import torch

from mmkd.datasets import ShapesDataset, generate_shapes
from mmkd.datasets.camvid import CLASSES as CAMVID_CLASSES
from tests.conftest import CAMVID, ROOT, requires_camvid
from tests.test_tools.shapes_setup import save_untrained
from tests.utils import load_tool, run_tool

CFG = ROOT / 'configs' / 'cwd'
TEACHER = CFG / 'pspnet_r18-d8_1xb4-1k_camvid-240x180.py'
DISTILL = CFG / 'cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
RUNTIME = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False', 'train_cfg.val_interval=1000',
    'default_hooks.logger.interval=1', 'test_dataloader.dataset.indices=8'
]


def data_options(data, tmp_path):
    """(options shared by every tool, class-count options keyed by where the
    model dict sits in the config, the first class name)."""
    if data == 'camvid':
        # The data_root of all three loaders (a config variable cannot be
        # overridden from the command line: the loaders hold copies).
        return ([f'{loader}.dataset.data_root={CAMVID}'
                 for loader in LOADERS], {}, CAMVID_CLASSES[0])
    root = generate_shapes(
        str(tmp_path / 'shapes'), num_train=8, num_val=4, size=64)
    classes = ShapesDataset.METAINFO['classes']
    options = []
    for loader in LOADERS:
        options += [
            f'{loader}.dataset.type=mmkd.ShapesDataset',
            f'{loader}.dataset.data_root={root}'
        ]
    heads = {
        prefix: [
            f'{prefix}.{head}.num_classes={len(classes)}'
            for head in ('decode_head', 'auxiliary_head')
        ]
        for prefix in ('model', 'model.student.model', 'model.teacher.model')
    }
    return options, heads, classes[0]


def miou(log: str) -> float:
    return float(re.findall(r'mIoU: ([0-9.]+)', log)[-1])


@pytest.mark.parametrize('data', [
    pytest.param(
        'shapes',
        marks=pytest.mark.skipif(
            CAMVID.is_dir(),
            reason='CamVid present: the camvid run covers it')),
    pytest.param('camvid', marks=requires_camvid)
])
def test_train_test_export(data, tmp_path, capfd):
    options, heads, first_class = data_options(data, tmp_path)
    small = options + RUNTIME
    plain = small + heads.get('model', [])  # the exported student
    kd = small + heads.get('model.student.model', []) + heads.get(
        'model.teacher.model', [])
    kd_dir = tmp_path / 'cwd'
    teacher_ckpt = save_untrained(  # heads resized as the options say
        TEACHER, tmp_path / 'teacher.pth',
        {k: int(v)
         for k, v in (o.split('=') for o in heads.get('model', []))})
    log = run_tool(capfd, 'tools/train.py', DISTILL, '--work-dir', kd_dir,
                   '--cfg-options', *kd, 'train_cfg.max_iters=3',
                   'default_hooks.checkpoint.interval=3',
                   f'model.teacher.checkpoint={teacher_ckpt}')
    assert 'teacher checkpoint loaded' in log
    assert 'misses' not in log and 'unexpected' not in log, log[-3000:]
    assert re.search(r'distill\.loss_cwd: [0-9.]+', log), log[-2000:]
    assert re.search(r'decode\.loss_ce: [0-9.]+', log)

    ckpt = kd_dir / 'iter_3.pth'
    state = torch.load(ckpt)['state_dict']
    assert not any(k.startswith('teacher') for k in state)
    kd_miou = miou(
        run_tool(capfd, 'tools/test.py', DISTILL, ckpt, '--work-dir',
                 tmp_path / 'test', '--cfg-options', *kd))

    out = tmp_path / 'student.pth'
    load_tool('tools/export_student.py').main(
        [str(ckpt), str(out), '--config',
         str(DISTILL)])
    exported = torch.load(out)
    assert exported['meta']['dataset_meta']['classes'][0] == first_class
    assert set(exported['state_dict']) == {
        k[len('student.'):]
        for k in state if k.startswith('student.')
    }

    import mmseg
    mmseg_test = Path(mmseg.__file__).parent / '.mim' / 'tools' / 'test.py'
    assert mmseg_test.is_file(), mmseg_test
    plain_miou = miou(
        run_tool(capfd, mmseg_test, tmp_path / 'student.py', out, '--work-dir',
                 tmp_path / 'plain', '--cfg-options', *plain))
    assert plain_miou == kd_miou
