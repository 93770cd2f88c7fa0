"""mmkd's registries: children of mmengine's roots, scope ``'mmkd'``.

Configs refer to mmkd's classes as ``'mmkd.Distiller'`` whatever the runner's
default scope is (``mmseg``, ``mmdet``, ``mmpretrain``); mmengine finds this
module through the scope prefix and imports the ``locations`` on first use.
"""
import importlib.util

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

__all__ = [
    'MODELS', 'HOOKS', 'DATASETS', 'LOOPS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'MODEL_WRAPPERS', 'installed'
]


def installed(package: str) -> bool:
    """Whether ``package`` can be imported (is installed).

    An installed but broken package still counts, so that importing it
    raises its own error instead of mmkd silently leaving its parts out.
    """
    try:
        return importlib.util.find_spec(package) is not None
    except ValueError:  # in sys.modules without a spec
        return True


MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmkd',
    # mmengine imports every location on first use and fails on an import
    # error: the detector parts need mmdet, the datasets need mmseg, the
    # pretraining algorithms mmpretrain.
    locations=['mmkd.distillers', 'mmkd.losses'] +
    (['mmkd.det'] if installed('mmdet') else []) +
    (['mmkd.pretrain'] if installed('mmpretrain') else []))
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='mmkd', locations=['mmkd.hooks'])
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='mmkd',
    locations=['mmkd.datasets'] if installed('mmseg') else [])
# The comparison run (mmkd.distillers.comparison): its validation loop and
# the constructor of one optimizer per arm; ViT layer decay (mmkd.optim).
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, scope='mmkd', locations=['mmkd.distillers'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmkd',
    locations=['mmkd.distillers', 'mmkd.optim'])
# The DDP wrapper of a comparison run (one DistributedDataParallel per arm).
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    scope='mmkd',
    locations=['mmkd.distillers'])
