# Student of the BCCD ACAM-KD pair, trained alone (the baseline):
# RetinaNet-R18-FPN from scratch, 224 px, 12 epochs.
#   python tools/train.py configs/acam/retinanet_r18_fpn_1xb4-12e_bccd.py
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/bccd_224.py',
    '../_base_/schedules/schedule_12e_det_cpu.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=12, max_keep_ckpts=1))
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    bbox_head=dict(num_classes=3))
