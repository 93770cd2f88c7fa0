# Teacher of the BCCD round-2 pair: the round-1 student's RetinaNet-R18-FPN
# (from scratch, 224 px) on the round-1 teacher's 24-epoch schedule.
#   python tools/train.py configs/acam/retinanet_r18_fpn_1xb4-24e_bccd.py
_base_ = ['./retinanet_r50_fpn_1xb4-24e_bccd.py']
model = dict(
    backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
