"""A comparison run: arms trained side by side on one teacher forward per
batch, each equal to the same student trained alone."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope

from mmkd.distillers import (ComparisonOptimWrapperConstructor,
                             DistillComparison, Distiller)
from tests.test_distillers.runner_utils import PIPELINE, distill_runner
from tests.utils import seg_batch, tiny_pspnet

CWD = dict(
    type='mmkd.ChannelWiseDivergence',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    loss_weight=5.0)
FEAT = dict(
    type='mmkd.ChannelWiseDivergence',
    student='backbone.layer2',
    teacher='backbone.layer2',
    connector=dict(
        type='mmkd.ChannelAlignConnector', in_channels=32, out_channels=64))
OPTIM = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))


def teacher_checkpoint(tmp_path):
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(tiny_pspnet(width=32))
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return str(path)


def comparison(ckpt, **arms):
    model = DistillComparison(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32), checkpoint=ckpt),
        arms=arms)
    model.init_weights()
    return model


def train(model, steps, optim):
    torch.manual_seed(0)  # the same random state before the first step
    for i in range(steps):
        model.train_step(seg_batch(seed=i), optim)


def test_each_arm_equals_its_student_trained_alone(tmp_path):
    ckpt = teacher_checkpoint(tmp_path)
    model = comparison(
        ckpt,
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD, loss_feat=FEAT)))
    plain = MODELS.build(tiny_pspnet(width=16))
    plain.load_state_dict(model.arms.plain.state_dict())
    alone = Distiller(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=32), checkpoint=ckpt),
        losses=dict(loss_cwd=CWD, loss_feat=FEAT))
    alone.load_state_dict(model.arms.cwd.state_dict())
    # the arms start from the same student weights
    for key, value in model.arms.plain.state_dict().items():
        assert torch.equal(value, model.arms.cwd.student.state_dict()[key])

    optim = ComparisonOptimWrapperConstructor(OPTIM)(model)
    assert set(optim.keys()) == {'plain', 'cwd'}
    train(model, 3, optim)
    train(
        plain, 3,
        OptimWrapper(
            torch.optim.SGD(plain.parameters(), lr=0.05, momentum=0.9)))
    train(
        alone, 3,
        OptimWrapper(
            torch.optim.SGD(alone.parameters(), lr=0.05, momentum=0.9)))
    for arm, solo in (('plain', plain), ('cwd', alone)):
        ours = model.arms[arm].state_dict()
        theirs = solo.state_dict()
        assert set(ours) == set(theirs)
        for key in ours:  # bit-identical, dropout included
            assert torch.equal(ours[key], theirs[key]), (arm, key)
    # and distillation made the two arms differ
    assert not torch.equal(model.arms.plain.decode_head.conv_seg.weight,
                           model.arms.cwd.student.decode_head.conv_seg.weight)


def test_arms_start_initialised_as_their_config_says(tmp_path):
    """The student's own initialisation (mmseg's init_cfg: ResNet's last BN
    of each block at 0, the classifier N(0, 0.01) with bias 0) reaches every
    arm, and so does an arm's inheritance from the teacher: mmengine's
    init_weights does not descend into a plain nn.ModuleDict, which once
    left every arm at PyTorch's default initialisation."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(tiny_pspnet(width=16))  # the student's shapes
    ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    model = DistillComparison(
        student=dict(model=tiny_pspnet(width=16)),
        teacher=dict(model=tiny_pspnet(width=16), checkpoint=str(ckpt)),
        arms=dict(
            plain=dict(),
            cwd=dict(losses=dict(loss_cwd=CWD)),
            inherit=dict(
                losses=dict(loss_cwd=CWD),
                student_init_from_teacher=dict(prefixes=['decode_head']))))
    model.init_weights()
    plain = model.student_of('plain').state_dict()
    assert torch.all(
        model.student_of('plain').backbone.layer1[0].bn2.weight == 0)
    assert torch.all(plain['decode_head.conv_seg.bias'] == 0)
    assert plain['decode_head.conv_seg.weight'].std() < 0.02
    for name in ('cwd', 'inherit'):  # the same start, but what is inherited
        for key, value in model.student_of(name).state_dict().items():
            if not (name == 'inherit' and key.startswith('decode_head')):
                assert torch.equal(value, plain[key]), (name, key)
    taught = model.student_of('inherit').decode_head.state_dict()
    for key, value in teacher.decode_head.state_dict().items():
        assert torch.equal(taught[key], value), key
    assert not torch.equal(plain['decode_head.conv_seg.weight'],
                           teacher.decode_head.conv_seg.weight)


def test_one_teacher_forward_per_step(tmp_path):
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD)),
        feat=dict(losses=dict(loss_feat=FEAT)))
    calls = []
    model.teachers['teacher'].model.backbone.register_forward_pre_hook(
        lambda *_: calls.append(1))
    optim = ComparisonOptimWrapperConstructor(OPTIM)(model)
    train(model, 3, optim)
    assert len(calls) == 3
    assert not any(k.startswith('teacher') for k in model.state_dict())


def test_runner_validates_every_arm(tmp_path):
    runner = distill_runner(
        tmp_path, {},
        iters=2,
        model=dict(
            type='mmkd.DistillComparison',
            student=dict(model=tiny_pspnet(width=16)),
            teacher=dict(
                model=tiny_pspnet(width=32),
                checkpoint=teacher_checkpoint(tmp_path)),
            arms=dict(plain=dict(), cwd=dict(losses=dict(loss_cwd=CWD)))),
        optim_wrapper=dict(
            constructor='mmkd.ComparisonOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2),
        val_cfg=dict(type='mmkd.ComparisonValLoop'),
        val_dataloader=dict(
            batch_size=1,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='mmkd.ShapesDataset',
                data_root=str(tmp_path / 'shapes'),
                split='val',
                pipeline=PIPELINE)),
        val_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']))
    runner.train()
    metrics = runner.val_loop.history[-1]['metrics']
    assert {'plain/mIoU', 'cwd/mIoU', 'plain/aAcc'} <= set(metrics)
    table = (tmp_path / 'work' / 'comparison.md').read_text()
    assert '| arm | aAcc | mIoU | mAcc |' in table
    assert f'| cwd | {metrics["cwd/aAcc"]:.2f} |' in table
    assert (tmp_path / 'work' / 'comparison.png').stat().st_size > 1000


def test_export_an_arm(tmp_path):
    from tests.utils import load_tool
    tool = load_tool('tools/export_student.py')
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_feat=FEAT)))
    src = tmp_path / 'iter_1.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), src)
    for arm, student in (('cwd', model.arms.cwd.student), ('plain',
                                                           model.arms.plain)):
        out = tool.export_student(str(src), str(tmp_path / f'{arm}.pth'),
                                  arm)['state_dict']
        assert out.keys() == student.state_dict().keys()  # no connector


def test_an_arm_changes_its_own_optimizer(tmp_path):
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD)))
    cfg = dict(
        OPTIM,
        clip_grad=None,
        arms=dict(cwd=dict(clip_grad=dict(max_norm=1e-6))))
    optim = ComparisonOptimWrapperConstructor(cfg)(model)
    assert not optim['plain'].clip_grad_kwargs
    assert optim['cwd'].clip_grad_kwargs == dict(max_norm=1e-6)
    before = [p.detach().clone() for p in model.arms.cwd.parameters()]
    train(model, 1, optim)
    moved = max((p.detach() - b).norm()
                for p, b in zip(model.arms.cwd.parameters(), before))
    assert moved <= 0.05 * 1e-6 * 1.01  # lr x the clipped gradient norm

    cfg['arms'] = dict(cwd_clip=dict(clip_grad=dict(max_norm=1.0)))
    with pytest.raises(
            KeyError, match=r"'cwd_clip'.*arms are \['plain', 'cwd'\]"):
        ComparisonOptimWrapperConstructor(cfg)(model)


def test_each_clipping_arm_logs_its_own_gradient_norm(tmp_path):
    """mmengine logs every clipping wrapper's norm as ``train/grad_norm``;
    the comparison logs it per arm instead, and leaves no unnamed one."""
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD)))
    cfg = dict(OPTIM, clip_grad=dict(max_norm=1e12))
    optim = ComparisonOptimWrapperConstructor(cfg)(model)
    torch.manual_seed(0)
    log = model.train_step(seg_batch(seed=0), optim)
    norms = {k: v.item() for k, v in log.items() if 'grad_norm' in k}
    assert set(norms) == {'plain/grad_norm', 'cwd/grad_norm'}
    # the CWD arm's gradient has the distillation term on top
    assert norms['plain/grad_norm'] > 0
    assert norms['cwd/grad_norm'] != norms['plain/grad_norm']
    for name in ('plain', 'cwd'):
        assert 'train/grad_norm' not in optim[name].message_hub.log_scalars
    # accumulating (no step, no clip, nothing logged) is not an error
    optim = ComparisonOptimWrapperConstructor(
        dict(cfg, accumulative_counts=2))(
            model)
    log = model.train_step(seg_batch(seed=1), optim)
    assert not [k for k in log if 'grad_norm' in k]


def test_an_arm_whose_loss_goes_non_finite_is_named_once(
        tmp_path, monkeypatch):
    from mmkd.distillers import comparison as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    model = comparison(
        teacher_checkpoint(tmp_path),
        plain=dict(),
        cwd=dict(losses=dict(loss_cwd=CWD)))
    optim = ComparisonOptimWrapperConstructor(OPTIM)(model)
    with torch.no_grad():
        model.arms.cwd.student.decode_head.conv_seg.bias.fill_(float('nan'))
    train(model, 2, optim)
    assert len(logged) == 1
    assert "arm 'cwd'" in logged[0] and 'loss_cwd' in logged[0]
    assert all(torch.isfinite(p).all() for p in model.arms.plain.parameters())
