# DINO + FDR + GO-LSD with D-FINE's VFL but without LQE: which half of
# VFL + LQE matters (docs/methods/dfine.md).
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(cls_loss='vfl', use_lqe=False))
