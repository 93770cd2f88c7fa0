# Round 8 of the CamVid tables (docs/experiments/camvid.md): round 6's
# student, data and schedule (the eighth-width PSPNet-R18-D8, 8 base
# channels, CamVid at 120x90, 12,000 iterations) with the methods as they
# ship after round 7, beside the plain student: CWD; BPKD at 50 / 20 with
# the edge term normalised once by the band's pixel count (the default
# since round 7) and clipped at 35 as configs/bpkd's CamVid config; ACAM-KD
# with its masks and fusion detached (the default since round 7). The
# teacher is round 7's trained 7,000 iterations more, to widen its margin
# over the converged student (round 7: 1.7 mIoU):
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options load_from=TEACHER_5K optim_wrapper.optimizer.lr=0.005 \
#       train_cfg.max_iters=7000 param_scheduler.0.end=7000
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd-acam_1xb4-12k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd_1xb4-12k_camvid-120x90.py',  # noqa: E501
]
_logits = dict(student='decode_head.conv_seg', teacher='decode_head.conv_seg')
model = dict(
    arms=dict(
        _delete_=True,
        student=dict(),
        cwd=dict(
            losses=dict(
                loss_cwd=dict(
                    type='mmkd.ChannelWiseDivergence',
                    tau=1.0,
                    loss_weight=5.0,
                    **_logits))),
        bpkd=dict(
            losses=dict(
                loss_bpkd=dict(
                    type='mmkd.BPKDLoss',
                    edge_weight=50.0,
                    body_weight=20.0,
                    kernel_size=7,
                    ignore_index=255,
                    **_logits))),
        acam=dict(
            losses=dict(
                loss_acam=dict(
                    type='mmkd.ACAMKDLoss',
                    student_channels=11,
                    teacher_channels=11,
                    num_masks=11,
                    **_logits)))))
