# The demo's teacher: PSPNet-R18-D8 (BN, from scratch) on generated shapes.
_base_ = [
    '../_base_/models/pspnet_r18-d8_scratch.py',
    '../_base_/datasets/shapes_128x128.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_200i_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=4, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=4, norm_cfg=norm_cfg))
