# BPKD on Cityscapes, the paper's main pair: PSPNet-R101-D8 (79.76 mIoU)
# -> PSPNet-R18-D8 (74.87), logits at stride 8, 80k iterations, 4 GPUs x 2.
# Paper: BPKD 77.57 (CWD 76.26).
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/distill/bpkd_conv-seg.py',
]
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/pspnet/pspnet_r101-d8_512x1024_80k_cityscapes/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'  # noqa: E501
model = dict(
    student=dict(
        config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        checkpoint=teacher_ckpt))
