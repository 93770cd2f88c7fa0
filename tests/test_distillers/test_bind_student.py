"""A loss that defines ``bind_student`` gets a plain reference to its own
student, once, and the Distiller's state dict and parameters do not change
(docs/config.md, "The loss contract")."""
import torch.nn as nn
import torch.nn.functional as F

from mmkd.distillers import DistillComparison, Distiller
from mmkd.registry import MODELS
from tests.utils import tiny_pspnet

TAPS = dict(student='decode_head.conv_seg', teacher='decode_head.conv_seg')


@MODELS.register_module(force=True)
class _BindsStudent(nn.Module):
    calls = []

    def bind_student(self, student):
        self.calls.append(student)
        self.__dict__['_student'] = student  # not a sub-module

    def forward(self, student, teacher):
        return F.mse_loss(student, teacher)


def build(loss_type):
    return Distiller(
        student=dict(model=tiny_pspnet(width=16), scope='mmseg'),
        teacher=dict(model=tiny_pspnet(width=16), scope='mmseg'),
        load_teacher_checkpoint=False,
        losses=dict(loss_a=dict(type=loss_type, **TAPS)))


def test_distiller_binds_once_and_keeps_its_state():
    _BindsStudent.calls.clear()
    model = build('mmkd._BindsStudent')
    assert len(_BindsStudent.calls) == 1
    assert _BindsStudent.calls[0] is model.student
    plain = build('mmdet.MSELoss')  # no bind_student
    assert list(model.state_dict()) == list(plain.state_dict())
    assert len(list(model.parameters())) == len(list(plain.parameters()))


def test_comparison_binds_each_arm_to_its_own_student():
    _BindsStudent.calls.clear()
    arm = dict(losses=dict(loss_a=dict(type='mmkd._BindsStudent', **TAPS)))
    model = DistillComparison(
        student=dict(model=tiny_pspnet(width=16), scope='mmseg'),
        teacher=dict(model=tiny_pspnet(width=16), scope='mmseg'),
        load_teacher_checkpoint=False,
        arms=dict(plain=dict(), a=arm, b=arm))
    assert [id(s) for s in _BindsStudent.calls
            ] == [id(model.arms['a'].student),
                  id(model.arms['b'].student)]
    assert model.arms['a'].student is not model.arms['b'].student
