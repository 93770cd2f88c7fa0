# DINO-4scale R50 12e COCO with D-FINE's FDR + GO-LSD (mmkd).
# Only the types and the new fields change; everything else is mmdet's.
# Classification as in the official D-FINE (VFL + LQE): with the host's
# focal loss and no LQE the FDR layers stopped refining on BCCD
# (docs/methods/dfine.md); cls_loss='host', use_lqe=False gives that.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

model = dict(
    type='mmkd.DINOFDR',
    decoder=dict(query_pos_clamp=10.0),
    bbox_head=dict(
        type='mmkd.DINOFDRHead',
        reg_max=32,  # N
        up=0.5,  # a
        reg_scale=4.0,  # R = 1 / c
        loss_fgl=dict(type='mmkd.FGLLoss', loss_weight=0.15),
        loss_ddf=dict(
            type='mmkd.DDFLoss',
            loss_weight=1.5,
            temperature=5.0,
            reduction='code'),
        cls_loss='vfl',  # D-FINE's VFL; 'host': mmdet DINO's focal loss
        share_fdr_head=False,
        use_lqe=True,
        dn_pre_loss=True,
        nan_to_zero=False))
