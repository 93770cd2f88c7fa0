# The CamVid student of configs/cwd/ at half resolution (120x90): PSPNet
# with a half-width ResNet-18-D8 (32 base channels), from scratch.
_base_ = ['./pspnet_r18-d8_1xb4-1k_camvid-120x90.py']
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    decode_head=dict(in_channels=256, channels=64),
    auxiliary_head=dict(in_channels=128, channels=32))
