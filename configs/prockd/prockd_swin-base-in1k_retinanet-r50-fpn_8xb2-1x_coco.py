# ProC-KD (Li et al., arXiv 2212.13180), mmkd's dense reading [proposed]: the
# ImageNet-1k Swin-B of MMPretrain (never trained on COCO) teaches
# RetinaNet-R50-FPN, mmdet 1x (12 epochs, 8 GPUs x 2 images, SGD lr 0.01).
# Tokens: the student's P3 level (neck output 0, 256 channels, stride 8);
# Swin-B stages 2-4 are resampled to that grid and fused to 256 channels by
# PLM (K = 72 prototypes), augmented by TAFA, and run through the student's
# own RetinaNet head (second task loss); the transfer term is a KL between
# the two heads' sigmoid class logits at P3. deploy_tafa=False: the exported
# student is a plain RetinaNet. See docs/methods/prockd.md.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/distill/prockd_swin-base-in1k_teacher.py',
]
model = dict(
    student=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'),
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
            logits_module='bbox_head.retina_cls',
            logit_activation='sigmoid')))
# as mmdet's retinanet_r50_fpn_1x_coco
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
