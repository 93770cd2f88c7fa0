# A small MMPretrain teacher pretrained here, for the BCCD ProC-KD pair: a
# ResNet-18 classifier of CamVid street-scene tiles (60 x 60 px, labelled by
# their majority class: 11 classes of another domain and label space than
# BCCD's blood cells). From scratch, 30 epochs. Make the tiles, then train:
#   python tools/dataset_converters/classification_crops.py camvid \
#       ../shared/data/camvid_240x180 data/camvid_tiles
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_camvid-tiles-60px.py
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
classes = ('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree', 'SignSymbol',
           'Fence', 'Car', 'Pedestrian', 'Bicyclist')
data_root = 'data/camvid_tiles/'
# Inside the model dict, so that a Distiller building this model as its
# teacher gets the normalisation too.
model = dict(
    data_preprocessor=dict(
        num_classes=len(classes),
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    head=dict(num_classes=len(classes), topk=(1, )))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        ann_file='train.txt',
        data_prefix='',
        with_label=True,
        metainfo=dict(classes=classes),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        ann_file='val.txt',
        data_prefix='',
        with_label=True,
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', T_max=30, by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=30, max_keep_ckpts=1))
