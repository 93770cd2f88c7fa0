# The detection schedule of the ACAM-KD COCO configs (the MasKD configs'
# settings): mmdet 2x (24 epochs, steps at 16 and 22), SGD lr 0.02 (for
# 8 GPUs x 2 images), momentum 0.9, weight decay 1e-4, gradient clipping 35,
# 1000 linear warm-up iterations.
_base_ = ['mmdet::_base_/schedules/schedule_2x.py']
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
