# Student of the BCCD round-2 pair, trained alone (the baseline): RetinaNet
# with a ResNet-18 of a quarter of the width (16 base channels) and a
# 64-channel FPN and head, from scratch, 224 px, 12 epochs. Narrow enough
# that the RetinaNet-R18 teacher stays clearly ahead of it.
#   python tools/train.py configs/acam/retinanet_r18w16_fpn64_1xb4-12e_bccd.py
_base_ = ['./retinanet_r18_fpn_1xb4-12e_bccd.py']
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64))
