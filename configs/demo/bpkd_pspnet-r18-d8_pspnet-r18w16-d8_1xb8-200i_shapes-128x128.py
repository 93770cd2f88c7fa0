# The demo's distillation: BPKD (same teacher and student as the CWD demo),
# edge KL in a 6-px GT boundary band plus CWD on the body. The paper's
# weights (edge 50, body 20) are set for pretrained students over 80k
# iterations; for 200 iterations from scratch they swamp the student's own
# loss (see docs/methods/bpkd.md), so the demo divides both by 10.
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
            edge_weight=5.0,
            body_weight=2.0)))
