# 24 epochs for CPU-scale detection from scratch: the 12-epoch schedule
# (SGD 0.01, warm-up 200 iterations, clipping at 35) with the steps at
# epochs 16 and 22.
_base_ = ['./schedule_12e_det_cpu.py']
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
