# The demo with BPKD instead of CWD (same teacher and student): edge KL in
# a 6-px GT boundary band plus CWD on the body, weights 50 and 20.
_base_ = [
    '../_base_/datasets/shapes_128x128.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_200i_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config='mmkd::demo/pspnet_r18w16-d8_1xb8-200i_shapes-128x128.py'),
    teacher=dict(
        config='mmkd::demo/pspnet_r18-d8_1xb8-200i_shapes-128x128.py',
        checkpoint='work_dirs/demo/teacher/iter_200.pth'),
    losses=dict(
        loss_bpkd=dict(
            type='mmkd.BPKDLoss',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            edge_weight=50.0,
            body_weight=20.0)))
