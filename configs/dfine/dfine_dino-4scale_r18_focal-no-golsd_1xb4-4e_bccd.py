# `dfine_dino-4scale_r18_focal_1xb4-4e_bccd.py` (focal, no LQE) with GO-LSD
# off: FDR alone. Every output's L1, GIoU and FGL use its own Hungarian
# match (normalised by the number of GT, as mmdet's DETR heads do) instead
# of the union set of all outputs' matches, and there is no DDF. Nothing
# else changes.
_base_ = './dfine_dino-4scale_r18_focal_1xb4-4e_bccd.py'

model = dict(bbox_head=dict(go_lsd=False))
