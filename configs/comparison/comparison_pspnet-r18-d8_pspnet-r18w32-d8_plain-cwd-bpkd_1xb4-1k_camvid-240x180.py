# Does distillation help this pair, and which method? One run trains three
# arms of the CamVid pair side by side on the same batches, from the same
# initial weights, with one teacher forward per batch: the plain student,
# CWD and BPKD (the losses of configs/cwd and configs/bpkd). Every validation
# evaluates the three and writes comparison.md and comparison.png to the
# work dir. Train the teacher first:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd_1xb4-1k_camvid-240x180.py
_base_ = [
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
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
    arms=dict(
        student=dict(),
        cwd=dict(
            losses=dict(
                loss_cwd=dict(
                    type='mmkd.ChannelWiseDivergence',
                    student='decode_head.conv_seg',
                    teacher='decode_head.conv_seg',
                    tau=1.0,
                    loss_weight=5.0))),
        bpkd=dict(
            losses=dict(
                loss_bpkd=dict(
                    type='mmkd.BPKDLoss',
                    student='decode_head.conv_seg',
                    teacher='decode_head.conv_seg',
                    edge_weight=50.0,
                    body_weight=20.0,
                    kernel_size=7,
                    ignore_index=255)))))
# one optimizer per arm, each as the schedule's single-run optimizer; the
# BPKD arm clips its gradient as configs/bpkd's CamVid config does
optim_wrapper = dict(
    constructor='mmkd.ComparisonOptimWrapperConstructor',
    arms=dict(bpkd=dict(clip_grad=dict(max_norm=35, norm_type=2))))
val_cfg = dict(type='mmkd.ComparisonValLoop')
