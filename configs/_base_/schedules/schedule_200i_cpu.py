# The demo's schedule: 200 iterations, evaluation at the end.
_base_ = ['./schedule_1k_cpu.py']
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, end=200, by_epoch=False)
]
train_cfg = dict(max_iters=200, val_interval=200)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=200),
    visualization=dict(type='SegVisualizationHook', draw=False))
