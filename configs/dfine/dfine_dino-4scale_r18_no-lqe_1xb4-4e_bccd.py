# `dfine_dino-4scale_r18_1xb4-4e_bccd.py` without LQE, VFL kept: which half
# of VFL + LQE matters (docs/methods/dfine.md). Nothing else changes.
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(cls_loss='vfl', use_lqe=False))
