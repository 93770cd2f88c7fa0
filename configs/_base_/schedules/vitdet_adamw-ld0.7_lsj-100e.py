# ViTDet's 100-epoch schedule as G2SD's detection stage ran it (official
# G2SD_det_dis, detectron2): batch 64, AdamW lr 1e-4 (0.9, 0.999), weight
# decay 0.05 (run.sh overrides the config's 0.1, ViTDet's library
# default, with optimizer.weight_decay=0.05), none on norms and the position
# table, layer decay 0.7 over the 12 ViT blocks, 184,375 iterations
# (100 epochs), x0.1 at 163,889 and 177,546, 250-iteration linear warm-up
# from 0.001. fp32 as the official loop ran (add --amp for mixed precision).
# With MMDetection's default runtime (checkpoints every 5000 iterations).
_base_ = ['mmdet::_base_/default_runtime.py']
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmkd.ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        num_layers=12,
        norm_decay_mult=0.0,
        custom_keys={'.pos_embed': dict(decay_mult=0.0)}))
max_iters = 184375
interval = 5000
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[163889, 177546],
        gamma=0.1)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=interval,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        save_last=True,
        interval=interval,
        max_keep_ckpts=5))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(base_batch_size=64)
