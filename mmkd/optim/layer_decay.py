"""Layer-wise learning-rate decay for a ViT backbone, wherever it sits in
the model (a plain model's ``backbone`` or a Distiller's
``student.backbone``)."""
import re
from typing import List, Optional

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from mmkd.registry import OPTIM_WRAPPER_CONSTRUCTORS

__all__ = ['ViTLayerDecayOptimWrapperConstructor', 'vit_layer_depth']

#: Backbone parameters at depth 0 (the embeddings).
EMBEDDINGS = ('cls_token', 'pos_embed', 'mask_token', 'patch_embed.')


def vit_layer_depth(name: str, num_layers: int, backbone: str) -> int:
    """Depth of a parameter, MAE's / BEiT's / ViTDet's rule: 0 for the
    embeddings (``cls_token``, ``pos_embed``, ``mask_token``,
    ``patch_embed``), ``i + 1`` for transformer block ``i`` (``layers.i``
    or ``blocks.i``), ``num_layers + 1`` for everything else (final norm,
    distillation token, necks and heads).

    Example:
        >>> [vit_layer_depth(n, 12, 'backbone.') for n in (
        ...     'backbone.pos_embed', 'backbone.layers.11.ln1.weight',
        ...     'backbone.dist_token', 'head.fc.weight')]
        [0, 12, 13, 13]
    """
    if not name.startswith(backbone):
        return num_layers + 1
    rest = name[len(backbone):]
    if rest.startswith(EMBEDDINGS):
        return 0
    match = re.match(r'(?:layers|blocks)\.(\d+)\.', rest)
    return int(match.group(1)) + 1 if match else num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor (``custom_keys``, ``flat_decay_mult``,
    ``norm_decay_mult``, ... for weight decay and learning-rate factors),
    then every group's learning rate times
    ``layer_decay_rate ** (num_layers + 1 - depth)``
    (:func:`vit_layer_depth`): 1 for heads and necks, ``rate ** (L - i)``
    for block ``i``, ``rate ** (L + 1)`` for the embeddings.

    MMPretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the model
    for ``get_layer_depth`` (a Distiller has none) and MMSegmentation's
    ``LayerDecayOptimizerConstructor`` matches names starting with
    ``backbone.`` (a Distiller's student parameters start with
    ``student.backbone.``, so they would all get the heads' rate).

    ``paramwise_cfg`` keys added to mmengine's:

    - ``layer_decay_rate`` (float): Defaults to 1.0 (no decay).
    - ``num_layers`` (int): Transformer blocks of the backbone.
    - ``backbone`` (str, optional): Prefix of the backbone's parameters.
      Defaults to ``'student.backbone.'`` if the model has such parameters,
      else ``'backbone.'``.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        # kept in paramwise_cfg: mmengine skips add_params when it is empty
        paramwise_cfg = dict(paramwise_cfg or {})
        self.layer_decay_rate = float(
            paramwise_cfg.get('layer_decay_rate', 1.0))
        if 'num_layers' not in paramwise_cfg:
            raise KeyError('ViTLayerDecayOptimWrapperConstructor needs '
                           'paramwise_cfg.num_layers (the ViT blocks, e.g. '
                           '12)')
        self.num_layers = int(paramwise_cfg['num_layers'])
        self.backbone = paramwise_cfg.get('backbone', None)
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix:  # only once, at the top
            return
        names = {id(p): n for n, p in module.named_parameters()}
        backbone = self.backbone
        if backbone is None:
            backbone = 'student.backbone.' if any(
                n.startswith('student.backbone.')
                for n in names.values()) else 'backbone.'
        if not any(n.startswith(backbone) for n in names.values()):
            raise ValueError(f'layer decay: the model has no parameter under '
                             f'{backbone!r}; set paramwise_cfg.backbone')
        depths = {}
        for group in params:
            name = names[id(group['params'][0])]
            depth = vit_layer_depth(name, self.num_layers, backbone)
            scale = self.layer_decay_rate**(self.num_layers + 1 - depth)
            group['lr'] = group.get('lr', self.base_lr) * scale
            depths.setdefault(depth, scale)
        print_log(
            f'layer decay {self.layer_decay_rate} over {self.num_layers} '
            f'blocks of {backbone!r}: lr scale by depth '
            f'{ {d: round(s, 6) for d, s in sorted(depths.items())} }',
            logger='current')
