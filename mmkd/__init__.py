"""mmkd: knowledge distillation for OpenMMLab.

Importing ``mmkd`` registers every distiller, loss, hook and detector part in
mmkd's registries (scope ``'mmkd'``). Only mmengine (and torch) are required:
the parts built on MMSegmentation (``mmkd.datasets``), MMDetection
(``mmkd.det``) and MMPretrain (``mmkd.pretrain``) are imported when that
library is installed, so a user with only one of them can use mmkd (see
``mmkd.registry.installed``).
"""
from . import compat  # noqa: F401  (fixes for the current stack, applied once)
from . import distillers, hooks, losses, ops, optim, utils  # noqa: F401
from .registry import installed
from .version import __version__

if installed('mmseg'):
    from . import datasets  # noqa: F401  (CamVid, shapes: mmseg datasets)
if installed('mmdet'):
    from . import det  # noqa: F401  (D-FINE parts of mmdet's DETRs)
if installed('mmpretrain'):
    from . import pretrain  # noqa: F401  (G2SD generic stage)

__all__ = ['__version__']
