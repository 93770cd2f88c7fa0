"""A user's project inherits mmkd's shipped configs (``mmkd::...``) and
trains them with tools/train.py from outside the clone: train, validate,
save, for a Distiller (a segmentation pair) and a plain model (a
detector)."""
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers.builder import load_model_config
from tests.conftest import CAMVID, ROOT, SHARED_DATA
from tests.utils import run_tool

BCCD = SHARED_DATA / 'bccd'

SEG_DATA = """
train_dataloader = dict(batch_size=2, dataset=dict(data_root={root!r}))
val_dataloader = dict(dataset=dict(data_root={root!r}, indices=4))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
"""
USER = {
    'distiller': (CAMVID, """
_base_ = ['mmkd::bpkd/bpkd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py']
model = dict(teacher=dict(checkpoint={teacher!r}))
""" + SEG_DATA),
    'detector': (BCCD, """
_base_ = ['mmkd::dfine/dfine_dino-4scale_r18_1xb4-4e_bccd.py']
train_dataloader = dict(batch_size=2, dataset=dict(data_root={root!r}, indices=4))
val_dataloader = dict(dataset=dict(data_root={root!r}, indices=2))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={root!r} + '/coco/val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
"""),
}


def save_teacher(path):
    cfg = load_model_config(
        'mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py')
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(cfg.model)
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return str(path)


@pytest.mark.parametrize('kind', list(USER))
def test_train_a_config_inherited_from_outside_the_clone(
        tmp_path, kind, capfd):
    data, text = USER[kind]
    if not data.is_dir():
        pytest.skip(f'{data} not found')
    project = tmp_path / 'my_project'
    project.mkdir()
    teacher = save_teacher(tmp_path / 'teacher.pth') \
        if kind == 'distiller' else None
    (project / 'my_config.py').write_text(
        text.format(root=str(data), teacher=teacher))
    log = run_tool(
        capfd,
        ROOT / 'tools' / 'train.py',
        'my_config.py',
        '--work-dir',
        'work',
        cwd=project)
    metric = 'mIoU' if kind != 'detector' else 'bbox_mAP'
    assert metric in log, log[-3000:]  # validated
    saved = list((project / 'work').glob('*.pth'))
    assert saved, list((project / 'work').iterdir())  # saved
