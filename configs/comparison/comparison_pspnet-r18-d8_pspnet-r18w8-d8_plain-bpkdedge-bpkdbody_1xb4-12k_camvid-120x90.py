# BPKD's two terms alone on round 8's benchmark (docs/experiments/camvid.md):
# round 8's pair, data, schedule and teacher, the plain student beside
# BPKD as it ships (50 / 20, edge term normalised by the band's pixel
# count, clipped at 35) with one of its terms switched off: the edge term
# alone (body weight 0) and the body term alone (edge weight 0). Round 8's
# plain and full-BPKD arms with the same seed are the reference:
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-bpkdedge-bpkdbody_1xb4-12k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd-acam_1xb4-12k_camvid-120x90.py',  # noqa: E501
]
_bpkd = dict(
    type='mmkd.BPKDLoss',
    student='decode_head.conv_seg',
    teacher='decode_head.conv_seg',
    edge_weight=50.0,
    body_weight=20.0,
    kernel_size=7,
    ignore_index=255)
model = dict(
    arms=dict(
        _delete_=True,
        student=dict(),
        bpkd_edge=dict(losses=dict(loss_bpkd=dict(_bpkd, body_weight=0.0))),
        bpkd_body=dict(losses=dict(loss_bpkd=dict(_bpkd, edge_weight=0.0)))))
# both clip, as the full BPKD arm (configs/bpkd's CamVid config)
_clip = dict(clip_grad=dict(max_norm=35, norm_type=2))
optim_wrapper = dict(
    arms=dict(_delete_=True, bpkd_edge=_clip, bpkd_body=_clip))
