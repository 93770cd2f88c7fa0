# ACAM-KD on CamVid, CPU scale: PSPNet-R18-D8 teaches a half-width
# PSPNet-R18-D8 (the CWD trio's models) on the logits (11 classes: C = 11,
# M = 11 masks, C_q = 5). Train the teacher first:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
#   python tools/train.py configs/acam/acam_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py
_base_ = [
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
teacher_ckpt = 'work_dirs/pspnet_r18-d8_1xb4-1k_camvid-240x180/iter_1000.pth'
model = dict(
    type='mmkd.Distiller',
    student=dict(config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-240x180.py'
                 ),  # noqa: E501
    teacher=dict(
        config='mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py',
        checkpoint=teacher_ckpt),
    losses=dict(
        loss_acam=dict(
            type='mmkd.ACAMKDLoss',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            student_channels=11,
            teacher_channels=11,
            num_masks=11)))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
