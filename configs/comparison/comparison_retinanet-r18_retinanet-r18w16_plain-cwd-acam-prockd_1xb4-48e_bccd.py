# Round 2 of the BCCD detection gains (docs/methods/acam_kd.md and
# prockd.md): four arms of a quarter-width RetinaNet-R18 student (16 base
# channels, 64-channel FPN and head; 1.3 M weights) on the same batches
# from the same initial weights, 48 epochs: the plain student, CWD and
# ACAM-KD taught by the full-width RetinaNet-R18 (19.8 M weights, trained
# 24 epochs), and ProC-KD taught by the cross-task ResNet-18 CamVid-tiles
# classifier. The student's 64 FPN channels reach the teacher's 256 through
# each loss's own 1x1 alignment (CWD: a connector; ACAM-KD and ProC-KD:
# their student-side projections). Train the teachers first:
#   python tools/train.py configs/acam/retinanet_r18_fpn_1xb4-24e_bccd.py
#   python tools/dataset_converters/classification_crops.py camvid \
#       ../shared/data/camvid_240x180 data/camvid_tiles
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_camvid-tiles-60px.py
_base_ = [
    './comparison_retinanet-r50_retinanet-r18_plain-cwd-acam-prockd_1xb4-12e_bccd.py'
]
teacher_ckpt = 'work_dirs/retinanet_r18_fpn_1xb4-24e_bccd/epoch_24.pth'
model = dict(
    student=dict(config='mmkd::acam/retinanet_r18w16_fpn64_1xb4-12e_bccd.py'),
    teacher=dict(
        config='mmkd::acam/retinanet_r18_fpn_1xb4-24e_bccd.py',
        checkpoint=teacher_ckpt),
    arms=dict(
        cwd=dict(
            losses={
                f'loss_cwd_fpn{i}': dict(
                    connector=dict(
                        type='mmkd.ChannelAlignConnector',
                        in_channels=64,
                        out_channels=256))
                for i in range(5)
            }),
        acam=dict(losses=dict(loss_acam=dict(student_channels=64))),
        prockd=dict(losses=dict(loss_prockd=dict(student_channels=64)))))
# 48 epochs: the student alone is still far from its end at 24 (19.2 bbox
# mAP against 34.5 at 48, seed 0); the teacher's schedule stretched twice.
train_cfg = dict(max_epochs=48, val_interval=8)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(
        type='MultiStepLR',
        begin=0,
        end=48,
        by_epoch=True,
        milestones=[32, 44],
        gamma=0.1)
]
