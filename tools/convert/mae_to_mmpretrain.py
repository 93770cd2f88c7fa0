"""Convert an official MAE (or G2SD) checkpoint to MMPretrain's names.

    python tools/convert/mae_to_mmpretrain.py SRC.pth DST.pth [--reverse]

SRC is e.g. ``mae_pretrain_vit_base_full.pth`` or
``mae_visualize_vit_base.pth`` (``facebookresearch/mae``: encoder **and**
decoder; G2SD's teacher needs the decoder, so the encoder-only
``mae_pretrain_vit_base.pth`` is refused), or a G2SD generic-stage student
(``decoderfeature_pred`` becomes ``neck.feature_pred``; the unused
``encoderfeature_pred`` is dropped). DST
holds ``state_dict`` with ``backbone.`` (``MAEViT``) and ``neck.``
(``MAEPretrainDecoder`` / ``mmkd.G2SDFeatDecoder``) keys: the teacher
checkpoint of ``configs/g2sd/`` and a checkpoint MMPretrain's ``MAE`` loads.

``--reverse`` converts an MMPretrain / mmkd G2SD checkpoint (``state_dict``
with ``backbone.`` and ``neck.`` keys) back to the official layout, saved as
``{'model': ...}``.
"""
import argparse

import torch

import mmkd  # noqa: F401  (weights_only loading of runner checkpoints)
from mmkd.pretrain.convert import mae_to_mmpretrain, mmpretrain_to_mae


def convert(src: str, dst: str, reverse: bool = False) -> dict:
    """Convert ``src`` to ``dst`` and return what was saved."""
    ckpt = torch.load(src, map_location='cpu')
    if reverse:
        state = ckpt.get('state_dict', ckpt)
        out, skipped = mmpretrain_to_mae(state)
        saved = dict(model=out)
    else:
        state = ckpt.get('model', ckpt)
        out, skipped = mae_to_mmpretrain(state)
        if not any(k.startswith('neck.decoder_blocks.') for k in out):
            raise ValueError(
                f'{src} has no MAE decoder (an encoder-only checkpoint such '
                f'as mae_pretrain_vit_base.pth?): a G2SD teacher needs the '
                f'decoder; use mae_pretrain_vit_base_full.pth or '
                f'mae_visualize_vit_base.pth')
        saved = dict(state_dict=out, meta=dict(converted_from=src))
    torch.save(saved, dst)
    print(f'{len(out)} tensors written to {dst}' +
          (f'; left out {len(skipped)}: {skipped}' if skipped else ''))
    return saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official MAE / G2SD checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument(
        '--reverse',
        action='store_true',
        help='MMPretrain names back to the official ones')
    args = parser.parse_args()
    convert(args.src, args.dst, args.reverse)


if __name__ == '__main__':
    main()
