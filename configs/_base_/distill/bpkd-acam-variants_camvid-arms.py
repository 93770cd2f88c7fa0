# The BPKD and ACAM-KD readings compared on CamVid (docs/experiments/
# camvid.md, round 7), as arms of a DistillComparison beside the plain
# student and CWD: BPKD at the paper's weights with each reading of Fig. 3's
# edge normalisation, at a tenth of the weights, and balanced by gradient
# (loss_balance); ACAM-KD as the paper reads (masks trained by the loss,
# 1x1 align), with the masks and the fusion's student detached (MasKD's
# practice), that without the align conv, and a plain MSE on the logits as
# the no-mask control. CamVid has 11 classes: the logits have 11 channels.
# Each arm names its readings: the defaults changed after this round
# (BPKD 'global_count', ACAM-KD masks and fusion detached).
_cwd = dict(
    type='mmkd.ChannelWiseDivergence',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    tau=1.0,
    loss_weight=5.0)
_bpkd = dict(
    type='mmkd.BPKDLoss',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    edge_weight=50.0,
    body_weight=20.0,
    kernel_size=7,
    ignore_index=255,
    edge_norm='per_class_count')
_acam = dict(
    type='mmkd.ACAMKDLoss',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    student_channels=11,
    teacher_channels=11,
    num_masks=11,
    detach_masks_in_loss=False,
    detach_student_in_fusion=False)
_fixed = dict(detach_masks_in_loss=True, detach_student_in_fusion=True)
bpkd_acam_variant_arms = dict(
    student=dict(),
    cwd=dict(losses=dict(loss_cwd=_cwd)),
    bpkd=dict(losses=dict(loss_bpkd=_bpkd)),
    bpkd_global=dict(
        losses=dict(loss_bpkd=dict(_bpkd, edge_norm='global_count'))),
    bpkd_tenth=dict(
        losses=dict(loss_bpkd=dict(_bpkd, edge_weight=5.0, body_weight=2.0))),
    bpkd_balanced=dict(
        losses=dict(loss_bpkd=_bpkd),
        loss_balance=dict(warmup_iters=200, target=1.0)),
    acam=dict(losses=dict(loss_acam=_acam)),
    acam_detach=dict(losses=dict(loss_acam=dict(_acam, **_fixed))),
    acam_identity=dict(
        losses=dict(loss_acam=dict(_acam, align='identity', **_fixed))),
    mse=dict(
        losses=dict(
            loss_mse=dict(
                type='mmdet.MSELoss',
                student='decode_head.conv_seg',
                teacher='decode_head.conv_seg',
                loss_weight=1.0))))
# The BPKD arms clip as configs/bpkd's CamVid config does.
_clip = dict(clip_grad=dict(max_norm=35, norm_type=2))
bpkd_acam_variant_optim_arms = dict(
    bpkd=_clip, bpkd_global=_clip, bpkd_tenth=_clip, bpkd_balanced=_clip)
