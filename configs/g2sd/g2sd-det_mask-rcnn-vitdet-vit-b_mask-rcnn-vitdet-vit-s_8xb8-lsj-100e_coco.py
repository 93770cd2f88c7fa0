# G2SD specific distillation (SD) for COCO detection: ViTDet Mask R-CNN
# with the generic stage's ViT-S (6 heads, drop path 0.1, window 14, global
# blocks 2, 5, 8, 11) learns from the same detector at ViT-B (teacher kept
# in eval(): drop path off; the official run left it on, spec G8) on the FPN
# features and RPN objectness, per level l (FRS-style, mmkd.FRSLoss):
#   m = max_a sigmoid(T_obj_l);  0.001 * sum (T_l - Adapt_l(S_l))^2 m / sum m
#                              + 0.1 * sum BCE(sig S_obj_l, sig T_obj_l) m / sum m
# ramped in over 500 iterations, on top of Mask R-CNN's own losses. Schedule:
# batch 64, AdamW 1e-4, wd 0.1, layer decay 0.7, 100 epochs (LSJ 1024).
#
# Train the teacher first (configs/g2sd/mask-rcnn_vitdet-vit-b-mae_*). The
# generic-stage checkpoint enters through ONE field, the student backbone's
# init_cfg.checkpoint, converted to ViTDet's position-table layout:
#   python tools/convert/g2sd_to_backbone.py \
#       work_dirs/g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_8xb512-amp-300e_in1k/epoch_300.pth \
#       checkpoints/g2sd_vit-s_gd_vitdet.pth --layout vitdet
_base_ = [
    '../_base_/datasets/coco_instance_lsj-1024.py',
    '../_base_/schedules/vitdet_adamw-ld0.7_lsj-100e.py',
]
custom_imports = dict(
    imports=['mmkd', 'mmpretrain.models'], allow_failed_imports=False)

detector = 'mmkd::g2sd/mask-rcnn_vitdet-vit-b-mae_8xb8-lsj-100e_coco.py'
g2sd_backbone = 'checkpoints/g2sd_vit-s_gd_vitdet.pth'
teacher_ckpt = 'work_dirs/mask-rcnn_vitdet-vit-b-mae_8xb8-lsj-100e_coco/iter_184375.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config=detector,
        model=dict(
            backbone=dict(
                arch=dict(
                    embed_dims=384,
                    num_layers=12,
                    num_heads=6,
                    feedforward_channels=1536,
                    global_attn_indexes=[2, 5, 8, 11]),
                init_cfg=dict(type='Pretrained', checkpoint=g2sd_backbone)),
            neck=dict(backbone_channel=384))),
    teacher=dict(config=detector, checkpoint=teacher_ckpt),
    losses=dict(
        loss_frs=dict(
            type='mmkd.FRSLoss',
            student='rpn_head.distill_probe',
            teacher='rpn_head.distill_probe',
            channels=256,
            num_levels=5,
            feat_weight=0.001,
            cls_weight=0.1)))
custom_hooks = [
    dict(type='mmkd.DistillScheduleHook', warmup=500),
    dict(type='mmkd.DistillHealthHook', interval=50)
]
