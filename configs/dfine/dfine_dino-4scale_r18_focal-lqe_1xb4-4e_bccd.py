# DINO + FDR + GO-LSD with mmdet DINO's focal classification loss and
# D-FINE's LQE: which half of VFL + LQE matters (docs/methods/dfine.md).
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(cls_loss='host', use_lqe=True))
