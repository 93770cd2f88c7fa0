# DeepLabV3+ with a ResNet-18-D8 (V1c) backbone on CamVid, from scratch,
# 1k iterations: the second teacher of the two-teacher CamVid config
# (configs/multi_teacher/).
#   python tools/train.py configs/cwd/deeplabv3plus_r18-d8_1xb4-1k_camvid-240x180.py
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(176, 224)),  # the crop size
    backbone=dict(depth=18),
    decode_head=dict(
        in_channels=512,
        channels=128,
        c1_in_channels=64,
        c1_channels=48,
        num_classes=11),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=11))
