# Round 3 of the BCCD detection gains (docs/experiments/bccd.md): round 2's
# pair, data and 48-epoch schedule, with ACAM-KD as it ships since CamVid
# round 7 (masks detached in the loss, student detached in the fusion;
# round 2 ran the paper's reading, both switches False), beside the plain
# student and CWD. The ProC-KD arm and its tiles teacher are left out:
# round 2 measured it and nothing about it changed. Train the teacher
# first:
#   python tools/train.py configs/acam/retinanet_r18_fpn_1xb4-24e_bccd.py
_base_ = [
    './comparison_retinanet-r18_retinanet-r18w16_plain-cwd-acam-prockd_1xb4-48e_bccd.py',  # noqa: E501
]
model = dict(
    teachers=None,
    arms=dict(
        _delete_=True,
        student=dict(),
        cwd={{_base_.model.arms.cwd}},
        acam=dict(
            losses=dict(
                loss_acam=dict(
                    type='mmkd.ACAMKDLoss',
                    student='neck',
                    teacher='neck',
                    student_channels=64,
                    teacher_channels=256,
                    num_levels=5,
                    num_masks=6)))))
