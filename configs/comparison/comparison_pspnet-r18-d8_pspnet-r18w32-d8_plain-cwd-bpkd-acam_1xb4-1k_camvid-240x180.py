# The CamVid comparison of configs/comparison/..._plain-cwd-bpkd_... with a
# fourth arm, ACAM-KD on the logits (the loss of configs/acam/), so that one
# run, one teacher forward per batch, answers both the CWD/BPKD and the
# ACAM-KD question on the same batches. Train the teacher first:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam_1xb4-1k_camvid-240x180.py
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd_1xb4-1k_camvid-240x180.py'
]  # noqa: E501
model = dict(
    arms=dict(
        acam=dict(
            losses=dict(
                loss_acam=dict(
                    type='mmkd.ACAMKDLoss',
                    student='decode_head.conv_seg',
                    teacher='decode_head.conv_seg',
                    student_channels=11,
                    teacher_channels=11,
                    num_masks=11)))))
