# The demo's student: a quarter-width PSPNet-R18-D8 (16 base channels).
_base_ = ['./pspnet_r18-d8_1xb8-200i_shapes-128x128.py']
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
