# Round 4 of the CamVid tables (docs/comparison.md): the teacher trained its
# whole 10,000-iteration schedule, students trained 4,000 iterations (a
# plain student alone gained 4.3 mIoU from 2,000 to 4,000 and 0.5 over its
# last 1,000: docs/comparison.md), six
# arms on the same batches from the same initial weights: the four arms of
# ..._plain-cwd-bpkd-acam_... (plain, CWD, BPKD with its gradient clipped as
# the shipped BPKD config, ACAM-KD), ProC-KD taught by the cross-task
# ResNet-18 BCCD-cells classifier (a second teacher; the loss of
# configs/prockd/, deploy_tafa=False) and CWD taught by the teacher cast to
# bf16 (a third). Validated every 500 iterations.
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py \
#     --cfg-options train_cfg.max_iters=10000 param_scheduler.0.end=10000
#   python tools/dataset_converters/classification_crops.py bccd \
#       ../shared/data/bccd data/bccd_cells
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_bccd-cells-60px.py
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-cwdbf16_1xb4-4k_camvid-240x180.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T \
#       model.teachers.bf16.checkpoint=T
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam_1xb4-1k_camvid-240x180.py',  # noqa: E501
    '../_base_/distill/prockd_bccd-cells_camvid-arm.py',
    '../_base_/distill/cwd-bf16_camvid-arm.py'
]
model = dict(
    teachers=dict(
        cells={{_base_.cells_teacher}}, bf16={{_base_.bf16_teacher}}),
    arms=dict(prockd={{_base_.prockd_arm}}, cwd_bf16={{_base_.cwd_bf16_arm}}))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=4000,
        by_epoch=False)
]
train_cfg = dict(max_iters=4000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=250, max_keep_ckpts=2))
