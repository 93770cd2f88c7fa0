# A narrower CamVid student at half resolution (120x90): PSPNet with a
# quarter-width ResNet-18-D8 (16 base channels), from scratch. Round 6 of
# docs/experiments/camvid.md trains it alone to see whether a student narrower than
# the half-width one (pspnet_r18w32-d8_1xb4-1k_camvid-120x90.py) still
# comes level with the PSPNet-R18-D8 teacher given a long schedule.
_base_ = ['./pspnet_r18-d8_1xb4-1k_camvid-120x90.py']
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
