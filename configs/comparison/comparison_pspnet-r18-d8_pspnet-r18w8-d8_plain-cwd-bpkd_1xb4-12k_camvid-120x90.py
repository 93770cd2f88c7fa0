# Round 6 of the CamVid tables (docs/experiments/camvid.md): plain student,
# CWD and BPKD (configs/_base_/distill/plain-cwd-bpkd_camvid-arms.py) at half the
# resolution (configs/_base_/datasets/camvid_120x90.py), for 12,000
# iterations (a plain student gains 3 mIoU from an 8,000 to a 12,000
# schedule), with the student of an eighth of the width (8 base channels;
# wider students trained that long reach or pass the teacher), taught by
# round 5's PSPNet-R18-D8 teacher (5,000 iterations). Validated every
# 1,000.
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options train_cfg.max_iters=5000 param_scheduler.0.end=5000
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd_1xb4-12k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T
_base_ = [
    '../_base_/datasets/camvid_120x90.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
    '../_base_/distill/plain-cwd-bpkd_camvid-arms.py',
    '../_base_/comparison_ddp.py',  # DDP: one wrapper per arm
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
model = dict(
    type='mmkd.DistillComparison',
    student=dict(config='mmkd::cwd/pspnet_r18w8-d8_1xb4-1k_camvid-120x90.py'
                 ),  # noqa: E501
    teacher=dict(
        config='mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py',
        checkpoint='work_dirs/pspnet_r18-d8_1xb4-1k_camvid-120x90/'
        'iter_5000.pth'),
    arms={{_base_.plain_cwd_bpkd_arms}})
optim_wrapper = dict(
    constructor='mmkd.ComparisonOptimWrapperConstructor',
    arms={{_base_.plain_cwd_bpkd_optim_arms}})
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=12000,
        by_epoch=False)
]
train_cfg = dict(max_iters=12000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=2))
val_cfg = dict(type='mmkd.ComparisonValLoop')

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
