# Does distillation help this pair, and which method? One run trains three
# arms of the CamVid pair side by side on the same batches, from the same
# initial weights, with one teacher forward per batch: the plain student,
# CWD and BPKD (configs/_base_/distill/plain-cwd-bpkd_camvid-arms.py).
# Every validation evaluates the three and writes comparison.md and
# comparison.png to the work dir. Train the teacher first:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd_1xb4-1k_camvid-240x180.py
_base_ = [
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
    '../_base_/distill/plain-cwd-bpkd_camvid-arms.py',
    '../_base_/comparison_ddp.py',  # DDP: one wrapper per arm
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
teacher_ckpt = 'work_dirs/pspnet_r18-d8_1xb4-1k_camvid-240x180/iter_1000.pth'
model = dict(
    type='mmkd.DistillComparison',
    student=dict(config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-240x180.py'
                 ),  # noqa: E501
    teacher=dict(
        config='mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py',
        checkpoint=teacher_ckpt),
    arms={{_base_.plain_cwd_bpkd_arms}})
# one optimizer per arm, each as the schedule's single-run optimizer (the
# BPKD arm's optimizer clips its gradient)
optim_wrapper = dict(
    constructor='mmkd.ComparisonOptimWrapperConstructor',
    arms={{_base_.plain_cwd_bpkd_optim_arms}})
val_cfg = dict(type='mmkd.ComparisonValLoop')

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
