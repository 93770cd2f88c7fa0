# G2SD generic distillation into an MAE ViT-Ti (192 wide, 12 blocks, 3 heads)
# with a 4-block 128-wide decoder (official mae_vit_tiny_patch16 =
# dec128d4b); everything else as the ViT-S config.
_base_ = [
    './g2sd-gd_mae-vit-b-dec512d8b_vit-s-dec256d4b_8xb512-amp-300e_in1k.py'
]
model = dict(
    backbone=dict(arch='deit-tiny'),
    neck=dict(embed_dim=192, decoder_embed_dim=128, decoder_num_heads=4))
