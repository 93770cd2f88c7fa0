import pytest
from mmengine.config import Config

from mmkd.distillers import Distiller
from mmkd.utils import is_distiller_config, student_only


class MyDistiller(Distiller):
    pass


@pytest.mark.parametrize('model,expected', [
    (dict(type='mmkd.Distiller'), True),
    (dict(type='Distiller'), True),
    (dict(type=Distiller), True),
    (dict(type=MyDistiller), True),
    (dict(type='mmseg.EncoderDecoder'), False),
    (dict(type='mmkd.DINOFDR'), False),
    (dict(type=dict), False),
])
def test_is_distiller_config(model, expected):
    assert is_distiller_config(model) is expected
    assert is_distiller_config(Config(dict(model=model))) is expected


def test_student_only():
    cfg = Config(
        dict(
            model=dict(
                type='mmkd.Distiller',
                student={},
                teacher=dict(checkpoint='t.pth'))))
    assert student_only(cfg) is True
    assert cfg.model.load_teacher_checkpoint is False
    plain = Config(dict(model=dict(type='EncoderDecoder')))
    assert student_only(plain) is False
    assert 'load_teacher_checkpoint' not in plain.model
