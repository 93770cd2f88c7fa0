# BPKD on Pascal-Context-59: PSPNet-R101-D8 (80k model, 52.47 mIoU) ->
# PSPNet-R18-D8 (43.79 in the paper's table; rebuilt from mmseg's R-50
# config), 80k iterations, 4 GPUs x 4, lr 0.004, wd 1e-4, slide test
# 480/320 (as mmseg's PSPNet Pascal-Context configs). Paper: BPKD 46.82.
_base_ = [
    'mmseg::_base_/datasets/pascal_context_59.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/distill/bpkd_conv-seg.py',
]
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/pspnet/pspnet_r101-d8_480x480_80k_pascal_context_59/pspnet_r101-d8_480x480_80k_pascal_context_59_20210416_114418-fa6caaa2.pth'  # noqa: E501
model = dict(
    student=dict(
        config='mmseg::pspnet/pspnet_r50-d8_4xb4-80k_pascal-context-59-480x480.py',  # noqa: E501
        model=dict(
            pretrained='open-mmlab://resnet18_v1c',
            backbone=dict(depth=18),
            decode_head=dict(in_channels=512, channels=128),
            auxiliary_head=dict(in_channels=256, channels=64))),
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb4-80k_pascal-context-59-480x480.py',  # noqa: E501
        checkpoint=teacher_ckpt))
optim_wrapper = dict(optimizer=dict(lr=0.004, weight_decay=0.0001))
train_dataloader = dict(batch_size=4)
