"""mmkd needs only mmengine: the MMDetection and MMSegmentation parts are
imported when those libraries are installed, so a user with one of them
imports mmkd and builds its models (setup.py requires only mmengine)."""
import os
import subprocess
import sys

from tests.conftest import ROOT

# Run in a fresh interpreter where ``import <blocked>`` fails as if the
# library were not installed (``sys.modules[name] = None``).
PRELUDE = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
import mmkd
from mmkd.registry import installed
assert not any(installed(name) for name in {blocked!r})
"""

SEG_DISTILLER = """
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope
from tests.utils import seg_batch, tiny_pspnet
assert 'mmkd.det' not in sys.modules and sys.modules['mmdet'] is None
model = MODELS.build(dict(
    type='mmkd.Distiller', load_teacher_checkpoint=False,
    student=dict(model=tiny_pspnet(8), scope='mmseg'),
    teacher=dict(model=tiny_pspnet(16), scope='mmseg'),
    losses=dict(loss_cwd=dict(type='mmkd.ChannelWiseDivergence',
                              student='decode_head.conv_seg',
                              teacher='decode_head.conv_seg'))))
optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
log = model.train_step(seg_batch(size=(32, 32), batch=2), optim)
print(sorted(log))
"""


def run(code):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-c', code],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_segmentation_without_mmdet():
    proc = run(PRELUDE.format(blocked=['mmdet']) + SEG_DISTILLER)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'distill.loss_cwd'" in proc.stdout and "'decode.loss_ce'" in \
        proc.stdout, proc.stdout


def test_import_without_mmseg_and_mmdet():
    proc = run(
        PRELUDE.format(blocked=['mmseg', 'mmdet']) +
        "assert 'mmkd.datasets' not in sys.modules\n"
        "from mmkd.registry import MODELS\n"
        "print(MODELS.get('mmkd.Distiller').__name__)\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['Distiller']


def test_installed(monkeypatch):
    from mmkd.registry import installed
    assert installed('mmengine') and not installed('mmkd_no_such_package')
    monkeypatch.setitem(sys.modules, 'mmkd_blocked', None)  # as in PRELUDE
    assert not installed('mmkd_blocked')


def test_import_without_mmpretrain():
    proc = run(
        PRELUDE.format(blocked=['mmpretrain']) +
        "assert 'mmkd.pretrain' not in sys.modules\n"
        "from mmkd.registry import MODELS\n"
        "print(MODELS.get('mmkd.Distiller').__name__, "
        "MODELS.get('mmkd.G2SD'))\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['Distiller', 'None']
