"""ProC-KD with deploy_tafa=True on CamVid: a Distiller checkpoint whose
student holds the prototype bank and TAFA, evaluated with tools/test.py,
exported (bank and TAFA kept) and evaluated with MMSegmentation's own test
tool: the same mIoU. The checkpoint is one step of training, in process (a
runner's training is what tests/test_tools/test_e2e.py covers); the teacher
is an initialised MMPretrain ResNet-18 (the round trip does not depend on
what it learnt)."""
from pathlib import Path

import torch
from mmengine.registry import MODELS, DefaultScope

from tests.conftest import CAMVID, ROOT, requires_camvid
from tests.test_tools.test_e2e import LOADERS, RUNTIME, miou
from tests.utils import load_tool, run_tool, seg_batch

CFG = ROOT / 'configs' / 'prockd'
DEPLOY = CFG / ('prockd_resnet18-bccd-cells_pspnet-r18w32-d8_deploy-tafa_'
                '1xb4-1k_camvid-240x180.py')


@requires_camvid
def test_deploy_tafa_round_trip(tmp_path, capfd):
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper

    from mmkd.datasets.camvid import CLASSES
    torch.manual_seed(0)
    cfg = Config.fromfile(str(DEPLOY))
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log = model.train().train_step(
        seg_batch(num_classes=11, size=(64, 64)), optim)
    assert 'distill.loss_prockd_aug_ce' in log
    ckpt = tmp_path / 'kd.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=CLASSES))), ckpt)
    options = [f'{loader}.dataset.data_root={CAMVID}' for loader in LOADERS
               ] + RUNTIME + ['test_dataloader.dataset.indices=4']
    kd_miou = miou(
        run_tool(capfd, 'tools/test.py', DEPLOY, ckpt, '--work-dir',
                 tmp_path / 'test', '--cfg-options', *options))

    out = tmp_path / 'student.pth'
    load_tool('tools/export_student.py').main(
        [str(ckpt), str(out), '--config',
         str(DEPLOY)])
    keys = set(torch.load(out)['state_dict'])
    assert 'tafa.prototypes' in keys and 'model.decode_head.conv_seg.weight' \
        in keys
    assert not any('plm' in k for k in keys)  # the PLM trains, not deployed

    import mmseg
    mmseg_test = Path(mmseg.__file__).parent / '.mim' / 'tools' / 'test.py'
    plain_miou = miou(
        run_tool(capfd, mmseg_test, tmp_path / 'student.py', out, '--work-dir',
                 tmp_path / 'plain', '--cfg-options', *options))
    assert plain_miou == kd_miou
