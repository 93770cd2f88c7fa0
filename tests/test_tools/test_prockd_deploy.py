"""ProC-KD with deploy_tafa=True as a user runs it on CamVid: distil for two
iterations, evaluate with tools/test.py, export the student (prototype bank
and TAFA kept) and evaluate the export with MMSegmentation's own test tool:
the same mIoU. The teacher is an initialised MMPretrain ResNet-18 saved
here (the round trip does not depend on what it learnt)."""
from pathlib import Path

import torch
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers.builder import load_model_config
from tests.conftest import CAMVID, ROOT, requires_camvid
from tests.test_tools.test_e2e import LOADERS, RUNTIME, miou, run

CFG = ROOT / 'configs' / 'prockd'
DEPLOY = CFG / ('prockd_resnet18-bccd-cells_pspnet-r18-d8_deploy-tafa_'
                '1xb4-1k_camvid-240x180.py')
TEACHER = CFG / 'resnet18_1xb64-30e_bccd-cells-60px.py'


@requires_camvid
def test_deploy_tafa_round_trip(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(load_model_config(str(TEACHER)).model)
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    options = [f'{loader}.dataset.data_root={CAMVID}' for loader in LOADERS
               ] + RUNTIME + ['test_dataloader.dataset.indices=4']
    work = tmp_path / 'kd'
    log = run('tools/train.py', DEPLOY, '--work-dir', work, '--cfg-options',
              *options, 'train_cfg.max_iters=2',
              'default_hooks.checkpoint.interval=2',
              f'model.teacher.checkpoint={teacher_ckpt}')
    assert 'distill.loss_prockd_aug_ce' in log, log[-2000:]
    ckpt = work / 'iter_2.pth'
    kd_miou = miou(
        run('tools/test.py', DEPLOY, ckpt, '--work-dir', tmp_path / 'test',
            '--cfg-options', *options))

    out = tmp_path / 'student.pth'
    run('tools/export_student.py', ckpt, out, '--config', DEPLOY)
    keys = set(torch.load(out)['state_dict'])
    assert 'tafa.prototypes' in keys and 'model.decode_head.conv_seg.weight' \
        in keys
    assert not any('plm' in k for k in keys)  # the PLM trains, not deployed

    import mmseg
    mmseg_test = Path(mmseg.__file__).parent / '.mim' / 'tools' / 'test.py'
    plain_miou = miou(
        run(mmseg_test, tmp_path / 'student.py', out, '--work-dir',
            tmp_path / 'plain', '--cfg-options', *options))
    assert plain_miou == kd_miou
