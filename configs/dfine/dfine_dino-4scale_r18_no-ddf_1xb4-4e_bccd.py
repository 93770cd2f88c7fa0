# `dfine_dino-4scale_r18_1xb4-4e_bccd.py` without GO-LSD's distillation:
# the DDF weight is 0, so the earlier layers learn only from their own
# L1/GIoU/FGL. The other half of GO-LSD, the union set on which L1, GIoU
# and FGL are computed, has no switch in mmkd and stays on: this is FDR +
# union-set matching, not the paper's "FDR alone". Nothing else changes.
_base_ = './dfine_dino-4scale_r18_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(loss_ddf=dict(loss_weight=0.0)))
