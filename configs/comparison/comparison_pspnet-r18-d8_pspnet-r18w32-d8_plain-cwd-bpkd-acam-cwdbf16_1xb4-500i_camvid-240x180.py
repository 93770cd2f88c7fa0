# The run behind the CamVid tables of docs/methods/{cwd,bpkd,acam_kd}.md and
# docs/performance.md: the four arms of the plain/CWD/BPKD/ACAM-KD
# comparison plus a fifth, CWD taught by the same teacher with its weights
# cast once to bfloat16 (a second, named teacher), all on the same batches
# from the same initial weights; 500 iterations, validated every 250.
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py \
#     --cfg-options train_cfg.max_iters=1500 param_scheduler.0.end=1500
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-cwdbf16_1xb4-500i_camvid-240x180.py \
#     --cfg-options randomness.seed=0 \
#       model.teacher.checkpoint=T model.teachers.bf16.checkpoint=T
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam_1xb4-1k_camvid-240x180.py',  # noqa: E501
    '../_base_/distill/cwd-bf16_camvid-arm.py'
]
model = dict(
    teachers=dict(bf16={{_base_.bf16_teacher}}),
    arms=dict(cwd_bf16={{_base_.cwd_bf16_arm}}))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=500,
        by_epoch=False)
]
train_cfg = dict(max_iters=500, val_interval=250)
default_hooks = dict(checkpoint=dict(interval=250))
# As run (docs/comparison.md): the BPKD arm unclipped, as the BPKD config
# was before it clipped its gradient.
optim_wrapper = dict(arms=dict(bpkd=dict(clip_grad=None)))
