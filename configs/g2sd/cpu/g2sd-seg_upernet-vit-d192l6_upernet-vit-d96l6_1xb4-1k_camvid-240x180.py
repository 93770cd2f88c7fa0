# CPU toy, step 4b: G2SD specific distillation on CamVid: the step-4a
# student learns from the step-3 teacher by CWD on the decode head's logits
# (tau 1, weight 3, cross-entropy form), as in the ADE20K config. The
# student backbone starts from the generic stage through
# model.student.model.backbone.init_cfg.checkpoint; without it (from
# scratch): --cfg-options model.student.model.backbone.init_cfg=None
#   python tools/train.py configs/g2sd/cpu/g2sd-seg_upernet-vit-d192l6_upernet-vit-d96l6_1xb4-1k_camvid-240x180.py
_base_ = [
    '../../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(
    imports=['mmkd', 'mmpretrain.models'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
teacher_ckpt = 'work_dirs/upernet_vit-d192l6-p8_1xb4-1k_camvid-240x180/iter_1000.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config='mmkd::g2sd/cpu/upernet_vit-d96l6-p8_1xb4-1k_camvid-240x180.py'
    ),
    teacher=dict(
        config='mmkd::g2sd/cpu/upernet_vit-d192l6-p8_1xb4-1k_camvid-240x180.py',  # noqa: E501
        checkpoint=teacher_ckpt),
    losses=dict(
        loss_cwd=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            tau=1.0,
            loss_weight=3.0,
            form='ce')))
optim_wrapper = dict(
    _delete_=True,  # the CPU schedule's SGD
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmkd.ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65, num_layers=6, flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=50,
        end=1000,
        by_epoch=False)
]
randomness = dict(seed=0)

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
