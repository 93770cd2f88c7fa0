# Round 7 of the CamVid tables (docs/experiments/camvid.md): round 6's pair
# (the eighth-width student, 8 base channels, taught by round 5's
# PSPNet-R18-D8 teacher of 5,000 iterations, CamVid at 120x90) with the
# BPKD and ACAM-KD readings of configs/_base_/distill/
# bpkd-acam-variants_camvid-arms.py beside the plain student and CWD, and
# the DistillHealthHook logging each term's gradient against the task's.
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options train_cfg.max_iters=5000 param_scheduler.0.end=5000
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_bpkd-acam-variants_1xb4-12k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T
_base_ = [
    '../_base_/datasets/camvid_120x90.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
    '../_base_/distill/bpkd-acam-variants_camvid-arms.py',
    '../_base_/comparison_ddp.py',  # DDP: one wrapper per arm
]
custom_imports = dict(
    imports=['mmkd', 'mmdet.models.losses'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
model = dict(
    type='mmkd.DistillComparison',
    student=dict(config='mmkd::cwd/pspnet_r18w8-d8_1xb4-1k_camvid-120x90.py'
                 ),  # noqa: E501
    teacher=dict(
        config='mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py',
        checkpoint='work_dirs/pspnet_r18-d8_1xb4-1k_camvid-120x90/'
        'iter_5000.pth'),
    arms={{_base_.bpkd_acam_variant_arms}})
optim_wrapper = dict(
    constructor='mmkd.ComparisonOptimWrapperConstructor',
    arms={{_base_.bpkd_acam_variant_optim_arms}})
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
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
