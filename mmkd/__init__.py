"""mmkd: knowledge distillation for OpenMMLab.

Importing ``mmkd`` registers every distiller, loss, hook and detector part in
mmkd's registries (scope ``'mmkd'``).
"""
from . import compat  # noqa: F401  (fixes for the current stack, applied once)
from . import datasets, det, distillers, hooks, losses, ops  # noqa: F401
from .version import __version__

__all__ = ['__version__']
