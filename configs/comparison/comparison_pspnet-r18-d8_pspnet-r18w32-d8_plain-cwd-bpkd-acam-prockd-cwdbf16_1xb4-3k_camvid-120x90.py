# Round 5 of the CamVid tables (docs/experiments/camvid.md): six arms of the
# half-width student on the same batches from the same initial weights, at
# half the resolution (configs/_base_/datasets/camvid_120x90.py) on a
# 3,000-iteration schedule (validated every 500): round 6's three arms
# (plain, CWD, BPKD with its gradient clipped as the shipped BPKD config),
# ACAM-KD on the logits (the loss of configs/acam/), ProC-KD taught by the
# cross-task ResNet-18 BCCD-cells classifier (a second teacher; the loss of
# configs/prockd/, deploy_tafa=False) and CWD taught by the teacher cast to
# bf16 (a third). Teacher and student are the 120x90 configs of
# configs/cwd/:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options train_cfg.max_iters=5000 param_scheduler.0.end=5000
#   python tools/dataset_converters/classification_crops.py bccd \
#       ../shared/data/bccd data/bccd_cells
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_bccd-cells-60px.py
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-cwdbf16_1xb4-3k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T \
#       model.teachers.bf16.checkpoint=T model.teachers.cells.checkpoint=C
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd_1xb4-12k_camvid-120x90.py',  # noqa: E501
    '../_base_/distill/prockd_bccd-cells_camvid-arm.py',
    '../_base_/distill/cwd-bf16_camvid-arm.py'
]
teacher_config = 'mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py'
model = dict(
    student=dict(config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-120x90.py'),
    teachers=dict(
        cells={{_base_.cells_teacher}},
        bf16=dict(
            config=teacher_config,
            checkpoint={{_base_.model.teacher.checkpoint}},
            precision='bf16')),
    arms=dict(
        acam=dict(
            losses=dict(
                loss_acam=dict(
                    type='mmkd.ACAMKDLoss',
                    student='decode_head.conv_seg',
                    teacher='decode_head.conv_seg',
                    student_channels=11,
                    teacher_channels=11,
                    num_masks=11,
                    # the paper's reading, mmkd's default when round 5 ran
                    detach_masks_in_loss=False,
                    detach_student_in_fusion=False))),
        prockd={{_base_.prockd_arm}},
        cwd_bf16={{_base_.cwd_bf16_arm}}))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=3000,
        by_epoch=False)
]
train_cfg = dict(max_iters=3000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=250, max_keep_ckpts=2))
