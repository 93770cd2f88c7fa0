# CPU toy, step 3: the segmentation teacher. UPerNet on CamVid (11 classes)
# with the toy MAE teacher's encoder (step 1; converted by
#   python tools/convert/g2sd_to_backbone.py \
#       work_dirs/mae_vit-d192l6-p8-dec128d4b_1xb32-2k_shipped-64x64/iter_2000.pth \
#       work_dirs/g2sd_cpu/vit-d192l6_mae.pth)
# as MMPretrain's VisionTransformer (position table resized to the input at
# every size), blocks 2, 3, 4, 6 -> Feature2Pyramid x2, x1, x0.5, x0.25
# (strides 4-32 from 8x8 patches) -> UPerHead (64 channels) + FCN auxiliary
# head, BN.
# AdamW 5e-4, layer decay 0.65, 50-iteration warm-up, poly, 1000 iterations
# of 4 crops of 176x224.
#   python tools/train.py configs/g2sd/cpu/upernet_vit-d192l6-p8_1xb4-1k_camvid-240x180.py
_base_ = [
    '../../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(
    imports=['mmkd', 'mmpretrain.models'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
norm_cfg = dict(type='BN', requires_grad=True)
width = 192
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size_divisor=16),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=width,
            num_layers=6,
            num_heads=3,
            feedforward_channels=4 * width),
        img_size=64,
        patch_size=8,
        out_indices=(1, 2, 3, 5),
        out_type='featmap',
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/g2sd_cpu/vit-d192l6_mae.pth')),
    neck=dict(
        type='Feature2Pyramid',
        embed_dim=width,
        rescales=[2, 1, 0.5, 0.25],
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_channels=[width] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=64,  # the ADE20K configs use the ViT width; CPU-sized
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=width,
        in_index=2,
        channels=64,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
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
