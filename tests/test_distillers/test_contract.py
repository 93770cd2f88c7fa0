"""The loss contract: what reaches the total loss, what is only logged,
which arguments a loss gets (docs/config.md, "The loss contract")."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from mmkd.distillers import Distiller
from mmkd.registry import MODELS
from tests.test_distillers.runner_utils import CaptureOutputs, distill_runner
from tests.utils import seg_batch, tiny_pspnet

FEATURE = dict(
    student='backbone.layer4',
    teacher='backbone.layer4',
    connector=dict(
        type='mmkd.ChannelAlignConnector', in_channels=128, out_channels=256))


@MODELS.register_module(force=True)
class _MSEWithStatistics(nn.Module):
    """A dict-returning loss with a statistic whose name contains 'loss'."""
    statistics = ('loss_scale_ratio', )

    def forward(self, student, teacher):
        return dict(
            loss_mse=F.mse_loss(student, teacher),
            loss_scale_ratio=student.abs().mean() / teacher.abs().mean())


@MODELS.register_module(force=True)
class _Keyed(nn.Module):

    def __init__(self, key='loss'):
        super().__init__()
        self.key = key

    def forward(self, student, teacher):
        return {self.key: F.mse_loss(student, teacher)}


@MODELS.register_module(force=True)
class _NeedsSamples(nn.Module):
    """Records what it was called with."""
    calls = []

    def forward(self, student, teacher, data_samples=None):
        self.calls.append(data_samples)
        return F.mse_loss(student, teacher)


@pytest.mark.parametrize('name', ['cwd', 'loss_cwd'])
def test_runner_total_is_student_plus_distill_terms(tmp_path, name):
    """mmengine sums only keys containing 'loss'; an entry named 'cwd' must
    still train. Checked on the runner's own log values, to the last bit,
    and on the connector, which learns only through that term."""
    losses = {
        name: dict(
            FEATURE, type='mmkd.ChannelWiseDivergence', loss_weight=5.0)
    }
    runner = distill_runner(tmp_path, losses)
    capture = CaptureOutputs()
    runner.register_hook(capture)
    conn = runner.model.distill_losses[name].connectors[0].conv.weight
    before = conn.detach().clone()
    runner.train()
    log = capture.outputs[0]
    student = [
        v for k, v in log.items()
        if k != 'loss' and not k.startswith('distill.')
    ]
    distill = log[f'distill.{name}']
    assert set(log) == {
        'loss', 'decode.loss_ce', 'decode.acc_seg', f'distill.{name}'
    }
    expected = 0
    for key, value in log.items():  # the same order parse_losses sums in
        if key.startswith('distill.') or 'loss' in key and key != 'loss':
            expected = expected + value
    assert torch.equal(log['loss'], expected)
    assert distill.item() > 1e-4  # a real term, not a zero placeholder
    assert not torch.equal(
        log['loss'],
        sum(v for k, v in log.items() if k.startswith('decode.loss')))
    assert len(student) == 2  # decode.loss_ce and decode.acc_seg (not summed)
    assert not torch.equal(before, conn.detach())  # the term trained it


def test_statistics_are_logged_not_summed():
    model = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32)),
        losses=dict(feat=dict(FEATURE, type='mmkd._MSEWithStatistics')),
        load_teacher_checkpoint=False)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    log = model.train_step(seg_batch(), optim)
    ratio = log['distill.feat_scale_ratio']
    mse = log['distill.feat_mse']
    assert ratio.item() > 0 and not ratio.requires_grad
    assert torch.equal(log['loss'], log['decode.loss_ce'] + mse)


def test_colliding_keys_fail_at_the_first_step():
    model = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32)),
        losses=dict(
            a=dict(FEATURE, type='mmkd._Keyed', key='b_c'),
            a_b=dict(FEATURE, type='mmkd._Keyed', key='c')),
        load_teacher_checkpoint=False)
    data = model.data_preprocessor(seg_batch(), True)
    with pytest.raises(KeyError, match=r"loss 'a_b' logs \['distill.a_b_c'"):
        model(**data, mode='loss')


def test_data_samples_only_for_losses_that_take_them():
    """MMDetection's MSELoss has `weight` third: it must not get the
    data samples there. A loss with a data_samples parameter gets them."""
    _NeedsSamples.calls.clear()
    model = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32)),
        losses=dict(
            loss_mse=dict(FEATURE, type='mmdet.MSELoss', loss_weight=2.0),
            loss_samples=dict(FEATURE, type='mmkd._NeedsSamples')),
        load_teacher_checkpoint=False)
    data = model.data_preprocessor(seg_batch(), True)
    torch.manual_seed(0)
    losses = model(**data, mode='loss')
    assert _NeedsSamples.calls == [data['data_samples']]
    # recompute the mmdet loss by hand from the same records
    with model.teacher_taps:
        try:
            model.teacher(data['inputs'], mode='tensor')
        except Exception:
            pass
    teacher = model.teacher_taps.pop()[
        model.distill_losses.loss_mse.teacher_tap]
    with model.student_taps:
        model.student.loss(data['inputs'], data['data_samples'])
    student = model.student_taps.pop()[
        model.distill_losses.loss_mse.student_tap]
    lifted = model.distill_losses.loss_mse.connectors[0](student)
    expected = 2.0 * F.mse_loss(lifted, teacher)
    assert torch.allclose(losses['distill.loss_mse'], expected, rtol=1e-6)
