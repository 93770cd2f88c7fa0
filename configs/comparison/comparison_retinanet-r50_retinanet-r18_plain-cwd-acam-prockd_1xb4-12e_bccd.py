# The BCCD detection gains of docs/methods/acam_kd.md and prockd.md in one
# run: four arms of the RetinaNet-R18 student on the same batches from the
# same initial weights, one forward per teacher and batch: the plain
# student, CWD and ACAM-KD taught by the RetinaNet-R50 BCCD teacher (the
# losses of configs/acam/), and ProC-KD taught by the cross-task ResNet-18
# CamVid-tiles classifier (the loss of configs/prockd/; a second, named
# teacher). Train the teachers first:
#   python tools/train.py configs/acam/retinanet_r50_fpn_1xb4-24e_bccd.py
#   python tools/dataset_converters/classification_crops.py camvid \
#       ../shared/data/camvid_240x180 data/camvid_tiles
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_camvid-tiles-60px.py
#   python tools/train.py configs/comparison/comparison_retinanet-r50_retinanet-r18_plain-cwd-acam-prockd_1xb4-12e_bccd.py
_base_ = [
    '../_base_/datasets/bccd_224.py',
    '../_base_/schedules/schedule_12e_det_cpu.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
teacher_ckpt = 'work_dirs/retinanet_r50_fpn_1xb4-24e_bccd/epoch_24.pth'
tiles_ckpt = 'work_dirs/resnet18_1xb64-30e_camvid-tiles-60px/epoch_30.pth'
model = dict(
    type='mmkd.DistillComparison',
    student=dict(config='mmkd::acam/retinanet_r18_fpn_1xb4-12e_bccd.py'),
    teacher=dict(
        config='mmkd::acam/retinanet_r50_fpn_1xb4-24e_bccd.py',
        checkpoint=teacher_ckpt),
    teachers=dict(
        tiles=dict(
            config='mmkd::prockd/resnet18_1xb64-30e_camvid-tiles-60px.py',
            model=dict(
                backbone=dict(out_indices=(1, 2, 3)), neck=None, head=None),
            checkpoint=tiles_ckpt,
            preprocessing='own')),
    arms=dict(
        student=dict(),
        cwd=dict(
            losses={
                f'loss_cwd_fpn{i}': dict(
                    type='mmkd.ChannelWiseDivergence',
                    student=f'neck.fpn_convs.{i}.conv',
                    teacher=f'neck.fpn_convs.{i}.conv',
                    tau=1.0,
                    loss_weight=10.0)
                for i in range(5)
            }),
        acam=dict(
            losses=dict(
                loss_acam=dict(
                    type='mmkd.ACAMKDLoss',
                    student='neck',
                    teacher='neck',
                    student_channels=256,
                    teacher_channels=256,
                    num_levels=5,
                    num_masks=6))),
        prockd=dict(
            losses=dict(
                loss_prockd=dict(
                    type='mmkd.ProCKDLoss',
                    student='neck',
                    teacher='tiles:backbone',
                    student_level=0,
                    student_channels=256,
                    teacher_channels=[128, 256, 512],
                    num_prototypes=72,
                    gamma=1.0,
                    logits_module='bbox_head.retina_cls',
                    logit_activation='sigmoid')))))
# one optimizer per arm, each as the schedule's single-run optimizer
optim_wrapper = dict(constructor='mmkd.ComparisonOptimWrapperConstructor')
val_cfg = dict(type='mmkd.ComparisonValLoop')
train_cfg = dict(val_interval=3)
