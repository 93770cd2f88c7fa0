# ACAM-KD on BCCD, CPU scale: RetinaNet-R50 teaches RetinaNet-R18 on every
# FPN level (5 levels, 256 channels, M = 6 masks), the student baseline's
# schedule. Train the teacher first:
#   python tools/train.py configs/acam/retinanet_r50_fpn_1xb4-24e_bccd.py
#   python tools/train.py configs/acam/acam_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py
_base_ = [
    '../_base_/datasets/bccd_224.py',
    '../_base_/schedules/schedule_12e_det_cpu.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=12, max_keep_ckpts=1))
teacher_ckpt = 'work_dirs/retinanet_r50_fpn_1xb4-24e_bccd/epoch_24.pth'
model = dict(
    type='mmkd.Distiller',
    student=dict(config='mmkd::acam/retinanet_r18_fpn_1xb4-12e_bccd.py'),
    teacher=dict(
        config='mmkd::acam/retinanet_r50_fpn_1xb4-24e_bccd.py',
        checkpoint=teacher_ckpt),
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
