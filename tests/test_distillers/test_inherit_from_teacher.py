"""Student neck/head initialised from the teacher where names and shapes
match (the inheritance strategy of FGD, MasKD, ACAM-KD)."""
from unittest import mock

import pytest
import torch
import torch.nn as nn

from mmkd.distillers import inherit_from_teacher


def detector(head_classes: int, extra: bool = False) -> nn.Module:
    model = nn.Module()
    model.backbone = nn.Conv2d(3, 4, 3)
    model.neck = nn.Sequential(nn.Conv2d(4, 8, 1), nn.BatchNorm2d(8))
    model.bbox_head = nn.Module()
    model.bbox_head.reg = nn.Conv2d(8, 4, 1)
    model.bbox_head.cls = nn.Conv2d(8, head_classes, 1)
    if extra:
        model.bbox_head.extra = nn.Linear(2, 2)
    return model


def test_copies_matching_tensors_and_lists_the_rest():
    torch.manual_seed(0)
    student, teacher = detector(3, extra=True), detector(5)
    with torch.no_grad():
        teacher.neck[1].running_mean.uniform_()
    backbone = student.backbone.weight.clone()
    cls = student.bbox_head.cls.weight.clone()
    with mock.patch('mmkd.distillers.inherit.print_log') as log:
        copied, skipped = inherit_from_teacher(student, teacher)
    assert copied == [
        'neck.0.weight', 'neck.0.bias', 'neck.1.weight', 'neck.1.bias',
        'neck.1.running_mean', 'neck.1.running_var',
        'neck.1.num_batches_tracked', 'bbox_head.reg.weight',
        'bbox_head.reg.bias'
    ]
    assert skipped == [
        "bbox_head.cls.weight: shape (3, 8, 1, 1) vs the teacher's "
        '(5, 8, 1, 1)', "bbox_head.cls.bias: shape (3,) vs the teacher's (5,)",
        'bbox_head.extra.weight: not in the teacher',
        'bbox_head.extra.bias: not in the teacher'
    ]
    t_state = teacher.state_dict()
    for name, value in student.state_dict().items():
        if name in copied:
            assert torch.equal(value, t_state[name]), name
    assert torch.equal(student.backbone.weight, backbone)
    assert torch.equal(student.bbox_head.cls.weight, cls)
    # still the student's own parameters (the optimizer holds these)
    assert student.neck[0].weight.requires_grad
    message = log.call_args[0][0]
    assert 'copied 9' in message and 'skipped 4' in message
    assert 'bbox_head.extra.bias: not in the teacher' in message


def test_errors():
    student, teacher = detector(3), detector(3)
    with pytest.raises(KeyError, match=r"no module \['roi_head'\]"):
        inherit_from_teacher(student, teacher, ('neck', 'roi_head'))
    with pytest.raises(TypeError, match='prefixes should be'):
        inherit_from_teacher(student, teacher, 'neck')


def test_distiller_option_copies_in_init_weights():
    """The runner calls init_weights after building: the copy happens
    there, after the student's own initialisation, and only under the
    prefixes."""
    from mmkd.distillers import Distiller
    from tests.utils import tiny_pspnet
    model = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=16)),
        losses=dict(
            loss_cwd=dict(
                type='mmkd.ChannelWiseDivergence',
                student='decode_head.conv_seg',
                teacher='decode_head.conv_seg')),
        load_teacher_checkpoint=False,
        student_init_from_teacher=dict(
            prefixes=['decode_head'], logger='silent'))
    teacher = model.teacher.state_dict()
    model.init_weights()
    student = model.student.state_dict()
    head = [k for k in student if k.startswith('decode_head.')]
    assert head and all(torch.equal(student[k], teacher[k]) for k in head)
    assert not torch.equal(student['backbone.stem.0.weight'],
                           teacher['backbone.stem.0.weight'])
