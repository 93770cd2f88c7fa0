"""mmkd's registries: children of mmengine's roots, scope ``'mmkd'``.

Configs refer to mmkd's classes as ``'mmkd.Distiller'`` whatever the runner's
default scope is (``mmseg``, ``mmdet``, ``mmpretrain``); mmengine finds this
module through the scope prefix and imports the ``locations`` on first use.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

__all__ = ['MODELS', 'HOOKS', 'DATASETS']

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmkd',
    locations=['mmkd.distillers', 'mmkd.losses', 'mmkd.det'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='mmkd', locations=['mmkd.hooks'])
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='mmkd',
    locations=['mmkd.datasets'])
