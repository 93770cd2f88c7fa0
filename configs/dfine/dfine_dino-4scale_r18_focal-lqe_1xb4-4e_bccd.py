# `dfine_dino-4scale_r18_1xb4-4e_bccd.py` with mmdet DINO's focal loss
# instead of VFL, LQE kept: which half of VFL + LQE matters
# (docs/methods/dfine.md). Nothing else changes.
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(cls_loss='host', use_lqe=True))
