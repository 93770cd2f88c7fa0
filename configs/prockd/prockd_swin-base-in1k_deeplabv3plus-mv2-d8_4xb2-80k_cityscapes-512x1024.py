# ProC-KD, dense reading [proposed]: ImageNet-1k Swin-B (MMPretrain) teaches
# DeepLabV3+-MobileNetV2-D8 on Cityscapes, mmseg 80k. Tokens: the ASPP input
# (backbone output 3, 320 channels, stride 8); the low-level input 0 keeps
# the student's own (detached) features on the teacher path. Loss and
# schedule as the PSPNet-R18 config.
_base_ = [
    './prockd_swin-base-in1k_pspnet-r18-d8_4xb2-80k_cityscapes-512x1024.py'
]
model = dict(
    student=dict(
        config='mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py'  # noqa: E501
    ),
    losses=dict(loss_prockd=dict(student_channels=320)))
