# Feature imitation with a loss of another OpenMMLab library: MMDetection's
# MSELoss between the backbones' last stage, the student's 256 channels
# lifted to the teacher's 512 by a trained 1x1 convolution (a FitNets-style
# hint). Any registered loss whose forward is (pred, target, ...) works this
# way from a config alone; see docs/config.md, "The loss contract".
# Train the teacher first:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
_base_ = [
    '../cwd/cwd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'
]
custom_imports = dict(
    imports=['mmkd', 'mmdet.models'], allow_failed_imports=False)
model = dict(
    losses=dict(
        _delete_=True,
        loss_feat=dict(
            type='mmdet.MSELoss',
            student='backbone.layer4',
            teacher='backbone.layer4',
            connector=dict(
                type='mmkd.ChannelAlignConnector',
                in_channels=256,
                out_channels=512),
            loss_weight=1.0)))
