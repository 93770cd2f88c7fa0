# `dfine_dino-4scale_r18_1xb4-4e_bccd.py` with the official D-FINE
# classification: D-FINE's VFL (alpha 0.75, gamma 2, weight 1, IoU-aware
# targets) on every output instead of mmdet DINO's focal loss, and LQE on
# every decoder layer's class scores (the official decoder always has it;
# it also changes DDF's confidence weights). Nothing else changes.
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(cls_loss='vfl', use_lqe=True))
