# CPU toy, step 4a: the student alone (no specific distillation): the
# step-3 UPerNet at 96 wide. Its backbone starts from the generic stage
# (step 2) through ONE field, model.backbone.init_cfg.checkpoint:
#   python tools/convert/g2sd_to_backbone.py \
#       work_dirs/g2sd-gd_mae-vit-d192l6_vit-d96l6-dec64d2b_1xb32-2k_shipped-64x64/iter_2000.pth \
#       work_dirs/g2sd_cpu/vit-d96l6_gd.pth
# Without the generic stage (from scratch): --cfg-options model.backbone.init_cfg=None
_base_ = ['./upernet_vit-d192l6-p8_1xb4-1k_camvid-240x180.py']
width = 96
model = dict(
    backbone=dict(
        arch=dict(embed_dims=width, feedforward_channels=4 * width),
        init_cfg=dict(checkpoint='work_dirs/g2sd_cpu/vit-d96l6_gd.pth')),
    neck=dict(embed_dim=width),
    decode_head=dict(in_channels=[width] * 4),
    auxiliary_head=dict(in_channels=width))
