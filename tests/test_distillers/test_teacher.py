"""The teacher is the teacher: its checkpoint fills what the taps depend on,
it sees inputs normalised its way, and an EMA copy does not duplicate it."""
import copy

import pytest
import torch
from mmengine.model import ExponentialMovingAverage
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import PixelData

from mmkd.distillers import Distiller
from tests.utils import seg_batch, tiny_pspnet

CWD = dict(
    type='mmkd.ChannelWiseDivergence',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg')
LAYER1 = dict(
    type='mmkd.ChannelWiseDivergence',
    student='backbone.layer1',
    teacher='backbone.layer1')


def checkpoint(path, drop=()):
    """A teacher checkpoint without the keys starting with ``drop``."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(tiny_pspnet(width=16))
    state = {
        k: v
        for k, v in teacher.state_dict().items()
        if not k.startswith(tuple(drop))
    }
    torch.save(dict(state_dict=state), path)
    return str(path)


def build(ckpt, losses=CWD, teacher_model=None, **teacher):
    return Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(
            model=teacher_model or tiny_pspnet(width=16),
            checkpoint=ckpt,
            **teacher),
        losses=dict(loss_kd=losses))


def first_step(model):
    data = model.data_preprocessor(seg_batch(), True)
    return model(**data, mode='loss')


def test_missing_weights_the_taps_need_are_an_error(tmp_path):
    ckpt = checkpoint(tmp_path / 'no_head.pth', drop=['decode_head.'])
    model = build(ckpt)
    with pytest.raises(
            RuntimeError,
            match=r'leaves \d+ weights that the '
            r"teacher taps depend on untrained: \['decode_head"):
        first_step(model)
    # explicitly non-strict: trains, with the head as initialised
    assert 'distill.loss_kd' in first_step(build(ckpt, strict=False))


def test_missing_weights_past_the_taps_are_allowed(tmp_path):
    """A tap on the backbone does not depend on the heads."""
    ckpt = checkpoint(tmp_path / 'no_heads.pth', drop=['decode_head.'])
    assert 'distill.loss_kd' in first_step(build(ckpt, LAYER1))
    ckpt = checkpoint(tmp_path / 'no_stem.pth', drop=['backbone.stem.'])
    with pytest.raises(RuntimeError, match=r"\['backbone.stem.0.weight'"):
        first_step(build(ckpt, LAYER1))


def test_preprocessing_mismatch_is_an_error(tmp_path):
    ckpt = checkpoint(tmp_path / 't.pth')
    other = tiny_pspnet(width=16)
    other['data_preprocessor'].update(
        mean=[0., 0., 0.], std=[255.] * 3, bgr_to_rgb=False)
    with pytest.raises(
            ValueError,
            match=r'normalises its inputs differently'
            r".*mean=\(0.0, 0.0, 0.0\).*preprocessing='own'"):
        build(ckpt, teacher_model=other)


def test_top_level_data_preprocessor_of_a_teacher_config(tmp_path):
    """MMPretrain configs keep their normalisation beside the model dict
    (the Runner inserts it); a teacher built from such a config has it too,
    so a mismatch with the student is caught."""
    model = tiny_pspnet(width=16)
    pre = model.pop('data_preprocessor')
    pre.update(mean=[0., 0., 0.], std=[255.] * 3, bgr_to_rgb=False)
    cfg = tmp_path / 'teacher.py'
    cfg.write_text(f'model = {model!r}\ndata_preprocessor = {pre!r}\n'
                   "default_scope = 'mmseg'\n")
    spec = dict(config=str(cfg), checkpoint=checkpoint(tmp_path / 't.pth'))
    with pytest.raises(
            ValueError,
            match=r'normalises its inputs differently'
            r'.*mean=\(0.0, 0.0, 0.0\)'):
        Distiller(
            student=dict(model=tiny_pspnet(width=16)),
            teacher=spec,
            losses=dict(loss_kd=CWD))
    own = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(spec, preprocessing='own'),
        losses=dict(loss_kd=CWD))
    assert own.teacher.data_preprocessor.std.flatten().tolist() == [255.] * 3


def test_own_preprocessing_gives_the_teacher_its_normalisation(tmp_path):
    """With preprocessing='own', the teacher's input equals what its own
    data preprocessor makes of the raw batch."""
    other = tiny_pspnet(width=16)
    other['data_preprocessor'].update(
        mean=[10., 20., 30.],
        std=[50., 60., 70.],
        bgr_to_rgb=False,
        pad_val=-1)
    model = build(
        checkpoint(tmp_path / 't.pth'),
        teacher_model=other,
        preprocessing='own')
    batch = seg_batch(size=(48, 64))
    # one smaller image: its padding must get the teacher's pad value
    batch['inputs'][1] = batch['inputs'][1][:, :40, :56]
    batch['data_samples'][1].set_metainfo(
        dict(img_shape=(40, 56), ori_shape=(40, 56)))
    batch['data_samples'][1].gt_sem_seg = PixelData(
        data=batch['data_samples'][1].gt_sem_seg.data[:, :40, :56])
    seen = []
    model.teacher.backbone.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].clone()))
    raw = [x.clone() for x in batch['inputs']]
    data = model.data_preprocessor(batch, True)
    model(**data, mode='loss')
    own = [
        model.teacher.data_preprocessor(dict(inputs=[x]), False)['inputs'][0]
        for x in raw
    ]  # one by one: test mode wants equal sizes
    assert seen[0].shape == data['inputs'].shape == (2, 3, 48, 64)
    torch.testing.assert_close(seen[0][0], own[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(
        seen[0][1, :, :40, :56], own[1], rtol=0, atol=1e-5)
    assert (seen[0][1, :, 40:] == -1).all()
    assert (seen[0][1, :, :, 56:] == -1).all()
    # the student's batch is the student's own normalisation
    assert not torch.allclose(data['inputs'][0], own[0])


def test_ema_copy_shares_the_teacher(tmp_path):
    model = build(checkpoint(tmp_path / 't.pth'))
    ema = ExponentialMovingAverage(model)  # what EMAHook builds

    def nbytes(module):
        seen = {}
        for t in list(module.parameters()) + list(module.buffers()):
            seen[t.data_ptr()] = t.numel() * t.element_size()
        return seen

    teacher = nbytes(model.teacher)
    copied = nbytes(ema.module.student)
    assert ema.module.teacher is model.teacher
    assert not set(copied) & set(nbytes(model.student))  # student copied
    assert ema.module.student_taps.model is ema.module.student
    assert sum(teacher.values()) > 0
    plain = copy.deepcopy(model.teacher)  # what a plain deep copy costs
    assert not set(nbytes(plain)) & set(teacher)
    # the averaged Distiller still distils
    assert 'distill.loss_kd' in first_step(ema.module.train())


def test_bf16_teacher_gives_fp32_records_close_to_fp32(tmp_path):
    ckpt = checkpoint(tmp_path / 't.pth')
    full = build(ckpt)
    low = build(ckpt, precision='bf16')
    low.load_state_dict(full.state_dict())  # the same student
    assert next(low.teacher.parameters()).dtype == torch.bfloat16
    low.float()  # casting the model keeps the teacher's precision
    assert next(low.teacher.parameters()).dtype == torch.bfloat16
    data = full.data_preprocessor(seg_batch(), True)
    records = {}
    for name, model in (('fp32', full), ('bf16', low)):
        model.eval()  # no dropout: the two students give the same logits
        records[name] = model._teacher_records(data['inputs'],
                                               data['data_samples'])
    (tap, ref), = records['fp32'].items()
    got = records['bf16'][tap]
    assert got.dtype == torch.float32
    err = (got - ref).abs().max() / ref.abs().max()
    assert 0 < err < 0.05, err  # bf16 rounding, not another model


def test_fp16_teacher_on_cpu_is_refused(tmp_path):
    model = build(checkpoint(tmp_path / 't.pth'), precision='fp16')
    with pytest.raises(
            ValueError,
            match=r"precision='fp16' on the CPU.*"
            r"Use precision='bf16'"):
        first_step(model)
    with pytest.raises(ValueError, match=r'one of \[.bf16.'):
        build(checkpoint(tmp_path / 't.pth'), precision='int8')


def test_bf16_on_a_cpu_without_bf16_warns_once(tmp_path, monkeypatch):
    from mmkd.distillers import teacher
    monkeypatch.setattr(teacher, '_cpu_has_bf16', lambda: False)
    model = build(checkpoint(tmp_path / 't.pth'), precision='bf16')
    logged = []
    monkeypatch.setattr(teacher, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    first_step(model)
    first_step(model)
    assert len(logged) == 1 and 'several times slower' in logged[0]


def test_forward_kwargs_reach_the_teacher_and_are_not_reused():
    """Extra keyword arguments of ``records`` go to the teacher's forward
    (G2SD's generic stage passes its mask noise this way); a shared
    teacher does not hand records made with them to the next caller."""
    import torch.nn as nn

    from mmkd.distillers.taps import Tap
    from mmkd.distillers.teacher import Teacher

    class Shift(nn.Module):

        def __init__(self):
            super().__init__()
            self.out = nn.Identity()

        def forward(self, x, shift=0.0):
            return self.out(x + shift)

    MODELS.register_module('mmkd_test_Shift', module=Shift, force=True)
    try:
        hidden = Teacher(
            'teacher',
            dict(model=dict(type='mmkd_test_Shift')),
            nn.Linear(1, 1),
            load_checkpoint=False)
    finally:
        MODELS.module_dict.pop('mmkd_test_Shift')
    hidden.tap([Tap('out', model='teacher')], stop_early=True)
    hidden.reuse_records = True
    x = torch.zeros(2)
    (plain, ), (shifted, ) = (hidden.records(x, None).values(),
                              hidden.records(x, None, shift=2.0).values())
    assert plain.tolist() == [0., 0.] and shifted.tolist() == [2., 2.]
    (again, ), = [hidden.records(x, None, shift=3.0).values()]
    assert again.tolist() == [3., 3.]
