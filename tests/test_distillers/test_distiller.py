import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers import Distiller
from mmkd.distillers.distiller import _LossEntry
from mmkd.losses.cwd import channel_wise_divergence
from tests.utils import seg_batch, tiny_pspnet

CWD = dict(
    type='mmkd.ChannelWiseDivergence',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    loss_weight=5.0)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(tiny_pspnet(width=32))
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    return str(path), teacher.state_dict()


def build(teacher_ckpt, losses=None, **kwargs):
    return Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32), checkpoint=teacher_ckpt[0]),
        losses=losses or dict(loss_cwd=CWD),
        **kwargs)


def step(model, batch=None):
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    return model.train_step(batch or seg_batch(), optim)


def test_teacher_loaded_frozen_hidden_and_eval(teacher_ckpt):
    model = build(teacher_ckpt)
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_ckpt[1][k]), k
    model.train()
    assert model.student.training and not model.teacher.training
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert not any(k.startswith('teacher') for k in model.state_dict())
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert not teacher_ids & {id(p) for p in model.parameters()}
    assert 'teacher' not in dict(model.named_children())
    model.double()  # the hidden teacher moves (here: casts) with the model
    assert next(model.teacher.parameters()).dtype == torch.float64


def records(model, data, entry='loss_cwd', seed=0):
    """The two records of a loss entry, taken outside the Distiller's loss
    (the same dropout seed as a ``model(..., mode='loss')`` after
    ``torch.manual_seed(seed)``)."""
    entry = model.distill_losses[entry]
    torch.manual_seed(seed)
    teacher = model._teacher_records(data['inputs'], data['data_samples'])
    with model.student_taps:
        model.student.loss(data['inputs'], data['data_samples'])
    student = model.student_taps.pop()
    return student[entry.student_tap], teacher[entry.teacher_tap]


def test_train_step_keys_and_gradients(teacher_ckpt):
    model = build(teacher_ckpt)
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    log = step(model)
    assert {'decode.loss_ce', 'distill.loss_cwd', 'loss'} <= set(log)
    for k, v in model.teacher.state_dict().items():  # BN stats untouched
        assert torch.equal(v, before[k]), k
    # the logged value is CWD of the two records, times the loss weight
    data = model.data_preprocessor(seg_batch(), True)
    student, teacher = records(model, data)
    expected = 5.0 * channel_wise_divergence(student, teacher)
    model.zero_grad()
    torch.manual_seed(0)
    losses = model(**data, mode='loss')
    torch.testing.assert_close(losses['distill.loss_cwd'], expected)
    # its gradient reaches the student's head as autograd says, the
    # teacher not at all
    losses['distill.loss_cwd'].backward()
    weight = model.student.decode_head.conv_seg.weight
    grad, = torch.autograd.grad(expected, weight)
    torch.testing.assert_close(weight.grad, grad)
    assert all(p.grad is None for p in model.teacher.parameters())
    # records are dropped after the step: nothing is left to pop
    for taps in (model.student_taps, model.teacher_taps):
        with pytest.raises(RuntimeError, match='never ran'):
            taps.pop()


def test_dict_loss_names_and_scale(teacher_ckpt):
    model = build(teacher_ckpt)
    entry = _LossEntry('loss_bpkd', CWD)
    edge, body = torch.tensor(1.), torch.tensor(2.)
    named = entry.named_outputs(dict(loss_edge=edge, loss_body=body))
    assert named == {
        'distill.loss_bpkd_edge': (edge, True),
        'distill.loss_bpkd_body': (body, True)
    }
    data = model.data_preprocessor(seg_batch(), True)
    torch.manual_seed(0)
    full = model(**data, mode='loss')['distill.loss_cwd']
    model.distill_scale = 0.25
    torch.manual_seed(0)
    assert model(**data, mode='loss')['distill.loss_cwd'].item() == \
        pytest.approx(0.25 * full.item(), rel=1e-5)
    model.distill_scale = 0.0  # stopped: no teacher forward, same keys
    teacher_calls = []
    model.teacher.backbone.register_forward_pre_hook(
        lambda *_: teacher_calls.append(1))
    losses = model(**data, mode='loss')
    assert losses['distill.loss_cwd'].item() == 0
    assert 'decode.loss_ce' in losses and not teacher_calls


def test_prediction_is_the_students(teacher_ckpt):
    model = build(teacher_ckpt).eval()
    data = model.data_preprocessor(seg_batch(), False)
    out = model(**data, mode='predict')
    ref = model.student(**data, mode='predict')
    assert torch.equal(out[0].pred_sem_seg.data, ref[0].pred_sem_seg.data)


def test_connectors_train_and_are_saved(teacher_ckpt):
    losses = dict(
        loss_feat=dict(
            type='mmkd.ChannelWiseDivergence',
            student='backbone.layer4',
            teacher='backbone.layer4',
            connector=dict(
                type='mmkd.ChannelAlignConnector',
                in_channels=128,
                out_channels=256,
                norm=True)))
    model = build(teacher_ckpt, losses)
    conn = model.distill_losses.loss_feat.connectors[0].conv.weight
    assert any(p is conn for p in model.parameters())
    assert 'distill_losses.loss_feat.connectors.0.conv.weight' in \
        model.state_dict()
    before = conn.detach().clone()
    step(model)
    assert not torch.equal(before, conn.detach())


def test_errors(teacher_ckpt, tmp_path):
    with pytest.raises(
            KeyError,
            match=r"student has no module 'decode_head.conv_sg'.*'decode_head.conv_seg'"
    ):
        build(teacher_ckpt,
              dict(loss=dict(CWD, student='decode_head.conv_sg')))
    with pytest.raises(
            KeyError,
            match=r"unknown type 'mmkd.ChannelWiseDivergenc'.*mmkd.ChannelWiseDivergence"
    ):
        build(teacher_ckpt,
              dict(loss=dict(CWD, type='mmkd.ChannelWiseDivergenc')))
    no_tap = copy.deepcopy(CWD)
    del no_tap['teacher']
    with pytest.raises(
            KeyError, match=r"asks for no teacher tap: add teacher="):
        build(teacher_ckpt, dict(loss=no_tap))
    with pytest.raises(
            FileNotFoundError, match='teacher checkpoint .*missing.pth'):
        build((str(tmp_path / 'missing.pth'), None))
    bad = tmp_path / 'corrupt.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='cannot read teacher checkpoint'):
        build((str(bad), None))
    with pytest.raises(
            FileNotFoundError,
            match=r"config 'nope/missing.py' does not exist"):
        Distiller(
            student=dict(config='nope/missing.py'),
            teacher=dict(model=tiny_pspnet()),
            losses=dict(l=CWD))
    with pytest.raises(
            FileNotFoundError,
            match=r"Closest configs: mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py"
    ):
        Distiller(
            student=dict(
                config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscape-512x1024.py'
            ),
            teacher=dict(model=tiny_pspnet()),
            losses=dict(l=CWD))
    # shape mismatch without a connector: both shapes named, fix suggested
    model = build(
        teacher_ckpt,
        dict(
            loss_feat=dict(
                CWD, student='backbone.layer4', teacher='backbone.layer4')))
    with pytest.raises(
            ValueError,
            match=r"gives \(2, 128, 8, 8\) but teacher 'backbone.layer4' gives \(2, 256, 8, 8\).*ChannelAlignConnector', in_channels=128, out_channels=256"
    ):
        step(model)


def test_teacher_from_another_library(tmp_path):
    """A MMPretrain backbone (a plain nn.Module) teaches a MMSegmentation
    model; connectors align channels and size."""
    teacher_cfg = dict(type='mmpretrain.ResNet', depth=18, out_indices=(3, ))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(teacher_cfg)
    path = tmp_path / 'resnet18.pth'
    torch.save(teacher.state_dict(), path)  # a bare state dict works too
    model = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(
            model=teacher_cfg, scope='mmpretrain', checkpoint=str(path)),
        losses=dict(
            loss_feat=dict(
                type='mmkd.ChannelWiseDivergence',
                student='backbone.layer4',
                teacher='layer4',
                connector=[
                    dict(
                        type='mmkd.ChannelAlignConnector',
                        in_channels=128,
                        out_channels=512),
                    dict(type='mmkd.SpatialAlignConnector')
                ])))
    assert type(model.teacher).__module__.startswith('mmpretrain')
    data = model.data_preprocessor(seg_batch(), True)
    student, teacher = records(model, data, 'loss_feat')
    assert teacher.shape == (2, 512, 2, 2)  # ResNet-18's stride 32 on 64x64
    align, resize = model.distill_losses.loss_feat.connectors
    expected = channel_wise_divergence(
        F.interpolate(align(student), size=(2, 2), mode='bilinear'), teacher)
    torch.manual_seed(0)
    value = model(**data, mode='loss')['distill.loss_feat']
    torch.testing.assert_close(value, expected)


def test_teacher_runs_only_as_far_as_the_taps(teacher_ckpt):
    losses = dict(
        loss_feat=dict(
            type='mmkd.ChannelWiseDivergence',
            student='backbone.layer1',
            teacher='backbone.layer1',
            connector=dict(
                type='mmkd.ChannelAlignConnector',
                in_channels=16,
                out_channels=32)))
    model = build(teacher_ckpt, losses)
    head_calls = []
    model.teacher.decode_head.conv_seg.register_forward_pre_hook(
        lambda *args: head_calls.append(1))
    step(model)  # the first forward runs through, to count the tap's calls
    step(model)
    step(model)
    assert len(head_calls) == 1
    assert not model.teacher.backbone.layer1._forward_hooks  # hooks removed


def test_a_data_preprocessor_beside_the_student_is_an_error(teacher_ckpt):
    """The runner hands a config's top-level data_preprocessor (MMPretrain's
    dataset bases have one) to the Distiller: the error says where it came
    from and how to drop it."""
    with pytest.raises(ValueError, match=r'data_preprocessor = None'):
        build(teacher_ckpt, data_preprocessor=dict(type='SegDataPreProcessor'))
