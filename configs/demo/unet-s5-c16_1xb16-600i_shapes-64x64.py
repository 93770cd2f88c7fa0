# The demo's teacher: a UNet (5 stages, 16 base channels, BN) with an FCN
# head, trained from scratch on the generated shapes (64x64, 4 classes):
# AdamW, a warm-up then cosine learning rate, 600 iterations of batch 16.
_base_ = [
    '../_base_/datasets/shapes_64x64.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
base_channels = 16
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[64.0, 64.0, 64.0],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(64, 64)),
    pretrained=None,
    backbone=dict(
        type='UNet',
        in_channels=3,
        base_channels=base_channels,
        num_stages=5,
        strides=(1, 1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2, 2),
        dec_num_convs=(2, 2, 2, 2),
        downsamples=(True, True, True, True),
        enc_dilations=(1, 1, 1, 1, 1),
        dec_dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        upsample_cfg=dict(type='InterpConv'),
        norm_eval=False),
    decode_head=dict(
        type='FCNHead',
        in_channels=base_channels,
        in_index=4,
        channels=base_channels,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True),
        # PyTorch's default init for the classifier (mmseg's is N(0, 0.01)):
        # from scratch, with AdamW, it learns the classes far sooner.
        init_cfg=dict(
            type='Kaiming',
            a=5**0.5,
            mode='fan_in',
            nonlinearity='leaky_relu',
            distribution='uniform',
            override=dict(name='conv_seg'))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

max_iters = 600
warm_iters = 120
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-3, weight_decay=0.01))
# One cycle: linear warm-up to the peak, then cosine down to nearly zero.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.04,
        begin=0,
        end=warm_iters,
        by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        T_max=max_iters - warm_iters,
        begin=warm_iters,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
