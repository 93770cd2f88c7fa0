# `dino-4scale_r18_1xb4-4e_bccd.py` (plain DINO) trained
# 12 epochs (624 iterations) instead of 4; the learning rate still drops
# 10x for the last epoch. Only the schedule changes.
_base_ = './dino-4scale_r18_1xb4-4e_bccd.py'

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[max_epochs - 1],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
