# CPU toy, step 1: a small MAE teacher pre-trained on the shipped images
# (labels unused) with MMPretrain's own MAE: ViT 192 wide, 6 blocks, 3 heads,
# 8x8 patches on 64x64 crops (64 patches, 16 visible); decoder 128 wide,
# 4 blocks, 4 heads; normalised-pixel target. AdamW 1e-3 (a toy's rate, not
# MAE's 1.5e-4 x batch / 256), 100 warm-up iterations, cosine, 2000
# iterations of 32 images (about 70 passes over the 931 images).
#   python tools/train.py configs/g2sd/cpu/mae_vit-d192l6-p8-dec128d4b_1xb32-2k_shipped-64x64.py
_base_ = [
    '../../_base_/datasets/shipped_images_64x64.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768),
        img_size=64,
        patch_size=8,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=64,
        patch_size=8,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=4,
        decoder_num_heads=4),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=8,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=1900,
        eta_min=1e-5,
        by_epoch=False,
        begin=100,
        end=2000)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
