# ProC-KD at CPU scale, detection, cross-task: an MMPretrain ResNet-18 trained
# here on CamVid street tiles (11 classes; no blood cell among them) teaches
# RetinaNet-R18-FPN on BCCD (3 classes), the student baseline's schedule
# (configs/acam/retinanet_r18_fpn_1xb4-12e_bccd.py, 224 px, 12 epochs).
# Tokens: P3 (neck output 0, 256 channels, 28 x 28 at 224 px); teacher stages
# 2-4 (128, 256, 512 channels) resampled to that grid; K = 72; transfer: KL
# of the RetinaNet sigmoid class logits at P3. Train the teacher first:
#   python tools/dataset_converters/classification_crops.py camvid \
#       ../shared/data/camvid_240x180 data/camvid_tiles
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_camvid-tiles-60px.py
#   python tools/train.py configs/prockd/prockd_resnet18-camvid-tiles_retinanet-r18-fpn_1xb4-12e_bccd.py
_base_ = [
    '../_base_/datasets/bccd_224.py',
    '../_base_/schedules/schedule_12e_det_cpu.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=12, max_keep_ckpts=1))
teacher_ckpt = 'work_dirs/resnet18_1xb64-30e_camvid-tiles-60px/epoch_30.pth'
model = dict(
    type='mmkd.Distiller',
    student=dict(config='mmkd::acam/retinanet_r18_fpn_1xb4-12e_bccd.py'),
    teacher=dict(
        config='mmkd::prockd/resnet18_1xb64-30e_camvid-tiles-60px.py',
        model=dict(backbone=dict(out_indices=(1, 2, 3)), neck=None, head=None),
        checkpoint=teacher_ckpt,
        preprocessing='own'),
    losses=dict(
        loss_prockd=dict(
            type='mmkd.ProCKDLoss',
            student='neck',
            teacher='backbone',
            student_level=0,
            student_channels=256,
            teacher_channels=[128, 256, 512],
            num_prototypes=72,
            gamma=1.0,
            logits_module='bbox_head.retina_cls',
            logit_activation='sigmoid')))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
