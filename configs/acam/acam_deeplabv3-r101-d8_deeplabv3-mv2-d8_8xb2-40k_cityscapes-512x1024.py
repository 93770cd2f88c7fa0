# ACAM-KD (Lan & Tian, ICCV 2025, arXiv 2503.06307) on Cityscapes:
# DeepLabV3-R101-D8 (mmseg 80k, 80.20 mIoU) teaches DeepLabV3-MobileNetV2-D8 on
# the logits (decode_head.conv_seg: C = 19, M = 19 masks, C_q = 9, 64 x 128 at
# 512 x 1024 crops). Schedule of the paper: 40k iterations, 8 GPUs x 2 crops,
# SGD lr 0.02, wd 5e-4, poly 0.9 to 1e-4. The paper trained in the CIRKD code
# base with its own baselines (teacher 78.07, DeepLabV3-MobileNetV2 73.12);
# MMSegmentation's models and baselines differ, so absolute numbers will not
# transfer.
# The teacher, loss and schedule are those of the DeepLabV3-R18-D8 config.
_base_ = [
    './acam_deeplabv3-r101-d8_deeplabv3-r18-d8_8xb2-40k_cityscapes-512x1024.py'
]
model = dict(
    student=dict(
        config='mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py'
    ))
