# CWD (Shu et al., ICCV 2021) on Cityscapes: the paper's logit pair,
# PSPNet-R101-D8 (79.76 mIoU) -> PSPNet-R18-D8, tau 1, weight 5, 80k, 4x2.
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/pspnet/pspnet_r101-d8_512x1024_80k_cityscapes/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        checkpoint=teacher_ckpt),
    losses=dict(
        loss_cwd=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            tau=1.0,
            loss_weight=5.0)))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
