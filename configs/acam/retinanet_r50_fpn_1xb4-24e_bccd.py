# Teacher of the BCCD ACAM-KD pair: RetinaNet-R50-FPN from scratch (no
# downloads here), BN trained, 224 px, 24 epochs on 205 images.
#   python tools/train.py configs/acam/retinanet_r50_fpn_1xb4-24e_bccd.py
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/bccd_224.py',
    '../_base_/schedules/schedule_24e_det_cpu.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    bbox_head=dict(num_classes=3))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=24, max_keep_ckpts=1))
