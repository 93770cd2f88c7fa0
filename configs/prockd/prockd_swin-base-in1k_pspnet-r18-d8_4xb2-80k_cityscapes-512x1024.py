# ProC-KD, dense reading [proposed]: ImageNet-1k Swin-B (MMPretrain) teaches
# PSPNet-R18-D8 on Cityscapes, mmseg 80k (4 GPUs x 2 crops of 512 x 1024).
# Tokens: the decode head's input, backbone stage 4 (in_index 3, 512
# channels, stride 8: 64 x 128 tokens per crop). The teacher path runs the
# student's decode_head.loss; the transfer term is a pixel-wise KL between the
# two heads' softmax logits (decode_head.conv_seg).
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/distill/prockd_swin-base-in1k_teacher.py',
]
model = dict(
    student=dict(
        config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
    losses=dict(
        loss_prockd=dict(
            type='mmkd.ProCKDLoss',
            student='backbone',
            teacher='backbone',
            student_level=3,
            student_channels=512,
            teacher_channels=[256, 512, 1024],
            num_prototypes=72,
            gamma=1.0,
            logits_module='decode_head.conv_seg')))
