# CWD on FPN features for detection: RetinaNet-R101 (38.5 AP) teaches
# RetinaNet-R50 on COCO, one loss per FPN level (tau 1, weight 10), 1x.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_r101_fpn_1x_coco/retinanet_r101_fpn_1x_coco_20200130-7a93545f.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'),
    teacher=dict(
        config='mmdet::retinanet/retinanet_r101_fpn_1x_coco.py',
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
