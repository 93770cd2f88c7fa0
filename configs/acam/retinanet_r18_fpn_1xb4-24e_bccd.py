# Teacher of the BCCD round-2 pair: the round-1 student's RetinaNet-R18-FPN
# (from scratch, 224 px) trained twice as long, 24 epochs.
#   python tools/train.py configs/acam/retinanet_r18_fpn_1xb4-24e_bccd.py
_base_ = ['./retinanet_r18_fpn_1xb4-12e_bccd.py']
train_cfg = dict(max_epochs=24, val_interval=24)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=24, max_keep_ckpts=1))
