"""The student encoder of a G2SD generic-stage checkpoint, as the backbone
checkpoint of the specific stage.

    python tools/convert/g2sd_to_backbone.py GD_CKPT OUT.pth [--layout vitdet]

GD_CKPT is a checkpoint of ``configs/g2sd/g2sd-gd_*`` (``state_dict`` with
``backbone.`` and ``neck.`` keys) or an official G2SD / MAE one
(``{'model': ...}``, timm names). OUT holds ``state_dict`` with the plain ViT
names of MMPretrain's ``VisionTransformer`` (classification, detection) and
MMSegmentation's ``MAE`` (segmentation), no prefix; with ``--layout vitdet``
those of MMPretrain's ``ViTSAM`` (ViTDet, detection: the position table as
a grid without the class token). Set it as the student backbone's
``init_cfg.checkpoint`` in the ``configs/g2sd/g2sd-{cls,seg,det}_*``
configs: the one field through which the generic stage enters.
"""
import argparse

import torch

import mmkd  # noqa: F401  (weights_only loading of runner checkpoints)
from mmkd.pretrain.convert import g2sd_backbone


def convert(src: str, dst: str, layout: str = 'vit') -> dict:
    """Write the student encoder of ``src`` to ``dst`` and return it."""
    ckpt = torch.load(src, map_location='cpu')
    state = ckpt.get('state_dict', ckpt.get('model', ckpt))
    backbone = g2sd_backbone(state, layout)
    out = dict(state_dict=backbone, meta=dict(converted_from=src))
    torch.save(out, dst)
    blocks = len(
        {k.split('.')[1]
         for k in backbone if k.startswith('layers.')})
    width = backbone['patch_embed.projection.weight'].shape[0]
    print(f'{len(backbone)} tensors ({blocks} blocks, {width} wide) written '
          f'to {dst}')
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='G2SD generic-stage checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument(
        '--layout',
        choices=['vit', 'vitdet'],
        default='vit',
        help="'vit': VisionTransformer / mmseg MAE (classification, "
        "segmentation); 'vitdet': ViTSAM (detection)")
    args = parser.parse_args()
    convert(args.src, args.dst, args.layout)


if __name__ == '__main__':
    main()
