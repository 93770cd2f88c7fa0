# The detection teacher of G2SD, trained here: ViTDet Mask R-CNN with an
# MAE ViT-B (MMPretrain's ViTSAM: window attention 14 except the global
# blocks 2, 5, 8, 11, relative positions, drop path 0.1), the simple feature
# pyramid (mmkd.SimpleFPN, LN2d), a 2-conv RPN (mmkd.FRSRPNHead: RPNHead
# plus a parameter-free probe for distillation taps), 4conv1fc box head and
# mask head with LN2d; LSJ 1024, 100 epochs. The official teacher
# (detectron2 model_final_61ccd1.pkl, 51.6 box AP / 45.9 mask AP) is not
# converted by mmkd. The backbone starts from MAE:
#   python tools/convert/g2sd_to_backbone.py mae_pretrain_vit_base.pth \
#       checkpoints/mae_vit-b_vitdet.pth --layout vitdet
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance_lsj-1024.py',
    '../_base_/schedules/vitdet_adamw-ld0.7_lsj-100e.py',
]
custom_imports = dict(
    imports=['mmkd', 'mmpretrain.models'], allow_failed_imports=False)

norm_cfg = dict(type='mmkd.LN2d', eps=1e-6)
backbone_ckpt = 'checkpoints/mae_vit-b_vitdet.pth'
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[
            dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)
        ]),
    backbone=dict(
        _delete_=True,  # the base's ResNet-50
        type='mmpretrain.ViTSAM',
        arch=dict(
            embed_dims=768,
            num_layers=12,
            num_heads=12,
            feedforward_channels=3072,
            global_attn_indexes=[2, 5, 8, 11]),
        img_size=1024,
        patch_size=16,
        out_channels=0,  # no SAM neck: the stride-16 map
        out_type='featmap',
        window_size=14,
        use_rel_pos=True,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=backbone_ckpt)),
    neck=dict(
        _delete_=True,  # the base's FPN
        type='mmkd.SimpleFPN',
        backbone_channel=768,
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(type='mmkd.FRSRPNHead', num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
