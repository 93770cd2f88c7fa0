# BPKD on Cityscapes: FCN-HRNetV2p-W48 (160k model, 80.65 mIoU) ->
# FCN-HRNetV2p-W18-Small (75.31 in the paper's table), logits at stride 4,
# 80k iterations, 4 GPUs x 2. Paper: BPKD 78.58 (CWD 77.87).
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/distill/bpkd_conv-seg.py',
]
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/hrnet/fcn_hr48_512x1024_160k_cityscapes/fcn_hr48_512x1024_160k_cityscapes_20200602_190946-59b7973e.pth'  # noqa: E501
model = dict(
    student=dict(
        config='mmseg::hrnet/fcn_hr18s_4xb2-80k_cityscapes-512x1024.py'),
    teacher=dict(
        config='mmseg::hrnet/fcn_hr48_4xb2-160k_cityscapes-512x1024.py',
        checkpoint=teacher_ckpt))
