# FDR + GO-LSD twin of `dino-4scale_r18_1xb4-4e_bccd.py` (same data,
# schedule and model size; only the types and the new fields change).
# Classification as in the official D-FINE: VFL with IoU targets and LQE on
# every decoder layer; with mmdet DINO's focal loss and no LQE
# (`dfine_dino-4scale_r18_focal_1xb4-4e_bccd.py`) the FDR layers stopped
# refining and AP75 fell far below plain DINO's (docs/methods/dfine.md).
_base_ = './dino-4scale_r18_1xb4-4e_bccd.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

model = dict(
    type='mmkd.DINOFDR',
    decoder=dict(query_pos_clamp=10.0),
    bbox_head=dict(
        type='mmkd.DINOFDRHead',
        reg_max=32,
        up=0.5,
        reg_scale=4.0,
        loss_fgl=dict(type='mmkd.FGLLoss', loss_weight=0.15),
        loss_ddf=dict(type='mmkd.DDFLoss', loss_weight=1.5, temperature=5.0),
        cls_loss='vfl',
        use_lqe=True))
