# The images shipped in ../shared/data (CamVid train, BCCD, raccoon: 931
# images; labels unused, CamVid's val and test images left out) as an
# unlabelled set for masked-image pre-training at 64x64: MAE's pipeline
# (random resized crop, scale 0.2-1, bicubic; flip; OpenCV's resize instead
# of Pillow's, about 3x cheaper per image on a CPU) and MMPretrain's
# SelfSupDataPreprocessor.
data_root = '../shared/data/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=64,
        crop_ratio_range=(0.2, 1.0),
        backend='cv2',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type='CustomDataset',
                data_root=data_root + folder,
                with_label=False,
                pipeline=train_pipeline)
            for folder in ('camvid_240x180/train', 'bccd/BCCD/JPEGImages',
                           'raccoon/images')
        ]))
