# The demo's distillation with CWD on the class logits
# (`python tools/demo.py --method cwd`); same teacher, student and schedule
# as the BPKD demo.
_base_ = ['./unet-s5-c8_1xb16-300i_shapes-64x64.py']
model = dict(
    _delete_=True,
    type='mmkd.Distiller',
    student=dict(config='mmkd::demo/unet-s5-c8_1xb16-300i_shapes-64x64.py'),
    teacher=dict(
        config='mmkd::demo/unet-s5-c16_1xb16-600i_shapes-64x64.py',
        checkpoint='work_dirs/demo/teacher.pth'),
    losses=dict(
        loss_cwd=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            tau=1.0,
            loss_weight=1.0)))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
