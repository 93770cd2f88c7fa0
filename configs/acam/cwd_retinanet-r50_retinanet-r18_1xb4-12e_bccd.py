# The CWD baseline of the BCCD ACAM-KD comparison: same teacher, student and
# schedule as acam_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py, CWD on each
# FPN level's output conv (tau 1, weight 10, as the COCO CWD config).
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
    losses={
        f'loss_cwd_fpn{i}': dict(
            type='mmkd.ChannelWiseDivergence',
            student=f'neck.fpn_convs.{i}.conv',
            teacher=f'neck.fpn_convs.{i}.conv',
            tau=1.0,
            loss_weight=10.0)
        for i in range(5)
    })

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
