# G2SD generic distillation (GD) on ImageNet-1k: a frozen MAE ViT-B (with its
# 8-block decoder; targets = LayerNorm of decoder block 4's hidden states over
# all 197 tokens) teaches an MAE ViT-S with a 4-block 256-wide decoder and a
# 256->512->512 projection; one mask (75 %) shared by both; Smooth-L1 beta 2.
# Official recipe (G2SD/GD.sh): AdamW (0.9, 0.95), wd 0.05 except 1-D
# parameters (cls and mask tokens decayed), lr 2.4e-3 at batch 4096,
# 10-epoch warm-up, cosine to 2.5e-6, 300 epochs, AMP, no clipping.
#
# The teacher must include the MAE decoder. Convert an official checkpoint:
#   python tools/convert/mae_to_mmpretrain.py mae_pretrain_vit_base_full.pth \
#       checkpoints/mae_pretrain_vit_base_full_mmpretrain.pth
# (https://dl.fbaipublicfiles.com/mae/pretrain/mae_pretrain_vit_base_full.pth;
# which MAE ViT-B the authors used is unknown). MMPretrain's own 1600-epoch
# MAE (backbone + neck, loads as is) is another teacher:
#   --cfg-options model.teacher.checkpoint=https://download.openmmlab.com/mmselfsup/1.x/mae/mae_vit-base-p16_8xb512-fp16-coslr-1600e_in1k/mae_vit-base-p16_8xb512-fp16-coslr-1600e_in1k_20220825-f7569ca2.pth
# Batch: 8 GPUs x 512 = 4096. With fewer images per step, enable the linear
# scaling (auto_scale_lr.enable=True: it counts GPUs x batch_size, not
# accumulative_counts) or keep 4096 with optim_wrapper.accumulative_counts.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs512_mae.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

teacher_ckpt = 'checkpoints/mae_pretrain_vit_base_full_mmpretrain.pth'
model = dict(
    type='mmkd.G2SD',
    backbone=dict(
        type='mmkd.G2SDViT',
        arch='deit-small',  # 384 wide, 12 blocks, 6 heads (not 'small')
        patch_size=16,
        mask_ratio=0.75),
    neck=dict(
        type='mmkd.G2SDFeatDecoder',
        num_patches=196,
        embed_dim=384,
        decoder_embed_dim=256,
        decoder_depth=4,
        decoder_num_heads=8,
        target_dim=512),
    teacher=dict(
        model=dict(
            type='mmkd.G2SDMAETeacher',
            backbone=dict(
                type='mmkd.G2SDViT', arch='b', patch_size=16, mask_ratio=0.75),
            neck=dict(
                type='MAEPretrainDecoder',
                embed_dim=768,
                decoder_embed_dim=512,
                decoder_depth=8,
                decoder_num_heads=16)),
        checkpoint=teacher_ckpt),
    target_layer=4,
    loss=dict(type='mmkd.G2SDFeatLoss', beta=2.0, tokens='all'),
    # MAE's initialisation (xavier-uniform linears, unit LayerNorms)
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

train_dataloader = dict(batch_size=512, drop_last=True)

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=2.4e-3, betas=(0.9, 0.95), weight_decay=0.05),
    # timm add_weight_decay: no decay for 1-D parameters (norms, biases);
    # the frozen sin-cos tables are not optimised
    paramwise_cfg=dict(flat_decay_mult=0.0))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=290,
        eta_min=2.5e-6,
        by_epoch=True,
        begin=10,
        end=300,
        convert_to_iter_based=True)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
auto_scale_lr = dict(base_batch_size=4096)
