"""Fixes for the current OpenMMLab stack, applied once when mmkd is imported.

1. ``torch.load`` and runner checkpoints (below).
2. ``mmkd::`` config paths (:func:`register_config_package`) and the scope
   of what an ``mmkd::`` base defines (:func:`read_mmkd_bases_unscoped`).
3. ``package::`` config lookups parse the packages' metafiles once
   (:func:`cache_package_metafiles`).

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, and
mmengine 0.10.7 calls plain ``torch.load``. Checkpoints written by the
mmengine runner keep its ``MessageHub`` (``HistoryBuffer`` objects holding
numpy arrays) and numpy scalars in ``meta``, so a teacher trained by the user
or a resumed run fails to load. Rather than turning ``weights_only`` off for
everything, mmkd allow-lists exactly the classes those checkpoints contain.
"""
import os.path as osp
import pickle

import numpy as np
import torch

__all__ = [
    'RUNNER_CHECKPOINT_GLOBALS', 'allow_runner_checkpoints',
    'register_config_package', 'read_mmkd_bases_unscoped',
    'cache_package_metafiles'
]


def _numpy_globals() -> list:
    """Numpy objects that pickled arrays, dtypes and scalars refer to."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t)) for t in (np.float16, np.float32, np.float64,
                                    np.int32, np.int64, np.uint8, np.bool_)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def _history_buffer_getattr(obj, name: str):
    """Stands in for ``builtins.getattr`` while unpickling: a
    ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Only those look-ups are allowed, so
    allow-listing this does not open ``getattr`` on arbitrary objects."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer or isinstance(obj, HistoryBuffer):
        # built-in statistics, and any registered by the user's code
        if name in ('min', 'max', 'current', 'mean') or \
                name in HistoryBuffer._statistics_methods:
            return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'mmkd allows getattr only for HistoryBuffer statistics while '
        f'loading with weights_only=True, not getattr({obj!r}, {name!r})')


def _mmengine_globals() -> list:
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]


RUNNER_CHECKPOINT_GLOBALS = _numpy_globals() + _mmengine_globals()


def allow_runner_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine runner checkpoints.

    Idempotent. Only the classes in :data:`RUNNER_CHECKPOINT_GLOBALS` are
    allowed; any other pickled object still fails to load.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 loads everything anyway
        add(RUNNER_CHECKPOINT_GLOBALS)


def register_config_package() -> None:
    """Let ``mmkd::path.py`` name mmkd's shipped configs, like ``mmdet::``.

    mmengine resolves ``package::`` only for the OpenMMLab packages it
    lists; mmkd adds itself to that list when imported (mmkd's tools import
    it before reading a config; elsewhere, ``import mmkd`` first).
    """
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('mmkd', 'mmkd')


def read_mmkd_bases_unscoped() -> None:
    """Read an ``mmkd::`` base config the way a local base is read.

    mmengine stamps ``_scope_='pkg'`` on every typed dict of a ``pkg::``
    base, which is right for MMDetection's configs: all their types live in
    ``mmdet``'s registries. mmkd's configs are configs of the library they
    train (their ``default_scope`` is ``mmseg`` or ``mmdet``), with mmkd's
    own types always written ``mmkd.X``; stamped with ``mmkd``, an inherited
    ``EncoderDecoder`` or ``SegVisualizationHook`` would be looked up in
    mmkd's registries and not found. So ``mmkd::`` bases are read without a
    scope stamp and their types resolve in the config's ``default_scope``,
    as they do when the config is used directly. Idempotent.
    """
    from mmengine.config import Config
    current = Config.__dict__['_dict_to_config_dict'].__func__
    if getattr(current, '_mmkd_unscoped', False):
        return

    def _dict_to_config_dict(cfg, scope=None, has_scope=True):
        return current(cfg, None if scope == 'mmkd' else scope, has_scope)

    _dict_to_config_dict._mmkd_unscoped = True
    Config._dict_to_config_dict = staticmethod(_dict_to_config_dict)


def cache_package_metafiles() -> None:
    """Parse each OpenMMLab metafile once per process.

    mmengine resolves every ``package::path`` (a base config, a teacher's
    config) by reading the package's ``model-index.yml`` and every metafile
    it lists (922 YAML files for mmdet, mmseg and mmpretrain together),
    about 0.16 s of CPU per reference, and a distillation config names a
    dozen. mmkd keeps what ``mmengine.config.utils`` parses, per path and
    modification time; mmengine's lookup is otherwise unchanged (it only
    reads the parsed files, so they are shared, not copied). Idempotent.
    """
    from mmengine.config import utils
    if getattr(utils.load, '_mmkd_cached', False):
        return
    load, parsed = utils.load, {}

    def cached_load(file, *args, **kwargs):
        if args or kwargs or not isinstance(file, str) or not osp.isfile(file):
            return load(file, *args, **kwargs)
        key = (file, osp.getmtime(file))
        if key not in parsed:
            parsed[key] = load(file)
        return parsed[key]

    cached_load._mmkd_cached = True
    utils.load = cached_load


allow_runner_checkpoints()
register_config_package()
read_mmkd_bases_unscoped()
cache_package_metafiles()
