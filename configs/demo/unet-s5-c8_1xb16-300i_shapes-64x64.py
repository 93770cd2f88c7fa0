# The demo's student: the teacher's UNet at half the width (8 base channels,
# a quarter of the weights) and half the schedule (300 iterations, same
# optimiser, warm-up then cosine).
_base_ = ['./unet-s5-c16_1xb16-600i_shapes-64x64.py']
base_channels = 8
model = dict(
    backbone=dict(base_channels=base_channels),
    decode_head=dict(in_channels=base_channels, channels=base_channels))
max_iters = 300
warm_iters = 60
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
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
