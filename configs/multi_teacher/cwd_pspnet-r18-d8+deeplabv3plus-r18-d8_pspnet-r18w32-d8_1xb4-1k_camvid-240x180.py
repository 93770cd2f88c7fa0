# Two teachers, one student: a PSPNet-R18-D8 and a DeepLabV3+-R18-D8, both
# trained on CamVid, teach the half-width PSPNet-R18-D8 with CWD on their
# logits. Each teacher runs once per step, only as far as its own taps.
# Train the teachers first:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
#   python tools/train.py configs/cwd/deeplabv3plus_r18-d8_1xb4-1k_camvid-240x180.py
_base_ = [
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
model = dict(
    type='mmkd.Distiller',
    student=dict(config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-240x180.py'
                 ),  # noqa: E501
    teachers=dict(
        psp=dict(
            config='mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py',
            checkpoint='work_dirs/pspnet_r18-d8_1xb4-1k_camvid-240x180/iter_1000.pth'
        ),  # noqa: E501
        dlv3p=dict(
            config='mmkd::cwd/deeplabv3plus_r18-d8_1xb4-1k_camvid-240x180.py',  # noqa: E501
            checkpoint='work_dirs/deeplabv3plus_r18-d8_1xb4-1k_camvid-240x180/iter_1000.pth'
        )),  # noqa: E501
    losses=dict(
        # A teacher tap names its teacher: 'name:module.path'.
        loss_cwd_psp=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='psp:decode_head.conv_seg',
            tau=1.0,
            loss_weight=2.5),
        loss_cwd_dlv3p=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='dlv3p:decode_head.conv_seg',
            connector=dict(type='mmkd.SpatialAlignConnector'),
            tau=1.0,
            loss_weight=2.5)))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
