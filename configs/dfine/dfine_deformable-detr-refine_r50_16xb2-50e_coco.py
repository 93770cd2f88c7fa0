# Deformable DETR (box refinement) R50 50e COCO with FDR + GO-LSD (mmkd),
# classified as the official D-FINE (VFL + LQE; docs/methods/dfine.md).
# Only the types and the new fields change; everything else is mmdet's.
_base_ = 'mmdet::deformable_detr/deformable-detr-refine_r50_16xb2-50e_coco.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

model = dict(
    type='mmkd.DeformableDETRFDR',
    bbox_head=dict(
        type='mmkd.DeformableDETRFDRHead',
        reg_max=32,
        up=0.5,
        reg_scale=4.0,
        loss_fgl=dict(type='mmkd.FGLLoss', loss_weight=0.15),
        loss_ddf=dict(type='mmkd.DDFLoss', loss_weight=1.5, temperature=5.0),
        cls_loss='vfl',
        use_lqe=True))
