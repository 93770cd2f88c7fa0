# G2SD specific distillation (SD) for ImageNet classification: the ViT-S of
# the generic stage, with a DeiT distillation token (appended last, no
# position embedding: mmkd.G2SDDistilledViT), learns from a fine-tuned MAE
# ViT-B (MMPretrain's, 83.5 % top-1; the official 83.6 % one needs
# converting) with DeiT's hard-label distillation on the same mixed images:
#   L = 0.5 * CE_soft(head(cls), mixup/cutmix labels, smoothing 0.1)
#     + 0.5 * CE(head_dist(dist), argmax teacher(mixed images))
# Prediction: mean of the two heads. Official recipe (G2SD/SD.sh): 8 x 128,
# lr 4e-3 (1e-3 x 1024 / 256), AdamW (0.9, 0.999), wd 0.05 (not on 1-D
# parameters, cls/pos/dist tokens), layer decay 0.75, 200 epochs, 5 warm-up,
# cosine to 1e-6, drop path 0, RandAug m9-mstd0.5, random erasing 0.25, AMP.
#
# The generic-stage checkpoint enters through ONE field, the student
# backbone's init_cfg.checkpoint, after converting it to a plain ViT:
#   python tools/convert/g2sd_to_backbone.py \
#       work_dirs/g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_8xb512-amp-300e_in1k/epoch_300.pth \
#       checkpoints/g2sd_vit-s_gd.pth
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
data_preprocessor = None  # the student's below (a Distiller takes no other)

g2sd_backbone = 'checkpoints/g2sd_vit-s_gd.pth'
teacher_ckpt = 'https://download.openmmlab.com/mmselfsup/1.x/mae/mae_vit-base-p16_8xb512-fp16-coslr-1600e_in1k/vit-base-p16_ft-8xb128-coslr-100e_in1k/vit-base-p16_ft-8xb128-coslr-100e_in1k_20220825-cf70aa21.pth'  # noqa: E501
student = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='mmkd.G2SDDistilledViT',
        arch='deit-small',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.0,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint=g2sd_backbone)),
    neck=None,
    head=dict(
        type='mmkd.G2SDDeiTClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=0.5),
        # timm's 0.02 for both heads, then 2e-5 for the class head alone
        # (official main_finetune_dis.py)
        init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
        head_init_std=2e-5),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
model = dict(
    type='mmkd.Distiller',
    student=dict(model=student, scope='mmpretrain'),
    teacher=dict(
        config='mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py',  # noqa: E501
        checkpoint=teacher_ckpt),
    losses=dict(
        loss_hard=dict(
            type='mmkd.DeiTHardDistillLoss',
            student='head.layers.head_dist',
            teacher='head.fc',
            loss_weight=0.5)))

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=4e-3, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmkd.ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        num_layers=12,
        flat_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
            '.dist_token': dict(decay_mult=0.0)
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=195,
        eta_min=1e-6,
        by_epoch=True,
        begin=5,
        end=200,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
auto_scale_lr = dict(base_batch_size=1024)

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
