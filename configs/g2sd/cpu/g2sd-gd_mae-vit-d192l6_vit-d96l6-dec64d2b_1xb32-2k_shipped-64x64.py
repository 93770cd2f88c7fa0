# CPU toy, step 2: G2SD generic distillation of the toy MAE teacher (step 1)
# into a ViT 96 wide, 6 blocks, 3 heads (8x8 patches, 64x64) with a 2-block
# 64-wide decoder and a 64->128->128 projection; target: the teacher
# decoder's block 2 of 4 (the paper's 4 of 8), all 65 tokens; one shared
# mask. Same images and schedule as step 1.
#   python tools/train.py configs/g2sd/cpu/g2sd-gd_mae-vit-d192l6_vit-d96l6-dec64d2b_1xb32-2k_shipped-64x64.py
_base_ = [
    '../../_base_/datasets/shipped_images_64x64.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
teacher_ckpt = 'work_dirs/mae_vit-d192l6-p8-dec128d4b_1xb32-2k_shipped-64x64/iter_2000.pth'  # noqa: E501
model = dict(
    type='mmkd.G2SD',
    backbone=dict(
        type='mmkd.G2SDViT',
        arch=dict(
            embed_dims=96, num_layers=6, num_heads=3,
            feedforward_channels=384),
        img_size=64,
        patch_size=8,
        mask_ratio=0.75),
    neck=dict(
        type='mmkd.G2SDFeatDecoder',
        num_patches=64,
        embed_dim=96,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=2,
        target_dim=128),
    teacher=dict(
        model=dict(
            type='mmkd.G2SDMAETeacher',
            backbone=dict(
                type='mmkd.G2SDViT',
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
                decoder_num_heads=4)),
        checkpoint=teacher_ckpt),
    target_layer=2,
    loss=dict(type='mmkd.G2SDFeatLoss', beta=2.0, tokens='all'),
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
