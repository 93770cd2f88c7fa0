"""Records are what the tapped module produced: in-place changes after the
tap are caught, and modules replaced after build are the ones hooked."""
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers import Distiller
from mmkd.distillers.taps import FeatureTaps, Tap
from tests.test_distillers.runner_utils import CaptureOutputs, distill_runner
from tests.utils import seg_batch, tiny_pspnet


def distiller(student_tap, teacher_tap='backbone.layer1.0'):
    return Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=16)),
        losses=dict(
            loss_feat=dict(
                type='mmkd.ChannelWiseDivergence',
                student=student_tap,
                teacher=teacher_tap)),
        load_teacher_checkpoint=False)


def produced(module, source='output'):
    """What the module itself produced, copied at once (the reference)."""
    seen = []
    if source == 'output':
        module.register_forward_hook(
            lambda m, a, out: seen.append(out.detach().clone()))
    else:
        module.register_forward_pre_hook(
            lambda m, a: seen.append(a[0].detach().clone()))
    return seen


@pytest.mark.parametrize('tap, fix', [
    ('backbone.layer1.0.bn2', 'out += identity'),
    (dict(path='backbone.layer1.0.relu', source='input'), 'in-place ReLU'),
])
def test_mmseg_resnet_inplace_change_is_an_error(tap, fix):
    model = distiller(tap)
    data = model.data_preprocessor(seg_batch(), True)
    name = tap if isinstance(tap, str) else tap['path']
    with pytest.raises(
            RuntimeError,
            match=rf"student tap '{name}'.* changed "
            r'in place afterwards.*copy=True'):
        model(**data, mode='loss')


def test_copy_records_what_the_module_produced():
    tap = dict(path='backbone.layer1.0.bn2', copy=True)
    model = distiller(tap, teacher_tap=tap)
    seen = produced(model.student.backbone.layer1[0].bn2)
    data = model.data_preprocessor(seg_batch(), True)
    with model.student_taps:
        model.student.loss(data['inputs'], data['data_samples'])
    record = model.student_taps.pop()[
        model.distill_losses.loss_feat.student_tap]
    assert torch.equal(record.detach(), seen[0])
    assert torch.isfinite(model(**data, mode='loss')['distill.loss_feat'])


def test_mmdet_resnet_and_mmcv_convmodule():
    with DefaultScope.overwrite_default_scope('mmdet'):
        resnet = MODELS.build(
            dict(type='mmdet.ResNet', depth=18, base_channels=8))
    resnet.eval()  # BN on 1x1 maps; in-place changes happen in eval too
    taps = FeatureTaps(resnet, [Tap('layer1.0.bn2')], 'teacher')
    with torch.no_grad(), taps:
        resnet(torch.randn(1, 3, 32, 32))
    with pytest.raises(RuntimeError, match=r"teacher tap 'layer1.0.bn2'"):
        taps.pop()
    from mmcv.cnn import ConvModule
    conv = ConvModule(3, 4, 3, norm_cfg=None, act_cfg=dict(type='ReLU'))
    taps = FeatureTaps(conv, [Tap('conv')], 'student')
    with taps:
        conv(torch.randn(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match=r"student tap 'conv'"):
        taps.pop()
    taps = FeatureTaps(conv, [Tap('conv', copy=True)], 'student')
    seen = produced(conv.conv)
    with taps:
        out = conv(torch.randn(1, 3, 8, 8))
    record = taps.pop()[Tap('conv', copy=True)]
    assert torch.equal(record.detach(), seen[0])
    assert (seen[0] < 0).any() and not torch.equal(record, out)


def test_norm_tap_survives_syncbn_revert_in_a_real_runner(tmp_path):
    """The runner replaces every SyncBN of the student with a BN after the
    Distiller is built (single process): the tap must hook the new one."""
    student = tiny_pspnet(width=16)
    student['backbone']['norm_cfg'] = dict(type='SyncBN', requires_grad=True)
    tap = dict(path='backbone.layer1.0.bn1', source='input')
    runner = distill_runner(
        tmp_path,
        dict(
            loss_norm=dict(
                type='mmkd.ChannelWiseDivergence',
                student=tap,
                teacher=tap,
                connector=dict(
                    type='mmkd.ChannelAlignConnector',
                    in_channels=16,
                    out_channels=32))),
        student=dict(model=student))
    capture = CaptureOutputs()
    runner.register_hook(capture)
    runner.train()
    # built as SyncBN by the Distiller, reverted by the runner afterwards
    now = runner.model.student.backbone.layer1[0].bn1
    assert type(now).__name__ == '_BatchNormXd'
    assert capture.outputs[0]['distill.loss_norm'].item() > 1e-4
