"""Several teachers: each hidden and frozen, each run once per step and only
as far as its own taps; losses name their teacher as 'name:path'."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from mmkd.distillers import Distiller
from tests.utils import seg_batch, tiny_pspnet

LOSSES = dict(
    loss_head=dict(
        type='mmkd.ChannelWiseDivergence',
        student='decode_head.conv_seg',
        teacher='wide:decode_head.conv_seg'),
    loss_feat=dict(
        type='mmkd.ChannelWiseDivergence',
        student='backbone.layer2',
        teacher='narrow:backbone.layer2'))


def build(**kwargs):
    return Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teachers=dict(
            wide=dict(model=tiny_pspnet(width=32)),
            narrow=dict(model=tiny_pspnet(width=16))),
        losses=kwargs.pop('losses', LOSSES),
        load_teacher_checkpoint=False,
        **kwargs)


def count_calls(module):
    calls = []
    module.register_forward_pre_hook(lambda *_: calls.append(1))
    return calls


def test_each_teacher_runs_once_and_only_as_far_as_its_taps():
    model = build()
    wide, narrow = (model.teachers[n].model for n in ('wide', 'narrow'))
    assert not {id(p) for t in (wide, narrow) for p in t.parameters()} & \
        {id(p) for p in model.parameters()}
    assert not any(k.startswith('teachers') for k in model.state_dict())
    calls = dict(
        wide=count_calls(wide.backbone),
        narrow=count_calls(narrow.backbone),
        narrow_layer3=count_calls(narrow.backbone.layer3),
        narrow_head=count_calls(narrow.decode_head.conv_seg))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    for _ in range(3):
        log = model.train_step(seg_batch(), optim)
    assert log['distill.loss_head'] > 0 and log['distill.loss_feat'] > 0
    assert len(calls['wide']) == 3 and len(calls['narrow']) == 3
    # the first step runs through to count the taps' calls, then it stops
    assert len(calls['narrow_layer3']) == 1
    assert len(calls['narrow_head']) == 1
    model.train()
    assert not wide.training and not narrow.training


def test_records_come_from_the_named_teacher():
    model = build()
    data = model.data_preprocessor(seg_batch(), True)
    records = model._teacher_records(data['inputs'], data['data_samples'])
    by_model = {tap.model: value for tap, value in records.items()}
    assert by_model['wide'].shape[1] == 4  # wide's logits (4 classes)
    assert by_model['narrow'].shape[1] == 32  # narrow's layer2: 2 x 16
    expected = model.teachers['narrow'].model.backbone(data['inputs'])[1]
    assert torch.equal(by_model['narrow'], expected)


def test_tap_naming_errors():
    bad = dict(
        LOSSES,
        loss_head=dict(LOSSES['loss_head'], teacher='decode_head.conv_seg'))
    with pytest.raises(
            KeyError,
            match=r"names no known teacher.*"
            r"'<name>:decode_head.conv_seg', name one of "
            r"\['narrow', 'wide'\]"):
        build(losses=bad)
    with pytest.raises(ValueError, match=r"teacher 'unused' is not used"):
        Distiller(
            student=dict(model=tiny_pspnet(width=16)),
            teachers=dict(
                wide=dict(model=tiny_pspnet(width=32)),
                unused=dict(model=tiny_pspnet(width=16))),
            losses=dict(loss_head=LOSSES['loss_head']),
            load_teacher_checkpoint=False)
    with pytest.raises(RuntimeError, match='several teachers'):
        build().teacher
