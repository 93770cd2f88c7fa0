# Student of the CamVid CWD trio: PSPNet with a half-width ResNet-18-D8
# (32 base channels, about a quarter of the teacher's FLOPs), from scratch.
_base_ = ['./pspnet_r18-d8_1xb4-1k_camvid-240x180.py']
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    decode_head=dict(in_channels=256, channels=64),
    auxiliary_head=dict(in_channels=128, channels=32))
