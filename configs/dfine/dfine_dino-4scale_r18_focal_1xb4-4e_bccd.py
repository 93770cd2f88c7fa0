# `dfine_dino-4scale_r18_1xb4-4e_bccd.py` with the host's classification:
# mmdet DINO's focal loss (alpha 0.25, gamma 2) and no LQE. This was the
# shipped BCCD FDR config before the study of docs/methods/dfine.md; it
# stays for that comparison. Nothing else changes.
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(cls_loss='host', use_lqe=False))
