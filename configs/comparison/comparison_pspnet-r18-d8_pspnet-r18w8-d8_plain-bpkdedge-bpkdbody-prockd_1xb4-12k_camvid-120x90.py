# Round 9 of the CamVid tables (docs/experiments/camvid.md): round 8's pair,
# data, schedule and teacher (the eighth-width PSPNet-R18-D8 student,
# converged at 12,000 iterations; the PSPNet-R18-D8 teacher of 12,000
# iterations) with the arms round 8 left out, beside the plain student:
# BPKD as it ships (50 / 20, edge term normalised by the band's pixel
# count, clipped at 35) with one of its terms switched off, the edge term
# alone (body weight 0) and the body term alone (edge weight 0); and
# ProC-KD taught by the cross-task ResNet-18 BCCD-cells classifier (the
# arm of round 5, at the student's stage 4, 64 channels here):
#   python tools/dataset_converters/classification_crops.py bccd \
#       ../shared/data/bccd data/bccd_cells
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_bccd-cells-60px.py
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-bpkdedge-bpkdbody-prockd_1xb4-12k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T \
#       model.teachers.cells.checkpoint=C
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd-acam_1xb4-12k_camvid-120x90.py',  # noqa: E501
    '../_base_/distill/prockd_bccd-cells_camvid-arm.py',
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
    teachers=dict(cells={{_base_.cells_teacher}}),
    arms=dict(
        _delete_=True,
        student=dict(),
        bpkd_edge=dict(losses=dict(loss_bpkd=dict(_bpkd, body_weight=0.0))),
        bpkd_body=dict(losses=dict(loss_bpkd=dict(_bpkd, edge_weight=0.0))),
        prockd=dict(
            losses=dict(
                loss_prockd=dict(
                    type='mmkd.ProCKDLoss',
                    student='backbone',
                    teacher='cells:backbone',
                    student_level=3,
                    student_channels=64,
                    teacher_channels=[128, 256, 512],
                    num_prototypes=72,
                    gamma=1.0,
                    logits_module='decode_head.conv_seg')))))
# both BPKD arms clip, as the full BPKD arm (configs/bpkd's CamVid config)
_clip = dict(clip_grad=dict(max_norm=35, norm_type=2))
optim_wrapper = dict(
    arms=dict(_delete_=True, bpkd_edge=_clip, bpkd_body=_clip))
