"""DistillHealthHook and loss_balance: the figures equal torch.autograd.grad
by hand, the warnings fire on constructed runs and not on healthy ones, and
the balance's scales survive resume."""
import logging
import math

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from mmkd.distillers import Distiller
from mmkd.distillers.health import LossBalance, gradient_health
from mmkd.hooks import DistillHealthHook
from tests.test_distillers.runner_utils import CaptureOutputs, distill_runner
from tests.utils import seg_batch, tiny_pspnet

CWD = dict(
    type='mmkd.ChannelWiseDivergence',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    loss_weight=5.0)
BPKD = dict(
    type='mmkd.BPKDLoss',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    edge_weight=50.0,
    body_weight=20.0,
    kernel_size=3,
    ignore_index=255)


def test_gradient_health_equals_autograd_by_hand():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    feat = x * 2  # the tap: a non-leaf tensor both losses read
    task = (feat.sin()).mean()
    term = 3 * (feat - 1).square().mean()
    out = gradient_health(task, dict(t=term), dict(t=[feat]))['t']
    g_term, = torch.autograd.grad(term, feat, retain_graph=True)
    g_task, = torch.autograd.grad(task, feat, retain_graph=True)
    assert out['grad_norm'] == pytest.approx(g_term.norm().item(), rel=1e-6)
    assert out['task_grad_norm'] == pytest.approx(
        g_task.norm().item(), rel=1e-6)
    assert out['ratio'] == pytest.approx(
        (g_term.norm() / g_task.norm()).item(), rel=1e-6)
    cos = torch.nn.functional.cosine_similarity(
        g_term.flatten(), g_task.flatten(), dim=0)
    assert out['cos'] == pytest.approx(cos.item(), rel=1e-6)
    assert out['value'] == pytest.approx(term.item())
    assert x.grad is None  # nothing accumulated


def test_gradient_health_unused_and_tuple_records():
    a = torch.randn(3, requires_grad=True) * 1
    b = torch.randn(3, requires_grad=True) * 1
    task = a.sum() + b.sum()
    term = (2 * b).sum()
    out = gradient_health(task, dict(t=term), dict(t=[a, b]))['t']
    assert out['grad_norm'] == pytest.approx(2 * math.sqrt(3))
    assert out['task_grad_norm'] == pytest.approx(math.sqrt(6))
    assert out['cos'] == pytest.approx(2 * 3 / (2 * math.sqrt(3) * 6**0.5))


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(tiny_pspnet(width=32))
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    return str(path)


def build(ckpt, losses, **kwargs):
    return Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32), checkpoint=ckpt),
        losses=losses,
        **kwargs)


def test_distiller_health_matches_hand_gradients(teacher_ckpt):
    """The Distiller's figures are those of autograd.grad on its own term,
    task loss and tap, and the training step is unchanged by the check."""
    model = build(teacher_ckpt, dict(loss_cwd=CWD))
    model.train()
    data = model.data_preprocessor(seg_batch(), True)
    entry = model.distill_losses['loss_cwd']
    torch.manual_seed(0)
    teacher = model._teacher_records(data['inputs'], data['data_samples'])
    with model.student_taps:
        student_losses = model.student.loss(data['inputs'],
                                            data['data_samples'])
    logits = model.student_taps.pop()[entry.student_tap]
    term = entry(logits, teacher[entry.teacher_tap], None)
    task = sum(v for k, v in student_losses.items() if 'loss' in k)
    g_term, = torch.autograd.grad(term, logits, retain_graph=True)
    g_task, = torch.autograd.grad(task, logits)

    model.health_check = 'params'
    torch.manual_seed(0)
    losses = model(**data, mode='loss')
    row = model.health['distill.loss_cwd']
    assert row['grad_norm'] == pytest.approx(g_term.norm().item(), rel=1e-5)
    assert row['task_grad_norm'] == pytest.approx(
        g_task.norm().item(), rel=1e-5)
    assert row['ratio'] == pytest.approx(
        (g_term.norm() / g_task.norm()).item(), rel=1e-5)
    assert 'param_ratio' in row and row['param_grad_norm'] > 0
    assert all(p.grad is None for p in model.parameters())
    assert losses['distill.loss_cwd'].item() == pytest.approx(term.item())


def test_balance_scales_terms_from_the_first_step_then_fixes(teacher_ckpt):
    model = build(
        teacher_ckpt,
        dict(loss_bpkd=BPKD),
        loss_balance=dict(warmup_iters=2, target=0.5))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    model.health_check = 'taps'
    model.train_step(seg_batch(), optim)
    # the first step is scaled by its own measurement: ratio == target
    for key, row in model.health.items():
        assert row['ratio'] == pytest.approx(0.5, rel=1e-6), key
        assert 0 < row['balance_scale'] < 1, key
    model.health_check = None
    model.train_step(seg_batch(), optim)
    scales = dict(model.loss_balance.scales)
    assert set(scales) == {'distill.loss_bpkd_edge', 'distill.loss_bpkd_body'}
    model.health_check = 'taps'
    model.train_step(seg_batch(), optim)  # lr 0: the same model measured
    for key, row in model.health.items():
        assert row['balance_scale'] == scales[key]
        assert row['ratio'] > 0
    # saved in the state dict, restored into a new model
    state = model.state_dict()
    other = build(
        teacher_ckpt,
        dict(loss_bpkd=BPKD),
        loss_balance=dict(warmup_iters=2, target=0.5))
    assert other.loss_balance.scales is None
    other.load_state_dict(state)
    assert other.loss_balance.scales == scales
    assert other.loss_balance.steps == 2


def test_balance_divides_out_the_schedule_factor():
    """Measured at a DistillScheduleHook factor of 0.5, a term's ratio is
    that of the unscheduled term halved: the fixed scale is target / the
    unscheduled ratio, and the schedule then multiplies it."""
    balance = LossBalance(warmup_iters=1, target=2.0)
    assert balance.scale('distill.a') == 0.0  # held out while measuring
    balance.observe(dict(a=dict(ratio=5.0)), ['a'], schedule=0.5)
    assert balance.scales == dict(a=0.2)
    keyed = LossBalance(warmup_iters=1, target={'a': 1.0})
    assert keyed.scale('b') == 1.0  # not balanced: applied from the start


def test_balance_validates():
    with pytest.raises(ValueError, match='warmup_iters'):
        LossBalance(warmup_iters=0)
    with pytest.raises(ValueError, match='target'):
        LossBalance(target=-1)


def warnings_of(caplog_records):
    return [
        r.getMessage() for r in caplog_records
        if 'DistillHealthHook' in r.getMessage()
    ]


def run_with_hook(tmp_path, losses, iters, hook, **cfg):
    runner = distill_runner(
        tmp_path,
        losses,
        iters=iters,
        custom_hooks=[dict(type='mmkd.DistillHealthHook', **hook)],
        **cfg)
    capture = CaptureOutputs()
    runner.register_hook(capture)
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    MMLogger.get_current_instance().addHandler(handler)
    try:
        runner.train()
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    return runner, [m for m in messages if 'DistillHealthHook' in m]


def test_ratio_warning_fires_on_an_overweighted_term(tmp_path):
    heavy = dict(loss_cwd=dict(CWD, loss_weight=1e4))
    runner, warned = run_with_hook(tmp_path, heavy, 3,
                                   dict(interval=1, patience=2))
    assert any(
        "'distill.loss_cwd'" in m and 'x the task' in m and 'loss_weight' in m
        for m in warned), warned
    scalars = runner.message_hub.log_scalars
    # no 'loss' in the keys: mmengine would average them over its window
    assert not any('loss' in k for k in scalars if '/health/' in k)
    assert 'train/health/cwd/ratio' in scalars
    assert scalars['train/health/cwd/ratio'].current() > 30


def test_no_warning_on_a_light_term(tmp_path):
    light = dict(loss_cwd=dict(CWD, loss_weight=1e-3))
    _, warned = run_with_hook(tmp_path, light, 3, dict(interval=1, patience=2))
    assert warned == []


def test_cosine_nonfinite_collapse_and_mask_judgements():
    """The judgements on constructed figures (no training needed)."""
    hook = DistillHealthHook(patience=2)

    class Run:
        iter = 7

    class Arm:

        def weight_arg(self, key):
            return 'losses.loss_x.loss_weight'

    messages = []
    hook._warn = lambda term, kind, msg: messages.append((term, kind, msg))
    row = dict(value=1.0, grad_norm=1.0, ratio=1.0, cos=-0.9)
    hook._judge(Run, Arm(), 't', 'distill.t', row, task=1.0)
    assert not messages  # one check is not a streak
    hook._judge(Run, Arm(), 't', 'distill.t', row, task=1.0)
    assert [k for _, k, _ in messages] == ['cos']
    messages.clear()
    hook._judge(
        Run,
        Arm(),
        'n',
        'distill.n',
        dict(value=math.nan, grad_norm=math.nan, ratio=math.nan, cos=math.nan),
        task=1.0)
    assert [k for _, k, _ in messages] == ['finite']
    messages.clear()
    healthy = dict(value=2.0, grad_norm=1.0, ratio=1.0, cos=0.5)
    hook._judge(Run, Arm(), 'c', 'distill.c', healthy, task=1.0)
    for _ in range(2):
        hook._judge(
            Run, Arm(), 'c', 'distill.c', dict(healthy, value=1e-8), task=0.9)
    assert [k for _, k, _ in messages] == ['collapse']
    assert 'detach_masks_in_loss' in messages[0][2]
    messages.clear()
    for _ in range(2):
        hook._judge_mask(Run, 'distill.loss_acam_l0_mask_s_mean', 1e-4)
    assert [k for _, k, _ in messages] == ['mask']
    messages.clear()
    for _ in range(3):
        hook._judge_mask(Run, 'distill.loss_acam_l1_mask_s_mean', 0.4)
    assert not messages


def test_runner_resume_restores_the_balance(tmp_path):
    """The scales fixed after the warm-up are in the checkpoint, and a
    resumed run continues with them (it does not measure again)."""
    losses = dict(loss_cwd=CWD)
    balance = dict(warmup_iters=2, target=0.5)
    checkpoint = dict(
        checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))
    first = distill_runner(
        tmp_path / 'a',
        losses,
        iters=3,
        default_hooks=checkpoint,
        model_overrides=dict(loss_balance=balance))
    first.train()
    scales = first.model.loss_balance.scales
    assert set(scales) == {'distill.loss_cwd'} and scales['distill.loss_cwd']
    saved = torch.load(
        tmp_path / 'a' / 'work' / 'iter_3.pth', weights_only=False)
    assert saved['state_dict']['loss_balance._extra_state']['scales'] == \
        scales
    resumed = distill_runner(
        tmp_path / 'a',
        losses,
        iters=3,
        default_hooks=checkpoint,
        model_overrides=dict(loss_balance=balance),
        resume=True,
        load_from=str(tmp_path / 'a' / 'work' / 'iter_3.pth'))
    resumed.train()
    assert resumed.model.loss_balance.scales == scales
    assert resumed.model.loss_balance.steps == 2
