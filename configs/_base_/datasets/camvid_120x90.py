# CamVid at half the resolution of camvid_240x180.py (the same files,
# resized to 120x90 on loading; crop 88x112): a quarter of the pixels, for
# CPU experiments that must finish within hours (docs/experiments/camvid.md, round
# 5). mIoU is still computed against the 240x180 labels: mmseg resizes the
# prediction back to the label's shape.
_base_ = ['./camvid_240x180.py']
crop_size = (88, 112)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(120, 90),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(120, 90), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
