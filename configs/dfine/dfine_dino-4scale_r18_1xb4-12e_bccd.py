# `dfine_dino-4scale_r18_1xb4-4e_bccd.py` (DINO + FDR + GO-LSD with VFL and
# LQE, the best variant of the 4-epoch study in docs/methods/dfine.md)
# trained 12 epochs (624 iterations) instead of 4; the learning rate still
# drops 10x for the last epoch. Twin of `dino-4scale_r18_1xb4-12e_bccd.py`.
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

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
