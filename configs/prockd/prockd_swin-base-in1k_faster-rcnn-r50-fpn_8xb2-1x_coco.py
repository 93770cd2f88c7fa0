# ProC-KD, dense reading [proposed]: ImageNet-1k Swin-B (MMPretrain) teaches
# Faster R-CNN-R50-FPN, mmdet 1x (8 GPUs x 2 images, SGD lr 0.02).
# Tokens: P3 (neck output 0, 256 channels). The teacher path runs the whole
# two-stage loss (RPN and RoI head) of the student on the substituted levels;
# the transfer term compares the dense classification branch the two paths
# share position by position, the RPN objectness logits at P3 (the RoI
# head's logits are over different proposals on the two paths).
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/distill/prockd_swin-base-in1k_teacher.py',
]
model = dict(
    student=dict(config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    losses=dict(
        loss_prockd=dict(
            type='mmkd.ProCKDLoss',
            student='neck',
            teacher='backbone',
            student_level=0,
            student_channels=256,
            teacher_channels=[256, 512, 1024],
            num_prototypes=72,
            gamma=1.0,
            logits_module='rpn_head.rpn_cls',
            logit_activation='sigmoid')))
