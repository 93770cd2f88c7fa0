# `dfine_dino-4scale_r18_focal_1xb4-4e_bccd.py` (focal, no LQE) with the
# FGL weight at 0.05 instead of D-FINE's 0.15: tests whether FGL's pull
# towards sharp distributions slows box regression early on. Nothing else
# changes.
_base_ = './dfine_dino-4scale_r18_focal_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(loss_fgl=dict(loss_weight=0.05)))
