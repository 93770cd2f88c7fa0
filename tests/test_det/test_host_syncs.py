"""mmkd's D-FINE training step makes no host-device synchronisation.

A GPU run would use ``torch.cuda.set_sync_debug_mode('error')``; these tests
use the CPU stand-in of ``_host_syncs.py`` and count only the calls made from
mmkd's code. What mmdet and mmcv still do (the Hungarian matcher solves on
the host with scipy) is listed in docs/methods/dfine.md.
"""
import pytest
import torch

from ._dfine_utils import build, tiny_cfg
from ._host_syncs import HostSyncRecorder

pytest.importorskip('mmdet')


def test_recorder_sees_each_kind_of_sync():
    # run snippets as if they were mmkd code: attribution is by the
    # caller's module name
    syncing = {
        'x.sum().item()': 'Tensor.item',
        'bool(m.any())': 'Tensor.__bool__',
        'float(x.sum())': 'Tensor.__float__',
        'torch.equal(x, x)': 'torch.equal',
        'x[m]': 'Tensor.__getitem__',
        'x[m] = 0.0': 'Tensor.__setitem__',
        'torch.nonzero(m)': 'torch.nonzero',
        'torch.unique(x)': 'torch.unique',
        'torch.where(m)': 'torch.where',
        'x.repeat_interleave(m.long())': 'Tensor.repeat_interleave',
        'x.new_tensor([1.0])': 'Tensor.new_tensor',
        'torch.tensor([1.0])': 'torch.tensor',
    }
    waiting_free = [
        'x[1:] = 0.0', 'torch.where(m, x, 0.0)', 'x.repeat_interleave(2)',
        'x.new_full((), 2.0)', 'x[m.long()]', 'x[0] = 1.0'
    ]
    setup = 'x = torch.arange(4.0)\nm = x > 1\n'
    for line, op in syncing.items():
        with HostSyncRecorder() as rec:
            exec(setup + line, {'torch': torch, '__name__': 'mmkd.fake'})
        assert [k[0] for k in rec.by('mmkd')] == [op], line
    with HostSyncRecorder() as rec:
        exec(setup + '\n'.join(waiting_free), {
            'torch': torch,
            '__name__': 'mmkd.fake'
        })
    assert dict(rec.calls) == {}
    # everything is restored
    assert 'item' not in vars(torch.Tensor)
    assert torch.where(torch.tensor([True]))[0].tolist() == [0]


def _record_loss_step(model, num_items):
    """Record the syncs of one loss forward + backward (data preprocessing,
    mmdet's, excluded)."""
    from mmdet.testing import demo_mm_inputs
    model.train()
    packed = demo_mm_inputs(
        batch_size=len(num_items),
        image_shapes=(3, 64, 96),
        num_items=num_items,
        num_classes=3)
    data = model.data_preprocessor(packed, True)
    with HostSyncRecorder() as rec:
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(losses.values()).backward()
    return losses, rec


@pytest.mark.parametrize('head', [dict(), dict(cls_loss='vfl', use_lqe=True)])
def test_dino_fdr_train_step_has_no_mmkd_sync(head):
    torch.manual_seed(0)
    model = build(tiny_cfg(fdr=True, dec_layers=3, **head))
    losses, rec = _record_loss_step(model, [3, 0])
    assert 'd0.loss_ddf' in losses and 'dn_loss_fgl' in losses
    assert dict(rec.by('mmkd')) == {}
    # the stand-in does see the matcher's syncs in mmdet
    assert rec.by('mmdet')


def test_deformable_fdr_train_step_has_no_mmkd_sync():
    from .test_deformable_fdr import _tiny
    torch.manual_seed(0)
    losses, rec = _record_loss_step(build(_tiny(two_stage=True)), [3, 1])
    assert 'd0.loss_ddf' in losses and 'enc_loss_cls' in losses
    assert dict(rec.by('mmkd')) == {}
