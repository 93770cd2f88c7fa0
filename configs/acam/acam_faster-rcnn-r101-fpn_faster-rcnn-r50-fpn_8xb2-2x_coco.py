# ACAM-KD (Lan & Tian, ICCV 2025, arXiv 2503.06307) on COCO: Faster R-CNN R101
# -> R50. Faster R-CNN-R101-FPN (mmdet 2x, 39.8 box AP) teaches Faster
# R-CNN-R50-FPN on every FPN level (one STCA-FF + ASCM + align per level, 256
# channels, M = 6 masks), mmdet 2x (24 epochs) at 8 GPUs x 2 images. Optimiser
# as the MasKD configs: SGD lr 0.02, momentum 0.9, wd 1e-4, gradient clipping
# 35, 1000 warm-up iterations. Inheritance: the student's neck, RPN and RoI
# heads start from the teacher's weights (their shapes match). FPN P2 (stride
# 4) is distilled too: 200 x 336 = 67,200 tokens at 800 x 1344, about 3.5 TFLOP
# of attention per image forward. SDPA keeps the memory linear (the N x N
# matrix would be ~50 GiB per image); the compute is exact and heavy: AMP
# (AmpOptimWrapper) lets flash attention run, kv_pool_stride=2 divides it by 4
# (an approximation not in the paper).
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/schedules/sgd-clip35-warmup1k_2x_coco.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py'),
    teacher=dict(
        config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
        checkpoint=teacher_ckpt),
    # inheritance: these student modules start from the teacher's weights
    student_init_from_teacher=dict(prefixes=['neck', 'rpn_head', 'roi_head']),
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
