"""The Distiller under ``torch.compile`` (docs/config.md, "torch.compile").

Backend ``aot_eager``: Dynamo's tracing (what happens to the taps' hooks and
to the teacher's StopForward) and AOTAutograd's joint forward/backward graphs
are the same as with Inductor, which only adds code generation; Inductor's
C++ compile of these graphs takes about 90 s on a 2-core CPU, aot_eager a
few seconds.
"""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers import Distiller
from tests.utils import seg_batch, tiny_pspnet

dynamo = pytest.importorskip('torch._dynamo')

LOSSES = dict(
    # the teacher stops early once both taps fired, inside its decode head
    loss_cwd=dict(
        type='mmkd.ChannelWiseDivergence',
        student='decode_head.conv_seg',
        teacher='decode_head.conv_seg',
        loss_weight=5.0),
    loss_feat=dict(
        type='mmkd.ChannelWiseDivergence',
        student='backbone.layer1',
        teacher='backbone.layer1',
        connector=dict(
            type='mmkd.ChannelAlignConnector', in_channels=8,
            out_channels=16)))


def _psp(width):
    cfg = tiny_pspnet(width=width)
    cfg['decode_head']['dropout_ratio'] = 0.0  # compiled RNG differs
    return cfg


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(_psp(16))
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    return str(path)


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    dynamo.reset()
    yield
    dynamo.reset()


def _build(ckpt):
    torch.manual_seed(0)
    return Distiller(
        student=dict(model=_psp(8)),
        teacher=dict(model=_psp(16), checkpoint=ckpt),
        losses=copy.deepcopy(LOSSES))


def _counting_backend(graphs):
    aot_eager = dynamo.lookup_backend('aot_eager')

    def backend(gm, example_inputs):
        graphs.append(gm)
        return aot_eager(gm, example_inputs)

    return backend


def _train(model, steps, train_step=None, scales=None):
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    train_step = train_step or model.train_step
    logs = []
    for i in range(steps):
        if scales is not None:
            model.distill_scale = scales[i]
        log = train_step(seg_batch(seed=i, size=(32, 32)), optim)
        logs.append({k: v.detach() for k, v in log.items()})
    return logs, [p.detach().clone() for p in model.student.parameters()]


def _assert_same(a, b):
    (logs_a, params_a), (logs_b, params_b) = a, b
    for la, lb in zip(logs_a, logs_b):
        for key in ('distill.loss_cwd', 'distill.loss_feat'):
            torch.testing.assert_close(la[key], lb[key], rtol=1e-5, atol=0)
    for pa, pb in zip(params_a, params_b):
        # fp32 rounding differs between the compiled and eager graphs
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_compiled_train_step_distils_as_eager(teacher_ckpt):
    # mmengine's `compile=True` (Runner._maybe_compile) does exactly this:
    # model.train_step = torch.compile(model.train_step, **cfg.compile)
    graphs = []
    model = _build(teacher_ckpt)
    compiled = _train(
        model, 2,
        torch.compile(model.train_step, backend=_counting_backend(graphs)))
    eager = _train(_build(teacher_ckpt), 2)
    no_kd = _train(_build(teacher_ckpt), 2, scales=[0.0, 0.0])
    assert graphs, 'nothing was compiled'
    assert all(log['distill.loss_cwd'] > 0 and log['distill.loss_feat'] > 0
               for log in compiled[0])
    _assert_same(compiled, eager)
    # the distillation gradient reached the student
    assert any(not torch.allclose(a, b) for a, b in zip(compiled[1], no_kd[1]))


def test_student_compiled_in_place_keeps_its_taps(teacher_ckpt, monkeypatch):
    # a tap inside a compiled module fires only if its hook existed when
    # Dynamo traced the module: here the first step has no taps
    # (distill_scale 0), so by default the next step misses them
    graphs = []
    model = _build(teacher_ckpt)
    model.student.backbone.compile(backend=_counting_backend(graphs))
    with pytest.raises(RuntimeError, match='never ran the tapped modules'):
        _train(model, 2, scales=[0.0, 1.0])
    assert graphs

    # with guards on module hooks, Dynamo recompiles once when the taps
    # appear, and the compiled student distils as the eager one does
    dynamo.reset()
    monkeypatch.setattr(dynamo.config, 'skip_nnmodule_hook_guards', False)
    model = _build(teacher_ckpt)
    model.student.backbone.compile(backend='aot_eager')
    scales = [0.0, 1.0, 1.0]
    _assert_same(
        _train(model, 3, scales=scales),
        _train(_build(teacher_ckpt), 3, scales=scales))
