"""Key conversion between the official MAE / G2SD layout (``models_mae.py``:
timm-style ``blocks.i.norm1``, ``mlp.fc1``, ``decoder_*``) and MMPretrain's
(``backbone.layers.i.ln1``, ``ffn.layers.0.0``, ``neck.*``).

Only names change: both layouts store the same tensors with the same shapes
(``attn.qkv`` keeps q, k and v stacked in the same order)."""
import re
from typing import Dict, List, Tuple

__all__ = ['mae_to_mmpretrain', 'mmpretrain_to_mae', 'g2sd_backbone']

# Inside a transformer block (encoder or decoder): official -> mmpretrain.
_BLOCK = [('norm1.', 'ln1.'), ('norm2.', 'ln2.'),
          ('mlp.fc1.', 'ffn.layers.0.0.'), ('mlp.fc2.', 'ffn.layers.1.'),
          ('attn.qkv.', 'attn.qkv.'), ('attn.proj.', 'attn.proj.')]
# Outside the blocks: official prefix -> mmpretrain prefix.
_TOP = [('cls_token', 'backbone.cls_token'),
        ('pos_embed', 'backbone.pos_embed'),
        ('patch_embed.proj.', 'backbone.patch_embed.projection.'),
        ('norm.', 'backbone.ln1.'), ('mask_token', 'neck.mask_token'),
        ('decoder_pos_embed', 'neck.decoder_pos_embed'),
        ('decoder_embed.', 'neck.decoder_embed.'),
        ('decoder_norm.', 'neck.ln1.'),
        ('decoder_pred.', 'neck.decoder_pred.'),
        ('decoderfeature_pred.', 'neck.feature_pred.')]
# Official blocks lists -> mmpretrain module lists.
_LISTS = [('blocks', 'backbone.layers'),
          ('decoder_blocks', 'neck.decoder_blocks')]
#: G2SD students' encoder-feature head: its loss weight is 0 in the official
#: code, and mmkd does not build it.
DROPPED = ('encoderfeature_pred.', )


def _rename(key: str, top, lists, block) -> str:
    for src, dst in lists:
        match = re.match(rf'^{re.escape(src)}\.(\d+)\.(.+)$', key)
        if match:
            index, rest = match.groups()
            for a, b in block:
                if rest.startswith(a):
                    return f'{dst}.{index}.{b}{rest[len(a):]}'
            return ''
    for src, dst in top:
        if key == src or (src.endswith('.') and key.startswith(src)):
            return dst + key[len(src):]
    return ''


def _convert(state: Dict, top, lists, block, dropped,
             what: str) -> Tuple[Dict, List[str]]:
    out, skipped, unknown = {}, [], []
    for key, value in state.items():
        if key.startswith(dropped):
            skipped.append(key)
            continue
        new = _rename(key, top, lists, block)
        if not new:
            unknown.append(key)
            continue
        out[new] = value
    if unknown:
        raise KeyError(f'{len(unknown)} keys are not in the {what} layout: '
                       f'{unknown[:8]}{" ..." if len(unknown) > 8 else ""}')
    return out, skipped


def mae_to_mmpretrain(state: Dict) -> Tuple[Dict, List[str]]:
    """Official MAE / G2SD names to MMPretrain's ``MAEViT`` (``backbone.``)
    and ``MAEPretrainDecoder`` / :class:`~mmkd.pretrain.G2SDFeatDecoder`
    (``neck.``) names.

    Args:
        state (dict): The official ``checkpoint['model']``.

    Returns:
        tuple: The converted state dict and the keys left out (a G2SD
        student's unused ``encoderfeature_pred``).

    Raises:
        KeyError: Keys that are not in the official MAE layout.

    Example:
        >>> import torch
        >>> mae_to_mmpretrain({'blocks.0.mlp.fc1.weight': torch.zeros(1),
        ...                    'decoder_norm.bias': torch.zeros(1)})[0].keys()
        dict_keys(['backbone.layers.0.ffn.layers.0.0.weight', 'neck.ln1.bias'])
    """
    return _convert(state, _TOP, _LISTS, _BLOCK, DROPPED, 'official MAE')


def mmpretrain_to_mae(state: Dict) -> Tuple[Dict, List[str]]:
    """The inverse of :func:`mae_to_mmpretrain` (e.g. a G2SD student trained
    here, for code that reads the official layout). ``data_preprocessor.``
    buffers, if any, are left out."""
    flip = [(b, a) for a, b in _TOP]
    return _convert(state, flip, [(b, a) for a, b in _LISTS],
                    [(b, a) for a, b in _BLOCK], ('data_preprocessor.', ),
                    'MMPretrain MAE')


def g2sd_backbone(state: Dict, layout: str = 'vit') -> Dict:
    """The student encoder of a G2SD generic-stage checkpoint as a plain ViT
    backbone state dict: what the specific stage's student backbone loads
    through ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

    Args:
        state (dict): An mmkd ``G2SD`` state dict (``backbone.``/``neck.``)
            or an official G2SD / MAE one (``blocks.i.norm1``, ...).
        layout (str): 'vit': MMPretrain's ``VisionTransformer`` names
            without a prefix, which MMSegmentation's ``MAE``/``BEiT``
            backbones share (``cls_token``, ``pos_embed`` (1, 1 + L, C),
            ``patch_embed.projection.*``, ``layers.i.*``, ``ln1.*``).
            'vitdet': MMPretrain's ``ViTSAM`` (ViTDet): the same blocks, the
            position table as an (1, H, W, C) grid without the class token,
            no class token and no final norm. Defaults to 'vit'.

    Raises:
        KeyError: No encoder weights in ``state``.
    """
    if layout not in ('vit', 'vitdet'):
        raise ValueError(f"layout should be 'vit' or 'vitdet', but got "
                         f'{layout!r}')
    if not any(k.startswith('backbone.') for k in state):
        state, _ = mae_to_mmpretrain(state)
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    if 'patch_embed.projection.weight' not in backbone:
        raise KeyError('no ViT encoder in this checkpoint (expected '
                       "'backbone.patch_embed.projection.weight' or the "
                       "official 'patch_embed.proj.weight')")
    if layout == 'vitdet':
        backbone.pop('cls_token', None)
        backbone = {
            k: v
            for k, v in backbone.items() if not k.startswith('ln1.')
        }
        table = backbone['pos_embed'][:, 1:]  # the class token's row dropped
        side = int(table.shape[1]**.5)
        backbone['pos_embed'] = table.reshape(1, side, side, -1)
    return backbone
