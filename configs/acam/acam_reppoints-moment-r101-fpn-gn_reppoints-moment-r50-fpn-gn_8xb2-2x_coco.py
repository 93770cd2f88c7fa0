# ACAM-KD (Lan & Tian, ICCV 2025, arXiv 2503.06307) on COCO: RepPoints (moment,
# GN neck and head) R101 -> R50. RepPoints-R101-FPN-GN (mmdet 2x, 40.5 box AP)
# teaches RepPoints-R50-FPN-GN on every FPN level (one STCA-FF + ASCM + align
# per level, 256 channels, M = 6 masks), mmdet 2x (24 epochs) at 8 GPUs x 2
# images. Optimiser as the MasKD configs: SGD lr 0.01, momentum 0.9, wd 1e-4,
# gradient clipping 35, 1000 warm-up iterations. Inheritance: the student's
# neck and head start from the teacher's weights (their shapes match).
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/schedules/sgd-clip35-warmup1k_2x_coco.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
optim_wrapper = dict(optimizer=dict(lr=0.01))  # RepPoints' lr in MasKD
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/reppoints/reppoints_moment_r101_fpn_gn-neck%2Bhead_2x_coco/reppoints_moment_r101_fpn_gn-neck%2Bhead_2x_coco_20200329-4fbc7310.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config='mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py'
    ),  # noqa: E501
    teacher=dict(
        config='mmdet::reppoints/reppoints-moment_r101_fpn-gn_head-gn_2x_coco.py',  # noqa: E501
        checkpoint=teacher_ckpt),
    # inheritance: these student modules start from the teacher's weights
    student_init_from_teacher=dict(prefixes=['neck', 'bbox_head']),
    losses=dict(
        loss_acam=dict(
            type='mmkd.ACAMKDLoss',
            student='neck',
            teacher='neck',
            student_channels=256,
            teacher_channels=256,
            num_levels=5,
            num_masks=6)))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
