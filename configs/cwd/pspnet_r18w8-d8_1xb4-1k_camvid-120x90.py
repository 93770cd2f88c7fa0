# The narrowest CamVid student at half resolution (120x90): PSPNet with a
# ResNet-18-D8 of an eighth of the width (8 base channels, 1/64 of the
# teacher's convolution weights), from scratch. Round 6 of
# docs/experiments/camvid.md uses it: wider students trained long enough reach or
# pass the PSPNet-R18-D8 teacher at this resolution.
_base_ = ['./pspnet_r18-d8_1xb4-1k_camvid-120x90.py']
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
