# G2SD specific distillation (SD) for ADE20K segmentation: UPerNet with the
# generic stage's ViT-S (MMSegmentation's BEiT-style MAE backbone: relative
# position bias initialised at 0, layer scale 1.0, blocks [3, 5, 7, 11] ->
# Feature2Pyramid x4, x2, x1, x0.5) learns from MMSegmentation's UPerNet MAE
# ViT-B (48.13 mIoU) by CWD on the decode head's logits (decode_head.conv_seg,
# 150 classes at 1/4 resolution; tau 1, weight 3 as in G2SD_seg_dis/run.sh
# (its config says 10); cross-entropy form, whose value is the official log's
# and whose gradient equals the KL form's). Student losses kept: CE 1.0 +
# auxiliary FCN CE 0.4. Official recipe: AdamW lr 1e-4 (0.9, 0.999), wd 0.05
# (not on 1-D parameters), layer decay 0.65, poly (power 1) after a 1500-iter
# linear warm-up from 1e-6, 160k iterations, 8 GPUs x 2 images, AMP; slide
# inference 512 / 341.
#
# The generic-stage checkpoint enters through ONE field, the student
# backbone's init_cfg.checkpoint (MMSegmentation interpolates the 14x14
# position table to 32x32 when it loads it), after converting it:
#   python tools/convert/g2sd_to_backbone.py \
#       work_dirs/g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_8xb512-amp-300e_in1k/epoch_300.pth \
#       checkpoints/g2sd_vit-s_gd.pth
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

g2sd_backbone = 'checkpoints/g2sd_vit-s_gd.pth'
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/mae/upernet_mae-base_fp16_8x2_512x512_160k_ade20k/upernet_mae-base_fp16_8x2_512x512_160k_ade20k_20220426_174752-f92a2975.pth'  # noqa: E501
mae_upernet = 'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py'
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config=mae_upernet,
        model=dict(
            pretrained=None,
            backbone=dict(
                embed_dims=384,
                num_heads=6,
                init_cfg=dict(type='Pretrained', checkpoint=g2sd_backbone)),
            neck=dict(embed_dim=384),
            decode_head=dict(in_channels=[384, 384, 384, 384], channels=384),
            auxiliary_head=dict(in_channels=384))),
    teacher=dict(
        config=mae_upernet,
        model=dict(pretrained=None),
        checkpoint=teacher_ckpt),
    losses=dict(
        loss_cwd=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            tau=1.0,
            loss_weight=3.0,
            form='ce')))

train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,  # the schedule base's SGD
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmkd.ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65, num_layers=12, flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False)
]

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
