"""ProC-KD: PLM, TAFA, the loss through the Distiller on a segmentor, a
detector and a classifier with an MMPretrain teacher of another label
space, deploy_tafa and the export (spec prockd.md)."""
import copy
import math

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmkd.distillers import Distiller
from mmkd.losses import (ProCKDLoss, PrototypeLearning, TaskAdaptiveAugment,
                         logit_transfer)
from tests.utils import det_batch, seg_batch, tiny_pspnet


def vit_teacher(out_type='featmap', img_size=64, head=False):
    """A tiny MMPretrain ViT (another library, another normalisation); as a
    teacher without its classifier, which ProC-KD never uses."""
    return dict(
        type='ImageClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor',
            mean=[127.5] * 3,
            std=[127.5] * 3,
            to_rgb=True),
        backbone=dict(
            type='VisionTransformer',
            arch=dict(
                embed_dims=24,
                num_layers=3,
                num_heads=2,
                feedforward_channels=48),
            img_size=img_size,
            patch_size=8,
            out_indices=(0, 1, 2),
            out_type=out_type),
        head=dict(
            type='VisionTransformerClsHead', num_classes=10, in_channels=24)
        if head else None)


TEACHER = dict(model=vit_teacher(), scope='mmpretrain', preprocessing='own')


def seg_distiller(**loss):
    cfg = dict(
        type='mmkd.ProCKDLoss',
        student='backbone',
        teacher='backbone',
        student_channels=64,
        teacher_channels=[24, 24, 24],
        student_level=3,
        num_prototypes=6,
        logits_module='decode_head.conv_seg')
    cfg.update(loss)
    student = loss.pop('student_model', None) or dict(
        model=tiny_pspnet(width=8), scope='mmseg')
    cfg.pop('student_model', None)
    model = Distiller(
        student=student,
        teacher=TEACHER,
        load_teacher_checkpoint=False,
        losses=dict(loss_prockd=cfg))
    model.init_weights()
    return model.train()


def wrapped_spec(**kwargs):
    """A tiny PSPNet in mmkd.ProCKDStudent, TAFA on its last backbone
    level."""
    spec = dict(
        type='mmkd.ProCKDStudent',
        model=tiny_pspnet(width=8),
        site='backbone',
        level=3,
        channels=64,
        num_prototypes=6)
    spec.update(kwargs)
    return spec


def wrapped_student(**kwargs):
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(wrapped_spec(**kwargs))


def tiny_retinanet():
    return dict(
        type='mmdet.RetinaNet',
        data_preprocessor=dict(
            type='mmdet.DetDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_size_divisor=32),
        backbone=dict(
            type='mmdet.ResNet',
            depth=18,
            base_channels=8,
            out_indices=(1, 2, 3)),
        neck=dict(
            type='mmdet.FPN',
            in_channels=[16, 32, 64],
            out_channels=16,
            add_extra_convs='on_input',
            num_outs=4),
        bbox_head=dict(
            type='mmdet.RetinaHead',
            num_classes=3,
            in_channels=16,
            stacked_convs=1,
            feat_channels=16,
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[0.5, 1.0, 2.0],
                strides=[8, 16, 32, 64]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[.0] * 4,
                target_stds=[1.0] * 4),
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25),
            loss_bbox=dict(type='L1Loss')),
        train_cfg=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.4,
                min_pos_iou=0),
            sampler=dict(type='PseudoSampler'),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        test_cfg=dict(
            nms_pre=100,
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=10))


def step(model, batch, lr=1e-3):
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr))
    return model.train_step(batch, optim)


# --- modules ------------------------------------------------------------
def test_plm_shapes_assignments_and_w_g_size():
    plm = PrototypeLearning(in_channels=12, dim=8, num_prototypes=5)
    z, a = plm(torch.randn(2, 30, 12), torch.rand(5, 8))
    assert z.shape == (2, 30, 8) and a.shape == (2, 5, 30)
    torch.testing.assert_close(a.sum(1), torch.ones(2, 30))
    assert (z >= 0).all()  # the fusion MLP ends with a ReLU
    # W_g: K*D*D weights + D biases (spec §5.7: 42,467,328 + 768 at 72, 768)
    assert plm.vlad_fc.weight.numel() == 5 * 8 * 8
    assert 72 * 768 * 768 == 42_467_328


def test_plm_and_tafa_in_float64_pass_gradcheck():
    """Double precision stays double (the fp32 normalisation is for half
    types): gradcheck of the PLM and of TAFA's prototype attention."""
    torch.manual_seed(0)
    plm = PrototypeLearning(in_channels=6, dim=4, num_prototypes=3).double()
    tokens = torch.randn(1, 5, 6, dtype=torch.float64, requires_grad=True)
    centers = torch.rand(3, 4, dtype=torch.float64)
    z, a = plm(tokens, centers)
    assert z.dtype == a.dtype == torch.float64
    assert torch.autograd.gradcheck(lambda x: plm(x, centers)[0], (tokens, ))
    tafa = TaskAdaptiveAugment(4, num_prototypes=3).double()
    y = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    assert tafa(y)[1].dtype == torch.float64
    assert torch.autograd.gradcheck(lambda x: tafa(x)[0], (y, ))


def test_tafa_properties():
    torch.manual_seed(0)
    tafa = TaskAdaptiveAugment(8, num_prototypes=4)
    y = torch.randn(2, 10, 8)
    out, w = tafa(y)
    assert out.shape == y.shape and (out >= 0).all()
    torch.testing.assert_close(w.sum(1), torch.ones(2, 10))
    assert ((tafa.prototypes >= 0) & (tafa.prototypes < 1)).all()  # U[0,1)
    # psi's last layer zeroed: TAFA(y) == ReLU(y) (the residual identity)
    nn.init.zeros_(tafa.mlp[2].weight)
    nn.init.zeros_(tafa.mlp[2].bias)
    torch.testing.assert_close(tafa(y)[0], torch.relu(y))
    maps = torch.randn(2, 8, 3, 5)
    torch.testing.assert_close(tafa.augment(maps), torch.relu(maps))


def test_logit_transfer_hand_values():
    s = torch.zeros(1, 2)
    t = torch.tensor([[math.log(3.), 0.]])
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert logit_transfer(s, t).item() == pytest.approx(kl, abs=1e-6)
    ce = -(0.75 + 0.25) * math.log(0.5)
    assert logit_transfer(s, t, 'soft_ce').item() == pytest.approx(ce, 1e-6)
    # sigmoid: one binary KL per element, summed over channels
    s4, t4 = torch.zeros(1, 2, 1, 1), torch.full((1, 2, 1, 1), math.log(3.))
    assert logit_transfer(s4, t4, activation='sigmoid').item() == \
        pytest.approx(2 * kl, abs=1e-6)
    assert logit_transfer(t4, t4, tau=2.0).item() == pytest.approx(0, abs=1e-7)


# --- through the Distiller ---------------------------------------------
def test_segmentation_gradients_reach_every_part_and_not_the_teacher():
    torch.manual_seed(0)
    model = seg_distiller()
    loss = model.distill_losses['loss_prockd'].loss
    assert 'student' not in dict(loss.named_modules())  # plain reference
    batch = seg_batch(size=(64, 64))
    losses = model.loss(*model.data_preprocessor(batch, True).values())
    keys = {k for k in losses if k.startswith('distill.')}
    assert keys == {
        'distill.loss_prockd_aug_ce', 'distill.loss_prockd_transfer',
        'distill.loss_prockd_assign_peak'
    }
    total, _ = model.parse_losses(losses)
    total.backward()
    for name, p in loss.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.teacher.parameters())
    # the head trains on both paths; the student's backbone on its own
    assert model.student.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_deep_copy_binds_the_copy_to_its_own_student():
    """mmengine's EMAHook deep-copies the model: the copy's loss must run
    the copy's student, and the copy trains."""
    torch.manual_seed(0)
    model = seg_distiller()
    twin = copy.deepcopy(model)
    loss = twin.distill_losses['loss_prockd'].loss
    assert loss._bound()[0] is twin.student
    original = model.distill_losses['loss_prockd'].loss._recorder
    original.calls.append('marker')
    twin.student.backbone(torch.zeros(1, 3, 32, 32))  # clears its own
    assert original.calls == ['marker']
    log = step(twin, seg_batch(size=(64, 64)))
    assert math.isfinite(float(log['distill.loss_prockd_transfer'].detach()))


def test_transfer_is_zero_when_the_paths_agree():
    """Same logits on both paths give a zero KL: the plain and teacher-path
    logits are the right two calls of the logits module."""
    torch.manual_seed(0)
    model = seg_distiller()
    loss = model.distill_losses['loss_prockd'].loss
    # TAFA's output = the student's own level: make PLM+TAFA an identity
    # on the student's features by running the loss on them directly.
    batch = model.data_preprocessor(seg_batch(size=(64, 64)), True)
    student = model.student
    student.decode_head.dropout.p = 0.
    feats = student.extract_feat(batch['inputs'])
    student.decode_head.loss(feats, batch['data_samples'], student.train_cfg)
    plain = loss._recorder.calls[0]
    student.decode_head.loss(feats, batch['data_samples'], student.train_cfg)
    assert torch.equal(loss._logits(1)[1], plain)
    assert logit_transfer(plain, loss._logits(1)[1]).item() == \
        pytest.approx(0, abs=1e-6)
    loss._recorder.calls.clear()


def test_bf16_autocast_gives_fp32_finite_losses():
    torch.manual_seed(0)
    model = seg_distiller()
    batch = model.data_preprocessor(seg_batch(size=(64, 64)), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(batch['inputs'], batch['data_samples'])
    for key in ('distill.loss_prockd_transfer', 'distill.loss_prockd_aug_ce'):
        assert losses[key].dtype == torch.float32, key
        assert math.isfinite(losses[key].item()), key


@pytest.mark.parametrize('transfer', ['soft_ce', 'feat_mse'])
def test_transfer_switches(transfer):
    torch.manual_seed(0)
    model = seg_distiller(transfer=transfer, gamma=2.0)
    log = step(model, seg_batch(size=(64, 64)))
    assert math.isfinite(float(log['distill.loss_prockd_transfer'].detach()))


def test_detection_retinanet():
    torch.manual_seed(0)
    model = Distiller(
        student=dict(model=tiny_retinanet(), scope='mmdet'),
        teacher=TEACHER,
        load_teacher_checkpoint=False,
        losses=dict(
            loss_prockd=dict(
                type='mmkd.ProCKDLoss',
                student='neck',
                teacher='backbone',
                student_channels=16,
                teacher_channels=[24, 24, 24],
                student_level=0,
                num_prototypes=6,
                logits_module='bbox_head.retina_cls',
                logit_activation='sigmoid')))
    model.init_weights()
    model.train()
    # the first image has no box: only the task losses see it
    log = step(model, det_batch(size=(64, 64), num_boxes=(0, 2)))
    assert {
        'distill.loss_prockd_aug_cls', 'distill.loss_prockd_aug_bbox',
        'distill.loss_prockd_transfer'
    } <= set(log)
    assert all(math.isfinite(float(v.detach())) for v in log.values())
    assert not hasattr(model.student, 'extract_feat') or \
        'extract_feat' not in model.student.__dict__  # restored


def test_classification_code_faithful():
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    student = vit_teacher(out_type='cls_token', img_size=32, head=True)
    student['backbone']['out_indices'] = -1
    teacher = dict(
        model=vit_teacher(out_type='raw', img_size=32), scope='mmpretrain')
    model = Distiller(
        student=dict(model=student, scope='mmpretrain'),
        teacher=teacher,
        load_teacher_checkpoint=False,
        losses=dict(
            loss_prockd=dict(
                type='mmkd.ProCKDLoss',
                student='backbone.layers.2',
                teacher='backbone',
                student_channels=24,
                teacher_channels=[24, 24, 24],
                num_prototypes=6,
                logits_module='head.layers.head')))
    model.init_weights()
    model.train()
    batch = dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)] * 2,
        data_samples=[DataSample().set_gt_label(i) for i in (1, 7)])
    log = step(model, batch)
    assert {'distill.loss_prockd_aug', 'distill.loss_prockd_transfer'} <= \
        set(log)
    assert all(math.isfinite(float(v.detach())) for v in log.values())


def test_export_keys(tmp_path):
    """deploy_tafa=False: the exported student has exactly the plain
    student's keys; True: plus the wrapper's TAFA and bank."""
    import sys
    sys.path.insert(0, 'tools')
    from export_student import export_student
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        plain = MODELS.build(tiny_pspnet(width=8))
    for deploy in (False, True):
        student = None
        if deploy:
            student = dict(model=wrapped_spec(), scope='mmseg')
        model = seg_distiller(
            deploy_tafa=deploy,
            student_model=student,
            student='model.backbone' if deploy else 'backbone')
        step(model, seg_batch(size=(64, 64)))
        # resume: a fresh Distiller takes the whole state strictly
        fresh = seg_distiller(
            deploy_tafa=deploy,
            student_model=student,
            student='model.backbone' if deploy else 'backbone')
        fresh.load_state_dict(model.state_dict())
        prefix = 'student.tafa' if deploy else \
            'distill_losses.loss_prockd.loss.tafa'
        assert torch.equal(fresh.state_dict()[prefix + '.prototypes'],
                           model.state_dict()[prefix + '.prototypes'])
        src = tmp_path / f'distill_{deploy}.pth'
        torch.save(dict(state_dict=model.state_dict()), src)
        out = export_student(str(src), str(tmp_path / f'student_{deploy}.pth'))
        keys = set(out['state_dict'])
        if not deploy:
            assert keys == set(plain.state_dict())
        else:
            assert keys == {'model.' + k
                            for k in plain.state_dict()} | {
                                'tafa.prototypes', 'tafa.enc.weight',
                                'tafa.enc.bias', 'tafa.mlp.0.weight',
                                'tafa.mlp.0.bias', 'tafa.mlp.2.weight',
                                'tafa.mlp.2.bias'
                            }


def test_deploy_tafa_student_applies_tafa_at_inference():
    torch.manual_seed(0)
    wrapped = wrapped_student().eval()
    x = torch.randn(1, 3, 32, 32)
    feats = wrapped.model.extract_feat(x)
    expected = wrapped.model.decode_head.forward(
        feats[:3] + (wrapped.tafa.augment(feats[3]), ))
    torch.testing.assert_close(wrapped(x, mode='tensor'), expected)
    # the hook exists only during the wrapper's own calls
    assert not wrapped.model.backbone._forward_hooks


def test_predict_from_chooses_the_inference_path():
    """P5: 'z' the plain path, 'z_aug' through TAFA, 'mean' the mean of the
    two paths' logits (tensor and predict modes)."""
    from mmengine.config import ConfigDict
    torch.manual_seed(0)
    base = wrapped_student().eval()
    x = torch.randn(2, 3, 32, 32)
    plain, aug = base.model(x, mode='tensor'), base(x, mode='tensor')
    assert not torch.allclose(plain, aug)
    models = {}
    for name, expected in (('z', plain), ('z_aug', aug), ('mean',
                                                          (plain + aug) / 2)):
        model = wrapped_student(
            predict_from=name, logits_module='decode_head.conv_seg').eval()
        model.load_state_dict(base.state_dict())
        torch.testing.assert_close(model(x, mode='tensor'), expected)
        models[name] = model
    batch = seg_batch(size=(32, 32))
    logits = {}
    for name, model in models.items():
        model.model.test_cfg = ConfigDict(mode='whole')  # as from a config
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        logits[name] = torch.stack(
            [s.seg_logits.data for s in model.predict(**data)])
    torch.testing.assert_close(logits['mean'],
                               (logits['z'] + logits['z_aug']) / 2)
    assert not base.model.backbone._forward_hooks
    assert not base.model.decode_head.conv_seg._forward_hooks


def test_predict_from_trains_the_plain_path_and_tafa_on_the_teacher_path():
    student = dict(model=wrapped_spec(predict_from='z_aug'), scope='mmseg')
    model = seg_distiller(
        deploy_tafa=True, student_model=student, student='model.backbone')
    batch = seg_batch(size=(64, 64))
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    torch.manual_seed(1)  # the decode head's dropout
    own = model.student.loss(data['inputs'], data['data_samples'])
    torch.manual_seed(1)
    plain = model.student.model.loss(data['inputs'], data['data_samples'])
    torch.testing.assert_close(own['decode.loss_ce'], plain['decode.loss_ce'])
    before = model.student.tafa.prototypes.detach().clone()
    log = step(model, batch, lr=0.1)
    assert 'distill.loss_prockd_aug_ce' in log
    assert not torch.equal(before, model.student.tafa.prototypes)


def test_teacher_at_its_own_input_size():
    """mmkd.ResizedInputClassifier: the teacher's backbone sees the batch
    resized (short side 32 here), loads an ImageClassifier state dict, and
    the loss resamples its maps to the student's grid."""
    from mmengine.registry import MODELS, DefaultScope
    cfg = vit_teacher()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        plain = MODELS.build(cfg)
        resized = MODELS.build(
            dict(cfg, type='mmkd.ResizedInputClassifier', input_short_side=32))
    resized.load_state_dict(plain.state_dict())  # same keys
    feats = resized.extract_feat(torch.randn(1, 3, 64, 96), stage='backbone')
    assert feats[0].shape == (1, 24, 4, 6)  # 32 x 48 input, patch 8
    assert resized.target_size(50, 100) == (32, 64)
    with pytest.raises(ValueError, match='exactly one'):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            MODELS.build(dict(cfg, type='mmkd.ResizedInputClassifier'))
    torch.manual_seed(0)
    teacher = dict(
        TEACHER,
        model=dict(
            vit_teacher(),
            type='mmkd.ResizedInputClassifier',
            input_short_side=32))
    model = Distiller(
        student=dict(model=tiny_pspnet(width=8), scope='mmseg'),
        teacher=teacher,
        load_teacher_checkpoint=False,
        losses=dict(
            loss_prockd=dict(
                type='mmkd.ProCKDLoss',
                student='backbone',
                teacher='backbone',
                student_channels=64,
                teacher_channels=[24, 24, 24],
                student_level=3,
                num_prototypes=6,
                logits_module='decode_head.conv_seg')))
    model.init_weights()
    log = step(model.train(), seg_batch(size=(64, 64)))
    assert math.isfinite(float(log['distill.loss_prockd_aug_ce'].detach()))


def test_errors():
    with pytest.raises(RuntimeError, match='bind_student'):
        ProCKDLoss(
            8, [4], logits_module='x')(torch.randn(1, 8, 2, 2),
                                       (torch.randn(1, 4, 2, 2), ))
    with pytest.raises(ValueError, match='logits_module'):
        ProCKDLoss(8, [4])
    with pytest.raises(ValueError, match='nothing to train'):
        ProCKDLoss(8, [4], logits_module='x', teacher_path_task_loss=False)
    with pytest.raises(ValueError, match='a field of the student'):
        ProCKDLoss(8, [4], logits_module='x', predict_from='mean')
    with pytest.raises(KeyError, match='conv_seg'):
        wrapped_student(predict_from='mean', logits_module='decode_head.conv')
    with pytest.raises(ValueError, match="'z', 'z_aug' or 'mean'"):
        wrapped_student(predict_from='zaug')
    with pytest.raises(ValueError, match='mmkd.ProCKDStudent'):
        seg_distiller(deploy_tafa=True)
    wrapped = dict(model=wrapped_spec(level=2), scope='mmseg')
    with pytest.raises(ValueError, match='student_level=3'):
        seg_distiller(
            deploy_tafa=True, student_model=wrapped, student='model.backbone')
    with pytest.raises(KeyError, match='conv_seg'):
        seg_distiller(logits_module='decode_head.conv_segg')
    model = seg_distiller(teacher_channels=[24, 24, 32])
    with pytest.raises(ValueError, match='teacher_channels'):
        step(model, seg_batch(size=(64, 64)))
    model = seg_distiller(student_channels=32)
    with pytest.raises(ValueError, match='student_channels'):
        step(copy.deepcopy(model), seg_batch(size=(64, 64)))
